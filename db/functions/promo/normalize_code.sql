CREATE OR REPLACE FUNCTION promo.normalize_code(p_code text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v_code text := promo.normalize_code_or_null(p_code);
BEGIN
    -- The DETAIL describes the rule, never the input: codes must not reach any log.
    PERFORM ops.check_argument(v_code IS NOT NULL, 'p_code',
        'a code is 1 to 64 letters A-Z and digits once spaces and hyphens are removed',
        'Use only letters and digits; spaces, hyphens and case do not matter.');
    RETURN v_code;
END
$$;
COMMENT ON FUNCTION promo.normalize_code(text) IS
    'The canonical form of a code; raises SP422 when the input cannot be a code.';
