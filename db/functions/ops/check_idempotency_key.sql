CREATE OR REPLACE FUNCTION ops.check_idempotency_key(p_key text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    -- The one refusal of a malformed key (SP422 invalid argument p_idempotency_key).
    PERFORM ops.check_argument(ops.is_idempotency_key(p_key), 'p_idempotency_key',
        'an idempotency key is 8 to 128 characters of A-Z a-z 0-9 . _ : -',
        'Send one random key per logical request (e.g. a UUID) and reuse it only to retry.');
END
$$;
COMMENT ON FUNCTION ops.check_idempotency_key(text) IS
    'Raises SP422 "invalid argument p_idempotency_key" unless the key is an ops.idempotency_key.';
