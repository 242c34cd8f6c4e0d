CREATE OR REPLACE FUNCTION ops.now()
RETURNS timestamptz
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- Production databases never read ops.clock: the redemption hot path calls this several
    -- times and each read was a query and a relation lock. Test databases turn the clock on.
    IF current_setting('starpass.test_clock', true) IS DISTINCT FROM 'on' THEN
        RETURN pg_catalog.now();
    END IF;
    -- PL/pgSQL, not SQL: its plan is cached per session, while a non-inlinable SQL function is
    -- parsed again on every call from PL/pgSQL (measurable on the redemption hot path).
    RETURN coalesce((SELECT coalesce(c.frozen_at, pg_catalog.now()) + c.shift FROM ops.clock AS c),
                    pg_catalog.now());
END
$$;
COMMENT ON FUNCTION ops.now() IS
    'The time every business rule uses: transaction start, unless the database enables the test clock (starpass.test_clock = on) and a test pinned or shifted ops.clock.';
