CREATE OR REPLACE FUNCTION promo.is_batch_window(p_window bytea)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- Byte comparisons, inlined where the argument is a column or a variable (a regular expression
-- costs twice as much per code). Values 93-100 are the digits, 101-123 the letters.
AS $$
    SELECT octet_length(p_window) = 16
        AND get_byte(promo.batch_values(), get_byte(p_window, 0)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 1)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 2)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 3)) BETWEEN 93
        AND 100
        AND get_byte(promo.batch_values(), get_byte(p_window, 4)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 5)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 6)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 7)) BETWEEN 93
        AND 100
        AND get_byte(promo.batch_values(), get_byte(p_window, 8)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 9)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 10)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 11)) BETWEEN 93
        AND 100
        AND get_byte(promo.batch_values(), get_byte(p_window, 12)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 13)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 14)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 15)) >= 93
$$;
COMMENT ON FUNCTION promo.is_batch_window(bytea) IS
    'Whether a promo.check_window has the pattern of a generated batch code: three letters and a digit three times, then three letters and the check character (letters without I, L, O; digits 2 to 9; the check character any of the 31).';
