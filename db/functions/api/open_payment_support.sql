CREATE OR REPLACE FUNCTION api.open_payment_support(p_user_id bigint, p_message text)
RETURNS TABLE (
    support_request_id  bigint,
    created_at          timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id   bigint;
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(char_length(btrim(p_message)) BETWEEN 1 AND 2000, 'p_message',
        'a support message is 1 to 2000 characters', 'Describe the problem in one message.');
    PERFORM core.ensure_user(p_user_id);
    INSERT INTO billing.support_requests (user_id, message, created_at)
    VALUES (p_user_id, btrim(p_message), v_now)
    RETURNING support_requests.support_request_id INTO v_id;
    -- The alert carries no message text: it is personal data and stays in the table.
    PERFORM ops.raise_alert('payments.support_request', 'warning',
        format('payment support request %s from user %s', v_id, p_user_id),
        jsonb_build_object('support_request_id', v_id, 'user_id', p_user_id),
        'payments.support_request:' || v_id);
    RETURN QUERY SELECT v_id, v_now;
END
$$;
COMMENT ON FUNCTION api.open_payment_support(bigint, text) IS
    'Records a user''s payment support request from /paysupport and raises the alert payments.support_request; returns the request id the bot shows as the ticket number.';
