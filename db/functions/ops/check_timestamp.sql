CREATE OR REPLACE FUNCTION ops.check_timestamp(
    p_value     timestamptz,
    p_argument  text
)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_range  tstzrange := ops.timestamp_range();
BEGIN
    -- NULL passes: whether an argument may be missing is the caller's own check.
    IF p_value IS NULL OR v_range @> p_value THEN
        RETURN;
    END IF;
    PERFORM ops.check_argument(false, p_argument,
        format('%s %s is outside the supported range %s to %s (UTC, end excluded)', p_argument, p_value,
               to_char(lower(v_range) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
               to_char(upper(v_range) AT TIME ZONE 'UTC', 'YYYY-MM-DD')),
        'Send a timestamp within that range; leave an optional one out rather than sending a far one.');
END
$$;
COMMENT ON FUNCTION ops.check_timestamp(timestamptz, text) IS
    'Raises SP422 "invalid argument <name>" unless the timestamp is NULL or within ops.timestamp_range().';
