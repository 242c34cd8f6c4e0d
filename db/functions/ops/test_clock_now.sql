CREATE OR REPLACE FUNCTION ops.test_clock_now()
RETURNS timestamptz
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN coalesce((SELECT coalesce(c.frozen_at, pg_catalog.now()) + c.shift FROM ops.clock AS c),
                    pg_catalog.now());
END
$$;
COMMENT ON FUNCTION ops.test_clock_now() IS
    'The test clock: coalesce(ops.clock.frozen_at, now()) + ops.clock.shift (ops.now() where starpass.test_clock is on).';
