CREATE OR REPLACE FUNCTION api.prune_history(p_limit integer DEFAULT 10000)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now            timestamptz := ops.now();
    v_attempts_before timestamptz := promo.attempts_prunable_before();
    v_alerts_before  timestamptz := v_now - ops.setting_interval('retention.delivered_alerts');
    v_cursor         bigint;
    v_scanned_to     bigint;
    v_attempts       integer;
    v_alert_ids      bigint[];
    v_alerts         integer;
    v_resolves       integer;
    v_summaries      integer;
    v_job_runs       integer;
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 100000, 'p_limit', 'a batch is 1 to 100000 rows per table', NULL);

    -- Attempts, in id order from where the last run stopped (ids grow with time): the batch
    -- ends before the first attempt that is not old enough, and the cursor moves past the kept
    -- binding attempts, so no run rescans them. NOWAIT-free: one run at a time holds the cursor.
    SELECT c.scanned_to INTO v_cursor FROM ops.prune_cursors AS c
    WHERE c.name = 'promo.promo_attempts' FOR UPDATE;
    WITH batch AS (
        SELECT a.attempt_id, a.created_at, (a.binding AND a.promo_redemption_id IS NOT NULL) AS kept
        FROM promo.promo_attempts AS a
        WHERE a.attempt_id > v_cursor
        ORDER BY a.attempt_id
        LIMIT p_limit
    ), settled AS (
        SELECT b.* FROM batch AS b
        WHERE b.attempt_id < coalesce((SELECT min(n.attempt_id) FROM batch AS n
                                       WHERE n.created_at >= v_attempts_before), 'Infinity'::numeric)
    ), pruned AS (
        DELETE FROM promo.promo_attempts AS a
        USING settled AS s
        WHERE a.attempt_id = s.attempt_id AND NOT s.kept
        RETURNING a.attempt_id
    )
    SELECT (SELECT count(*) FROM pruned), (SELECT max(s.attempt_id) FROM settled AS s)
    INTO v_attempts, v_scanned_to;
    IF v_scanned_to IS NOT NULL THEN
        UPDATE ops.prune_cursors AS c SET scanned_to = v_scanned_to WHERE c.name = 'promo.promo_attempts';
    END IF;

    -- Delivered alerts with every delivery delivered, except a trigger that is still open (the
    -- newest of its dedup key with no resolve after it: ops.resolve_alert must find it). A
    -- resolve goes once its trigger has gone, which is why this comes first.
    SELECT array_agg(c.alert_id) INTO v_alert_ids
    FROM (
        SELECT o.alert_id FROM ops.alert_outbox AS o
        WHERE o.state = 'delivered' AND o.delivered_at < v_alerts_before
          AND NOT EXISTS (SELECT FROM ops.alert_deliveries AS d
                          WHERE d.alert_id = o.alert_id
                            AND (d.state <> 'delivered' OR d.delivered_at >= v_alerts_before))
          AND (o.action = 'trigger'
               AND (EXISTS (SELECT FROM ops.alert_outbox AS r
                            WHERE r.action = 'resolve' AND r.resolves = o.dedup_key AND r.alert_id > o.alert_id)
                    OR EXISTS (SELECT FROM ops.alert_outbox AS n
                               WHERE n.action = 'trigger' AND n.dedup_key = o.dedup_key AND n.alert_id > o.alert_id)))
        ORDER BY o.delivered_at
        LIMIT p_limit
        FOR UPDATE OF o SKIP LOCKED
    ) AS c;
    v_alerts := ops.delete_alerts(v_alert_ids);

    SELECT array_agg(c.alert_id) INTO v_alert_ids
    FROM (
        SELECT o.alert_id FROM ops.alert_outbox AS o
        WHERE o.state = 'delivered' AND o.delivered_at < v_alerts_before AND o.action = 'resolve'
          AND NOT EXISTS (SELECT FROM ops.alert_deliveries AS d
                          WHERE d.alert_id = o.alert_id
                            AND (d.state <> 'delivered' OR d.delivered_at >= v_alerts_before))
          AND NOT EXISTS (SELECT FROM ops.alert_outbox AS t
                          WHERE t.action = 'trigger' AND t.dedup_key = o.resolves AND t.alert_id < o.alert_id)
        ORDER BY o.delivered_at
        LIMIT p_limit
        FOR UPDATE OF o SKIP LOCKED
    ) AS c;
    v_resolves := ops.delete_alerts(v_alert_ids);

    -- Flood summaries that were delivered and that no held delivery still points at.
    WITH candidates AS (
        SELECT d.delivery_id FROM ops.alert_deliveries AS d
        WHERE d.kind = 'summary' AND d.state = 'delivered' AND d.delivered_at < v_alerts_before
          AND NOT EXISTS (SELECT FROM ops.alert_deliveries AS h WHERE h.summary_id = d.delivery_id)
        ORDER BY d.delivered_at
        LIMIT p_limit
        FOR UPDATE OF d SKIP LOCKED
    ), pruned AS (
        DELETE FROM ops.alert_deliveries AS d USING candidates AS c WHERE d.delivery_id = c.delivery_id
        RETURNING d.delivery_id
    )
    SELECT count(*) INTO v_summaries FROM pruned;

    WITH pruned AS (
        DELETE FROM ops.job_runs AS j
        WHERE j.job_run_id IN (SELECT r.job_run_id FROM ops.job_runs AS r
                               WHERE r.finished_at < v_now - ops.setting_interval('retention.job_runs')
                               ORDER BY r.job_run_id LIMIT p_limit)
        RETURNING j.job_run_id
    )
    SELECT count(*) INTO v_job_runs FROM pruned;

    RETURN v_attempts + v_alerts + v_resolves + v_summaries + v_job_runs;
END
$$;
COMMENT ON FUNCTION api.prune_history(integer) IS
    'Job: deletes what retention lets go, at most p_limit rows per table per run: promo attempts past their windows and retention.promo_attempts (never a redemption''s binding attempt), delivered alerts past retention.delivered_alerts (never an open trigger, a dead alert or a pending delivery), job runs past retention.job_runs. Returns how many rows. The audit log, ledger, payments and redemptions are kept for ever.';
