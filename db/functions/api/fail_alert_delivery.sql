CREATE OR REPLACE FUNCTION api.fail_alert_delivery(
    p_delivery_id   bigint,
    p_attempt       integer,
    p_error         text,
    p_retry_in      double precision,
    p_fallback      text DEFAULT NULL,
    p_target_wait   double precision DEFAULT NULL
)
RETURNS TABLE (
    delivery_id      bigint,
    state            text,
    changed          boolean,
    next_attempt_at  timestamptz,
    fallbacks        integer,
    send_again_in    double precision
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now        timestamptz := ops.now();
    v_delivery   ops.alert_deliveries;
    v_dead       boolean := p_retry_in IS NULL;
    v_fallbacks  integer := 0;
    v_count      integer := 0;
BEGIN
    PERFORM ops.check_argument(p_attempt >= 1, 'p_attempt', 'the attempt a claim returned (1 or more)', NULL);
    PERFORM ops.check_argument(char_length(p_error) BETWEEN 1 AND 2000, 'p_error',
        'say why the delivery failed (1 to 2000 characters)', NULL);
    PERFORM ops.check_argument(p_retry_in IS NULL OR p_retry_in BETWEEN 0 AND 604800, 'p_retry_in',
        'retry within 0 to 604800 seconds (a week), or NULL for dead', NULL);
    PERFORM ops.check_argument(p_target_wait IS NULL OR p_target_wait BETWEEN 0 AND 86400, 'p_target_wait',
        'a target waits 0 to 86400 seconds (a day)', NULL);
    PERFORM ops.check_argument(p_fallback IS NULL OR p_fallback ~ '^(generic|slack|pagerduty)(:[A-Za-z0-9#._-]{1,80})?$',
        'p_fallback', 'a fallback is a target name', NULL);
    v_delivery := ops.lock_alert_delivery(p_delivery_id);

    -- Only the attempt that holds the claim records its failure: one whose lease ran out while
    -- another attempt is under way (or that was delivered meanwhile) changes nothing.
    IF v_delivery.state <> 'pending' OR v_delivery.attempts <> p_attempt THEN
        RETURN QUERY SELECT p_delivery_id, v_delivery.state, false, v_delivery.next_attempt_at, 0,
                            ops.release_alert_target(v_delivery.target, p_delivery_id, p_attempt,
                                                     v_now + p_target_wait * interval '1 second');
        RETURN;
    END IF;
    UPDATE ops.alert_deliveries AS d
    SET last_error = p_error, claimed_until = NULL, failures = d.failures + 1,
        state = CASE WHEN v_dead THEN 'dead' ELSE 'pending' END,
        dead_at = CASE WHEN v_dead THEN v_now END,
        next_attempt_at = CASE WHEN v_dead THEN d.next_attempt_at ELSE v_now + p_retry_in * interval '1 second' END,
        fallback_target = CASE WHEN v_dead AND d.kind = 'alert' THEN p_fallback END
    WHERE d.delivery_id = p_delivery_id
    RETURNING d.* INTO v_delivery;
    UPDATE ops.alert_targets AS t SET failed = t.failed + 1 WHERE t.target = v_delivery.target;

    IF v_dead THEN
        -- A summary's alerts die with it (each may still fall back, as its own delivery).
        UPDATE ops.alert_deliveries AS m
        SET state = 'dead', dead_at = v_now, claimed_until = NULL, last_error = p_error, fallback_target = p_fallback
        WHERE m.summary_id = p_delivery_id AND m.state = 'pending';
        UPDATE ops.alert_targets AS t
        SET dead = t.dead + (SELECT count(*) FROM ops.alert_deliveries AS m
                             WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.kind = 'alert')
        WHERE t.target = v_delivery.target;
        -- Fall back (a provider that refused for good, or ran out of attempts): the same alerts
        -- once more to the fallback target, unless it has them already.
        IF p_fallback IS NOT NULL AND p_fallback <> v_delivery.target THEN
            INSERT INTO ops.alert_targets AS t (target) VALUES (p_fallback) ON CONFLICT (target) DO NOTHING;
            INSERT INTO ops.alert_deliveries AS f (alert_id, target, action, dedup_key, fallback_for, created_at, next_attempt_at)
            SELECT m.alert_id, p_fallback, m.action, m.dedup_key, m.delivery_id, v_now, v_now
            FROM ops.alert_deliveries AS m
            WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.kind = 'alert'
            ON CONFLICT (alert_id, target) DO NOTHING;
            GET DIAGNOSTICS v_fallbacks = ROW_COUNT;
        END IF;
        PERFORM ops.settle_alert(m.alert_id) FROM ops.alert_deliveries AS m
        WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.alert_id IS NOT NULL;
    END IF;
    RETURN QUERY SELECT p_delivery_id, v_delivery.state, true, v_delivery.next_attempt_at, v_fallbacks,
                        ops.release_alert_target(v_delivery.target, p_delivery_id, p_attempt,
                                                 v_now + p_target_wait * interval '1 second');
END
$$;
COMMENT ON FUNCTION api.fail_alert_delivery(bigint, integer, text, double precision, text, double precision) IS
    'For dispatchers: records a failed send of this claim: retried in p_retry_in seconds, or dead when NULL (then the alerts fall back to p_fallback); p_target_wait (a Retry-After) holds the whole target; returns the seconds until the target may send again.';
