CREATE OR REPLACE FUNCTION promo.check_sum(p_window bytea)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- Written out rather than looped: one expression of 16 byte reads, inlined where the argument is
-- a column or a variable (a PL/pgSQL loop over the characters costs ten times as much, which an
-- import of a million codes pays a million times).
AS $$
    SELECT (16 * get_byte(promo.batch_values(), get_byte(p_window, 0)) +
            15 * get_byte(promo.batch_values(), get_byte(p_window, 1)) +
            14 * get_byte(promo.batch_values(), get_byte(p_window, 2)) +
            13 * get_byte(promo.batch_values(), get_byte(p_window, 3)) +
            12 * get_byte(promo.batch_values(), get_byte(p_window, 4)) +
            11 * get_byte(promo.batch_values(), get_byte(p_window, 5)) +
            10 * get_byte(promo.batch_values(), get_byte(p_window, 6)) +
            9 * get_byte(promo.batch_values(), get_byte(p_window, 7)) +
            8 * get_byte(promo.batch_values(), get_byte(p_window, 8)) +
            7 * get_byte(promo.batch_values(), get_byte(p_window, 9)) +
            6 * get_byte(promo.batch_values(), get_byte(p_window, 10)) +
            5 * get_byte(promo.batch_values(), get_byte(p_window, 11)) +
            4 * get_byte(promo.batch_values(), get_byte(p_window, 12)) +
            3 * get_byte(promo.batch_values(), get_byte(p_window, 13)) +
            2 * get_byte(promo.batch_values(), get_byte(p_window, 14)) +
            1 * get_byte(promo.batch_values(), get_byte(p_window, 15))) % 31
$$;
COMMENT ON FUNCTION promo.check_sum(bytea) IS
    'The check sum of a promo.check_window: each character''s value times its position counted from the right (the check character 1, the one before it 2, ... 16), modulo 31; 0 when the check character is right. The weights 1 to 16 differ modulo the prime 31, so any one changed character and any two swapped ones change the sum.';
