CREATE OR REPLACE FUNCTION promo.batch_values()
RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- A constant, folded into every expression that reads it: get_byte(promo.batch_values(), b) maps
-- a byte in one step, where translate() through the alphabet compares each character with up to
-- 31 others (half of an import's checking time). Values are 93 + v: bytes 93 to 123 are
-- congruent to 0 to 30 modulo 31 (93 = 3 * 31), and 0, any byte outside the alphabet, is below
-- them all. db/tests/promo/10-batch.sql derives it from promo.batch_alphabet().
AS $$
    SELECT '\x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005d5e5f60616263640000000000000065666768696a6b6c006d6e006f70007172737475767778797a7b000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::bytea
$$;
COMMENT ON FUNCTION promo.batch_values() IS
    'Byte b''s value in the batch alphabet: 93 + its place in promo.batch_alphabet() (0 to 30), 0 for any other byte; 256 bytes, read with get_byte(promo.batch_values(), b).';
