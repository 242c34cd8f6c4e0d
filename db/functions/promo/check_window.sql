CREATE OR REPLACE FUNCTION promo.check_window(p_code text)
RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- One expression, inlined where the argument is a column or a variable; its bytes are read
-- through promo.batch_values() by promo.is_batch_window and promo.check_sum.
AS $$
    SELECT convert_to(right(p_code, 16), 'UTF8')
$$;
COMMENT ON FUNCTION promo.check_window(text) IS
    'The last 16 characters of a canonical code as UTF-8 bytes, which a batch code''s pattern and check character cover (for promo.is_batch_window and promo.check_sum).';
