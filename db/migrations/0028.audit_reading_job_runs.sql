-- depends: 0027.hot_path_costs
-- Reading the audit log (api.list_audit) and manual job runs (`starpass jobs run`).
--
-- The audit log is read newest first, keyset-paged by (occurred_at, audit_id): the two indexes
-- end in audit_id so a page is one index range however many rows share a timestamp (a batch
-- job writes many in one transaction, with one ops.now()). They replace the two indexes that
-- ended in occurred_at.
CREATE INDEX audit_log_occurred_at_id_idx ON ops.audit_log (occurred_at, audit_id);
DROP INDEX ops.audit_log_occurred_at_idx;
CREATE INDEX audit_log_target_at_id_idx ON ops.audit_log (target_type, target_id, occurred_at, audit_id);
DROP INDEX ops.audit_log_target_idx;
CREATE INDEX audit_log_actor_at_id_idx ON ops.audit_log (actor, occurred_at, audit_id);

-- A job run by an operator, beside pg_cron's own history (cron.job_run_details): who ran it,
-- when, how it ended, the count the job function returned. Append-only.
CREATE TABLE ops.job_runs (
    job_run_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_name     text NOT NULL CHECK (job_name ~ '^[a-z][a-z0-9_]*$'),
    actor        text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 128),
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL CHECK (finished_at >= started_at),
    status       text NOT NULL CHECK (status IN ('succeeded', 'failed')),
    result       integer,
    error        text CHECK (char_length(error) <= 1000),
    CHECK ((status = 'succeeded') = (result IS NOT NULL AND error IS NULL))
);
COMMENT ON TABLE ops.job_runs IS
    'Jobs run by hand (`starpass jobs run`): who, when, the outcome and the count the job returned. pg_cron''s own runs are in cron.job_run_details.';
CREATE INDEX job_runs_job_name_idx ON ops.job_runs (job_name, job_run_id);
CREATE TRIGGER job_runs_append_only
    BEFORE UPDATE OR DELETE ON ops.job_runs
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();

-- The two jobs that audit what they change take the actor (an operator running them by hand):
-- the old signatures go (DESIGN §3.3; absent on a new database, where the function files come
-- after the migrations), the function files define the new ones.
DROP FUNCTION IF EXISTS api.run_refund_promo_rollback(integer);
DROP FUNCTION IF EXISTS api.run_promo_bruteforce_guard();
