CREATE OR REPLACE FUNCTION ops.check_value(
    p_values    text[],
    p_domain    regtype,
    p_argument  text
)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_allowed  text[];
    v_bad      text;
BEGIN
    -- The domain's own CHECK decides (a cast), so the allowed values are stated only there.
    -- NULL (the array or an element) counts as a failed check, as in ops.check_argument.
    IF p_values IS NOT NULL AND array_position(p_values, NULL) IS NULL THEN
        BEGIN
            EXECUTE format('SELECT $1::%s[]', p_domain) USING p_values;
            RETURN;
        EXCEPTION WHEN check_violation THEN
            NULL;  -- refused below, with the value and the allowed ones
        END;
    END IF;
    v_allowed := ops.domain_values(p_domain);
    SELECT v INTO v_bad FROM unnest(p_values) AS v WHERE v IS NULL OR v <> ALL (v_allowed) LIMIT 1;
    PERFORM ops.check_argument(false, p_argument,
        format('%s is not a %s', coalesce(quote_literal(v_bad), 'NULL'), p_domain),
        format('Use one of %s.', array_to_string(v_allowed, ', ')));
END
$$;
COMMENT ON FUNCTION ops.check_value(text[], regtype, text) IS
    'Raises SP422 "invalid argument <name>" unless every value is one the domain allows (NULL is refused); the HINT lists them.';

CREATE OR REPLACE FUNCTION ops.check_value(
    p_value     text,
    p_domain    regtype,
    p_argument  text
)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    PERFORM ops.check_value(ARRAY[p_value], p_domain, p_argument);
END
$$;
COMMENT ON FUNCTION ops.check_value(text, regtype, text) IS
    'Raises SP422 "invalid argument <name>" unless the value is one the domain allows (NULL is refused); the HINT lists them.';
