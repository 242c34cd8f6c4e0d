CREATE OR REPLACE FUNCTION api.open_payment_support(
    p_user_id          bigint,
    p_message          text,
    p_idempotency_key  text
)
RETURNS TABLE (
    support_request_id  bigint,
    created_at          timestamptz,
    replayed            boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_prior  billing.support_requests;
    v_id     bigint;
    v_now    timestamptz := ops.now();
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(char_length(btrim(p_message, E' \t\r\n')) BETWEEN 1 AND 2000, 'p_message',
        'a support message is 1 to 2000 characters', 'Describe the problem in one message.');
    PERFORM ops.check_idempotency_key(p_idempotency_key);
    -- A redelivered update replays the first ticket (a concurrent one waits on the unique key).
    SELECT * INTO v_prior FROM billing.support_requests AS s WHERE s.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        IF v_prior.user_id <> p_user_id THEN
            RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'idempotency_conflict', MESSAGE = 'idempotency key reused',
                DETAIL = 'the key recorded another user''s support request',
                HINT = 'Use a new key for a new request.';
        END IF;
        RETURN QUERY SELECT v_prior.support_request_id, v_prior.created_at, true;
        RETURN;
    END IF;
    PERFORM core.ensure_user(p_user_id);
    INSERT INTO billing.support_requests (user_id, message, idempotency_key, created_at)
    VALUES (p_user_id, btrim(p_message, E' \t\r\n'), p_idempotency_key, v_now)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING support_requests.support_request_id INTO v_id;
    IF v_id IS NULL THEN  -- the same key committed meanwhile
        RETURN QUERY SELECT s.support_request_id, s.created_at, true FROM billing.support_requests AS s
                     WHERE s.idempotency_key = p_idempotency_key;
        RETURN;
    END IF;
    -- The alert carries no message text: it is personal data and stays in the table.
    PERFORM ops.raise_alert('payments.support_request', 'warning',
        format('payment support request %s from user %s', v_id, p_user_id),
        jsonb_build_object('support_request_id', v_id, 'user_id', p_user_id),
        'payments.support_request:' || v_id);
    RETURN QUERY SELECT v_id, v_now, false;
END
$$;
COMMENT ON FUNCTION api.open_payment_support(bigint, text, text) IS
    'Records a user''s payment support request from /paysupport (idempotent by key: a redelivery replays the first ticket) and raises the alert payments.support_request; returns the request id the bot shows as the ticket number.';
