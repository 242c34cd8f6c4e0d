CREATE OR REPLACE FUNCTION promo.batch_alphabet()
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '23456789ABCDEFGHJKMNPQRSTUVWXYZ'::text $$;
COMMENT ON FUNCTION promo.batch_alphabet() IS
    'The 31 characters of generated batch codes (no 0, 1, I, L, O), in the order that gives each its value 0 to 30 for the check character (app/codes.py holds the same).';
