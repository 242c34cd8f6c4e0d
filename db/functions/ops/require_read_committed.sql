CREATE OR REPLACE FUNCTION ops.require_read_committed(p_function text)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- Idempotency and per-user checks read what the previous holder of a lock committed: that
    -- needs a fresh snapshot per statement.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'read_committed_required', MESSAGE = format('%s needs READ COMMITTED', p_function),
            DETAIL = format('called at isolation level %s', current_setting('transaction_isolation')),
            HINT = 'Call it in its own READ COMMITTED transaction (the default).';
    END IF;
END
$$;
COMMENT ON FUNCTION ops.require_read_committed(text) IS
    'Raises SP409 "<function> needs READ COMMITTED" at any other isolation level.';
