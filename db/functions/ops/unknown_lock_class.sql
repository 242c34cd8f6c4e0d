CREATE OR REPLACE FUNCTION ops.unknown_lock_class(p_name text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'SP500', CONSTRAINT = 'unknown_lock_class',
        MESSAGE = format('unknown lock class %L', p_name),
        DETAIL = 'advisory lock classes are listed in ops.lock_class and docs/architecture.md',
        HINT = 'Add the class to ops.lock_class, with its place in the lock order.';
END
$$;
COMMENT ON FUNCTION ops.unknown_lock_class(text) IS
    'Raises SP500 for a lock class ops.lock_class does not list (at plan time, for a constant name).';
