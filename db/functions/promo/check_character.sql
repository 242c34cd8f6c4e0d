CREATE OR REPLACE FUNCTION promo.check_character(p_text text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    -- Appending '2' (value 0) moves every character to the weight it has once the check
    -- character follows, and adds nothing.
    v_window  bytea := promo.check_window(p_text || '2');
BEGIN
    RETURN substr(promo.batch_alphabet(), (31 - promo.check_sum(v_window)) % 31 + 1, 1);
END
$$;
COMMENT ON FUNCTION promo.check_character(text) IS
    'The check character that completes a canonical batch code (the code without it as argument); the batch tool computes the same in Python (app/codes.py), and a test holds them equal.';
