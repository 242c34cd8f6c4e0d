CREATE OR REPLACE FUNCTION ops.now()
RETURNS timestamptz
LANGUAGE sql STABLE
AS $$
    -- A single expression, so the planner inlines it into every caller (no function call on
    -- the redemption path, which asks several times). Production databases never read
    -- ops.clock; test databases (starpass.test_clock = on) do.
    SELECT CASE WHEN pg_catalog.current_setting('starpass.test_clock', true) IS DISTINCT FROM 'on'
                THEN pg_catalog.now()
                ELSE ops.test_clock_now() END
$$;
COMMENT ON FUNCTION ops.now() IS
    'The time every business rule uses: transaction start, unless the database enables the test clock (starpass.test_clock = on) and a test pinned or shifted ops.clock.';
