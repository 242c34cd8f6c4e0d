CREATE OR REPLACE FUNCTION api.open_payment_support(
    p_user_id          bigint,
    p_message          text,
    p_idempotency_key  text
)
RETURNS api.open_payment_support_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now     timestamptz := ops.now();
    v_hash    bytea := ops.request_hash(jsonb_build_array(p_user_id));
    v_result  api.open_payment_support_result;
BEGIN
    PERFORM ops.require_read_committed('open_payment_support');
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(char_length(btrim(p_message, E' \t\r\n')) BETWEEN 1 AND 2000, 'p_message',
        'a support message is 1 to 2000 characters', 'Describe the problem in one message.');
    -- A redelivered update replays the first ticket (whatever its text: Telegram redelivers
    -- the same message); the same key from another user is IDEMPOTENCY_CONFLICT.
    v_result := ops.idempotent_answer(NULL::api.open_payment_support_result,
        ops.find_idempotent('billing.open_payment_support', p_idempotency_key, v_hash));
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;
    END IF;

    PERFORM core.ensure_user(p_user_id);
    INSERT INTO billing.support_requests AS s (user_id, message, idempotency_key, created_at)
    VALUES (p_user_id, btrim(p_message, E' \t\r\n'), p_idempotency_key, v_now)
    RETURNING 'OPENED', s.support_request_id, s.created_at, false INTO v_result;
    -- The alert carries no message text: it is personal data and stays in the table.
    PERFORM ops.raise_alert('payments.support_request', 'warning',
        format('payment support request %s from user %s', v_result.support_request_id, p_user_id),
        jsonb_build_object('support_request_id', v_result.support_request_id, 'user_id', p_user_id),
        'payments.support_request:' || v_result.support_request_id);
    PERFORM ops.save_idempotent('billing.open_payment_support', p_idempotency_key, v_hash, to_jsonb(v_result));
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api.open_payment_support(bigint, text, text) IS
    'Records a user''s payment support request from /paysupport and raises the alert payments.support_request: OPENED with the request id the bot shows as the ticket number, or IDEMPOTENCY_CONFLICT for a key of another user''s request; idempotent by key (ops.find_idempotent: a redelivery replays the first ticket).';
