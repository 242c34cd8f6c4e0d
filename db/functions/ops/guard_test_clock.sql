CREATE OR REPLACE FUNCTION ops.guard_test_clock()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_setting('starpass.test_clock', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'test_clock_disabled',
            MESSAGE = 'the test clock is off in this database',
            DETAIL = 'ops.now() ignores ops.clock unless starpass.test_clock is on',
            HINT = 'Only test databases pin time: ALTER DATABASE <name> SET starpass.test_clock = on, then reconnect.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ops.guard_test_clock() IS
    'Trigger: refuses to pin or shift ops.clock where ops.now() would ignore it.';
