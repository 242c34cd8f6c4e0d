CREATE OR REPLACE FUNCTION api.fail_alert(p_id bigint, p_error text, p_retry_at timestamptz)
RETURNS TABLE (
    alert_id         bigint,
    state            text,
    next_attempt_at  timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now    timestamptz := ops.now();
    v_alert  ops.alert_outbox;
BEGIN
    PERFORM ops.check_argument(char_length(p_error) BETWEEN 1 AND 2000, 'p_error',
        'say why the delivery failed (1 to 2000 characters)', NULL);
    PERFORM ops.check_timestamp(p_retry_at, 'p_retry_at');
    SELECT * INTO v_alert FROM ops.alert_outbox AS a WHERE a.alert_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'alert_not_found', MESSAGE = 'alert not found', DETAIL = format('no alert %s', p_id);
    ELSIF v_alert.state <> 'pending' THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'alert_not_pending', MESSAGE = 'alert is not pending',
            DETAIL = format('alert %s is %s', p_id, v_alert.state);
    END IF;
    -- No retry time: the alert is dead (kept, never deleted, for an operator to look at).
    UPDATE ops.alert_outbox AS a
    SET last_error = p_error, claimed_until = NULL,
        state = CASE WHEN p_retry_at IS NULL THEN 'dead' ELSE 'pending' END,
        dead_at = CASE WHEN p_retry_at IS NULL THEN v_now END,
        next_attempt_at = coalesce(p_retry_at, a.next_attempt_at)
    WHERE a.alert_id = p_id
    RETURNING a.state, a.next_attempt_at INTO v_alert.state, v_alert.next_attempt_at;
    RETURN QUERY SELECT p_id, v_alert.state, v_alert.next_attempt_at;
END
$$;
COMMENT ON FUNCTION api.fail_alert(bigint, text, timestamptz) IS
    'For dispatchers: records a failed delivery; retried at p_retry_at, or dead when it is NULL.';
