CREATE OR REPLACE FUNCTION ops.now()
RETURNS timestamptz
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- PL/pgSQL, not SQL: its plan is cached per session, while a non-inlinable SQL function is
    -- parsed again on every call from PL/pgSQL (measurable on the redemption hot path).
    RETURN coalesce((SELECT coalesce(c.frozen_at, pg_catalog.now()) + c.shift FROM ops.clock AS c),
                    pg_catalog.now());
END
$$;
COMMENT ON FUNCTION ops.now() IS
    'The time every business rule uses: transaction start, unless a test pinned or shifted ops.clock.';
