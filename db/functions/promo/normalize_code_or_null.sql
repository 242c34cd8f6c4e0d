CREATE OR REPLACE FUNCTION promo.normalize_code_or_null(p_code text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v_code  text;
BEGIN
    IF p_code IS NULL OR char_length(p_code) > 256 THEN
        RETURN NULL;  -- longer input cannot be a code; do not spend time normalizing it
    END IF;
    -- A length and an unbounded class, not {1,64}: the regex engine unrolls a bounded repetition
    -- into 64 states and builds its automaton on every match (25 times the cost).
    IF char_length(p_code) <= 64 AND p_code ~ '^[A-Z0-9]+$' THEN
        RETURN p_code;  -- already canonical (NFKC leaves ASCII letters and digits alone)
    END IF;
    -- NFKC folds full-width letters and odd spaces; then every space, hyphen and dash goes
    -- (including those a phone keyboard inserts: U+2010-2015, U+2212, soft hyphen, zero-width
    -- spaces); uppercase under the C collation touches only ASCII, so the result is locale-free.
    v_code := upper(regexp_replace(
        normalize(p_code, NFKC),
        '[[:space:]\u00A0\u00AD\u1680\u180E\u2000-\u200D\u2028\u2029\u202F\u205F\u2060\u3000\uFEFF\-\u2010-\u2015\u2043\u2212\uFE58\uFE63\uFF0D]',
        '', 'g') COLLATE "C");
    RETURN CASE WHEN char_length(v_code) <= 64 AND v_code ~ '^[A-Z0-9]+$' THEN v_code END;
END
$$;
COMMENT ON FUNCTION promo.normalize_code_or_null(text) IS
    'The canonical form of a code (NFKC, no spaces or dashes, uppercase, 1-64 of A-Z0-9), or NULL when the input cannot be a code.';
