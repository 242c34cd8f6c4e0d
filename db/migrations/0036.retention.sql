-- depends: 0035.batch_import_costs
-- Retention (issue 12): promo attempts, delivered alerts and job runs are pruned by
-- api.prune_history in bounded batches; the audit log, the ledger, payments, redemptions and
-- the attempts that are a redemption's binding answer are kept forever.

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('retention.promo_attempts', 'interval', '30 days', '30 days',
     'How long a promo attempt is kept once it has left the throttle and guard windows (a redemption''s binding attempt is kept forever).'),
    ('retention.delivered_alerts', 'interval', '14 days', '14 days',
     'How long a delivered alert (and its deliveries) is kept after its delivery; dead and open alerts are kept.'),
    ('retention.job_runs', 'interval', '90 days', '90 days',
     'How long a job run by hand (ops.job_runs) is kept after it finished.');

-- Where the attempts' pruning has scanned to: attempt ids grow with time, so each run scans on
-- from there in primary-key order, past the attempts that are kept, instead of from the start.
CREATE TABLE ops.prune_cursors (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    scanned_to  bigint NOT NULL CHECK (scanned_to >= 0)
);
COMMENT ON TABLE ops.prune_cursors IS
    'api.prune_history''s progress through tables it scans in key order (promo.promo_attempts).';
INSERT INTO ops.prune_cursors (name, scanned_to) VALUES ('promo.promo_attempts', 0);

CREATE INDEX alert_outbox_delivered_idx ON ops.alert_outbox (delivered_at) WHERE state = 'delivered';

-- Append-only until retention: an UPDATE is refused as before; a DELETE only of a row that
-- retention may prune (promo.attempts_prunable_before is in db/functions).
CREATE FUNCTION promo.guard_attempt_delete()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_kept  promo.promo_attempts;
BEGIN
    -- Attempts are append-only until retention: a redemption's binding attempt is its record
    -- for ever (api.check_invariants), any other only once it is past
    -- promo.attempts_prunable_before(). Per statement: one cutoff for a batch of thousands.
    SELECT g.* INTO v_kept FROM gone AS g
    WHERE (g.binding AND g.promo_redemption_id IS NOT NULL) OR g.created_at >= promo.attempts_prunable_before()
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'SP409',
            CONSTRAINT = 'append_only',
            MESSAGE = 'promo.promo_attempts is append-only until retention',
            DETAIL  = format('attempt %s is %s', v_kept.attempt_id,
                             CASE WHEN v_kept.binding AND v_kept.promo_redemption_id IS NOT NULL
                                  THEN 'the binding attempt of redemption ' || v_kept.promo_redemption_id
                                  ELSE 'inside its windows and retention.promo_attempts' END),
            HINT    = 'api.prune_history deletes attempts once retention allows.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION promo.guard_attempt_delete() IS
    'Trigger (after each DELETE statement): refuses deleting a promo attempt retention keeps (a redemption''s binding attempt, or one newer than promo.attempts_prunable_before()).';
CREATE FUNCTION ops.guard_job_run_delete()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_kept  bigint;
BEGIN
    SELECT g.job_run_id INTO v_kept FROM gone AS g
    WHERE g.finished_at >= ops.now() - ops.setting_interval('retention.job_runs')
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'SP409',
            CONSTRAINT = 'append_only',
            MESSAGE = 'ops.job_runs is append-only until retention',
            DETAIL  = format('job run %s finished within retention.job_runs', v_kept),
            HINT    = 'api.prune_history deletes job runs once retention allows.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ops.guard_job_run_delete() IS
    'Trigger (after each DELETE statement): refuses deleting a job run newer than retention.job_runs.';
DROP TRIGGER promo_attempts_append_only ON promo.promo_attempts;
CREATE TRIGGER promo_attempts_append_only BEFORE UPDATE ON promo.promo_attempts
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();
DROP TRIGGER job_runs_append_only ON ops.job_runs;
CREATE TRIGGER job_runs_append_only BEFORE UPDATE ON ops.job_runs
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();
CREATE TRIGGER promo_attempts_retention AFTER DELETE ON promo.promo_attempts
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION promo.guard_attempt_delete();
CREATE TRIGGER job_runs_retention AFTER DELETE ON ops.job_runs
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ops.guard_job_run_delete();
