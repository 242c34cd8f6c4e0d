CREATE OR REPLACE FUNCTION ops.check_argument(
    p_ok        boolean,
    p_argument  text,
    p_detail    text,
    p_hint      text
)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    -- NULL counts as a failed check: a missing argument is an invalid argument.
    IF p_ok IS TRUE THEN
        RETURN;
    END IF;
    IF p_hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SP422', CONSTRAINT = 'invalid_argument', MESSAGE = format('invalid argument %s', p_argument),
            DETAIL = p_detail;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'SP422', CONSTRAINT = 'invalid_argument', MESSAGE = format('invalid argument %s', p_argument),
        DETAIL = p_detail, HINT = p_hint;
END
$$;
COMMENT ON FUNCTION ops.check_argument(boolean, text, text, text) IS
    'Raises SP422 "invalid argument <name>" (reason invalid_argument, in the CONSTRAINT field) with DETAIL and HINT unless p_ok is true.';
