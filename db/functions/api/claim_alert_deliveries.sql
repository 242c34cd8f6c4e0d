CREATE OR REPLACE FUNCTION api.claim_alert_deliveries(
    p_targets        text[],
    p_limit          integer DEFAULT 10,
    p_lease_seconds  integer DEFAULT 60
)
RETURNS TABLE (
    delivery_id  bigint,
    target       text,
    provider     text,
    kind         text,
    action       text,
    dedup_key    text,
    attempts     integer,
    created_at   timestamptz,
    alerts       jsonb
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now          timestamptz := ops.now();
    v_until        timestamptz;
    v_maintenance  boolean;
    v_overflow     integer;
    v_target       ops.alert_targets;
    v_waiting      integer;
    v_held         boolean;
    v_id           bigint;
BEGIN
    PERFORM ops.check_argument(p_targets IS NOT NULL AND array_position(p_targets, NULL) IS NULL, 'p_targets',
        'name the targets this dispatcher can deliver to', NULL);
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 100, 'p_limit', 'claim sends for 1 to 100 targets', NULL);
    PERFORM ops.check_argument(p_lease_seconds BETWEEN 1 AND 3600, 'p_lease_seconds',
        'a lease is 1 to 3600 seconds', NULL);
    v_until := v_now + p_lease_seconds * interval '1 second';
    v_maintenance := v_now < ops.setting_timestamptz('ops.alert_maintenance_until');
    v_overflow := ops.setting_integer('ops.alert_overflow_after');

    -- One send per free target: a target has one send in flight at a time and the next no
    -- earlier than its provider's interval after the last one ended (ops.release_alert_target),
    -- which holds however many dispatchers claim. A target locked by another claim is skipped.
    -- During a maintenance window PagerDuty targets send nothing (their deliveries wait).
    FOR v_target IN
        SELECT t.* FROM ops.alert_targets AS t
        WHERE t.target = ANY (p_targets) AND t.next_send_at <= v_now
          AND NOT (v_maintenance AND t.provider = 'pagerduty')
          AND EXISTS (SELECT FROM ops.alert_deliveries AS d
                      WHERE d.target = t.target AND d.state = 'pending' AND d.summary_id IS NULL
                        AND d.next_attempt_at <= v_now AND (d.claimed_until IS NULL OR d.claimed_until <= v_now))
        ORDER BY t.next_send_at, t.target
        LIMIT p_limit
        FOR NO KEY UPDATE SKIP LOCKED
    LOOP
        v_id := NULL;
        -- The triggers waiting for this target. More than ops.alert_overflow_after of them, or
        -- several that were held (flood control, a maintenance window), go out as one summary:
        -- each stays a delivery of its own, settled with the summary, so none is dropped.
        SELECT count(*), coalesce(bool_or(d.hold_reason IS NOT NULL), false) INTO v_waiting, v_held
        FROM ops.alert_deliveries AS d
        WHERE d.target = v_target.target AND d.state = 'pending' AND d.summary_id IS NULL
          AND d.kind = 'alert' AND d.action = 'trigger'
          AND d.next_attempt_at <= v_now AND (d.claimed_until IS NULL OR d.claimed_until <= v_now);
        IF v_waiting > v_overflow OR (v_waiting > 1 AND v_held) THEN
            INSERT INTO ops.alert_deliveries AS s (target, kind, created_at, next_attempt_at, attempts, claimed_until)
            VALUES (v_target.target, 'summary', v_now, v_now, 1, v_until)
            RETURNING s.delivery_id INTO v_id;
            UPDATE ops.alert_deliveries AS d SET summary_id = v_id
            WHERE d.delivery_id IN (
                SELECT m.delivery_id FROM ops.alert_deliveries AS m
                WHERE m.target = v_target.target AND m.state = 'pending' AND m.summary_id IS NULL
                  AND m.kind = 'alert' AND m.action = 'trigger'
                  AND m.next_attempt_at <= v_now AND (m.claimed_until IS NULL OR m.claimed_until <= v_now)
                ORDER BY m.next_attempt_at, m.delivery_id
                LIMIT 1000
                FOR UPDATE SKIP LOCKED);
            GET DIAGNOSTICS v_waiting = ROW_COUNT;
            IF v_waiting = 0 THEN  -- all of them taken meanwhile
                DELETE FROM ops.alert_deliveries AS s WHERE s.delivery_id = v_id;
                CONTINUE;
            END IF;
            UPDATE ops.alert_targets AS t SET summaries = t.summaries + 1 WHERE t.target = v_target.target;
        ELSE
            -- The oldest due delivery. A resolve waits while its trigger is still to be routed
            -- or delivered to this target: a provider must see the incident before its end.
            UPDATE ops.alert_deliveries AS d SET claimed_until = v_until, attempts = d.attempts + 1
            WHERE d.delivery_id = (
                SELECT c.delivery_id FROM ops.alert_deliveries AS c
                WHERE c.target = v_target.target AND c.state = 'pending' AND c.summary_id IS NULL
                  AND c.next_attempt_at <= v_now AND (c.claimed_until IS NULL OR c.claimed_until <= v_now)
                  AND NOT (c.action = 'resolve' AND (
                      EXISTS (SELECT FROM ops.alert_deliveries AS t
                              WHERE t.target = c.target AND t.dedup_key = c.dedup_key AND t.action = 'trigger'
                                AND t.state = 'pending' AND t.alert_id < c.alert_id)
                      OR EXISTS (SELECT FROM ops.alert_outbox AS a
                                 WHERE a.dedup_key = c.dedup_key AND a.action = 'trigger'
                                   AND a.state = 'pending' AND a.routed_at IS NULL AND a.alert_id < c.alert_id)))
                ORDER BY c.next_attempt_at, c.delivery_id
                LIMIT 1
                FOR UPDATE SKIP LOCKED)
            RETURNING d.delivery_id INTO v_id;
            CONTINUE WHEN v_id IS NULL;  -- only resolves waiting for their triggers
        END IF;
        UPDATE ops.alert_targets AS t
        SET next_send_at = v_until, busy_with = v_id,
            busy_attempt = (SELECT d.attempts FROM ops.alert_deliveries AS d WHERE d.delivery_id = v_id)
        WHERE t.target = v_target.target;

        RETURN QUERY
        SELECT d.delivery_id, d.target, split_part(d.target, ':', 1), d.kind, d.action,
               coalesce(d.dedup_key, 'ops.alerts_summarized:' || d.delivery_id), d.attempts, d.created_at,
               (SELECT jsonb_agg(jsonb_build_object(
                           'alert_id', a.alert_id, 'event', a.event, 'severity', a.severity,
                           'summary', a.summary, 'details', a.details, 'dedup_key', a.dedup_key,
                           'created_at', to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                           'action', a.action, 'resolves', a.resolves, 'attempts', m.attempts,
                           'hold_reason', m.hold_reason)
                       ORDER BY a.alert_id)
                FROM ops.alert_deliveries AS m
                JOIN ops.alert_outbox AS a ON a.alert_id = m.alert_id
                WHERE m.delivery_id = d.delivery_id OR m.summary_id = d.delivery_id)
        FROM ops.alert_deliveries AS d WHERE d.delivery_id = v_id;
    END LOOP;
END
$$;
COMMENT ON FUNCTION api.claim_alert_deliveries(text[], integer, integer) IS
    'For dispatchers: leases one send for each free target among p_targets (up to p_limit targets, SKIP LOCKED): its oldest due delivery, or a summary of everything waiting beyond ops.alert_overflow_after; the target sends nothing else until the send is acked or failed.';
