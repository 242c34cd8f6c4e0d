CREATE OR REPLACE FUNCTION ops.now()
RETURNS timestamptz
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        (SELECT coalesce(c.frozen_at, pg_catalog.now()) + c.shift FROM ops.clock AS c),
        pg_catalog.now())
$$;
COMMENT ON FUNCTION ops.now() IS
    'The time every business rule uses: transaction start, unless a test pinned or shifted ops.clock.';
