CREATE OR REPLACE FUNCTION api.retry_alert(p_alert_id bigint, p_actor text, p_reason text DEFAULT NULL)
RETURNS TABLE (
    alert_id    bigint,
    state       text,
    deliveries  integer
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now    timestamptz := ops.now();
    v_alert  ops.alert_outbox;
    v_count  integer;
BEGIN
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(p_reason IS NULL OR char_length(p_reason) BETWEEN 1 AND 1000, 'p_reason',
        'a reason is 1 to 1000 characters', NULL);
    SELECT * INTO v_alert FROM ops.alert_outbox AS a WHERE a.alert_id = p_alert_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'alert_not_found', MESSAGE = 'alert not found',
            DETAIL = format('no alert %s', p_alert_id);
    ELSIF v_alert.state <> 'dead' THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'alert_not_dead', MESSAGE = 'alert is not dead',
            DETAIL = format('alert %s is %s', p_alert_id, v_alert.state),
            HINT = 'Only a dead alert is retried; a pending one is still being delivered.';
    END IF;
    IF EXISTS (SELECT FROM ops.alert_outbox AS a WHERE a.dedup_key = v_alert.dedup_key AND a.state = 'pending') THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'alert_key_pending', MESSAGE = 'an alert with this dedup key is pending',
            DETAIL = format('alert %s has the dedup key of a pending alert', p_alert_id),
            HINT = 'The condition was raised again and that alert is being delivered; retry this one after it settled.';
    END IF;
    -- Every dead delivery of the alert goes again, to the same target, with a fresh count of
    -- attempts (the old count is in the audit row); delivered ones are not sent twice. An alert
    -- that died inside a summary is sent on its own.
    UPDATE ops.alert_deliveries AS d
    SET state = 'pending', dead_at = NULL, attempts = 0, next_attempt_at = v_now, summary_id = NULL,
        fallback_target = NULL, hold_reason = NULL
    WHERE d.alert_id = p_alert_id AND d.state = 'dead';
    GET DIAGNOSTICS v_count = ROW_COUNT;
    -- An alert that was never routed (refused by every dispatcher) is routed again.
    UPDATE ops.alert_outbox AS a
    SET state = 'pending', dead_at = NULL, next_attempt_at = v_now,
        routed_at = CASE WHEN v_count = 0 THEN NULL ELSE a.routed_at END
    WHERE a.alert_id = p_alert_id;
    PERFORM ops.write_audit(p_actor, 'ops.alert_retried', 'alert', p_alert_id::text, p_reason,
                            jsonb_build_object('event', v_alert.event, 'deliveries', v_count,
                                               'last_error', v_alert.last_error));
    RETURN QUERY SELECT p_alert_id, 'pending'::text, v_count;
END
$$;
COMMENT ON FUNCTION api.retry_alert(bigint, text, text) IS
    'Operator: sends a dead alert again (each dead delivery, attempts counted afresh; audited); SP409 unless it is dead or while another alert with its dedup key is pending.';
