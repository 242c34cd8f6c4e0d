CREATE OR REPLACE FUNCTION promo.check_window(p_code text)
RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- One expression, inlined where the argument is a column or a variable. Bytes 93 to 123 (']' to
-- '{') are congruent to the values 0 to 30 modulo 31 (93 = 3 * 31) and lie above every
-- character a canonical code may hold, so a character outside the alphabet stays recognizable.
AS $$
    SELECT translate(right(p_code, 16), promo.batch_alphabet(), ']^_`abcdefghijklmnopqrstuvwxyz{')::bytea
$$;
COMMENT ON FUNCTION promo.check_window(text) IS
    'The last 16 characters of a canonical code, which a batch code''s pattern and check character cover: each alphabet character as the byte 93 + its value, any other as itself (for promo.is_batch_window and promo.check_sum).';
