CREATE OR REPLACE FUNCTION promo.units_held(p_status text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (p_status = 'RESERVED')::integer $$;
COMMENT ON FUNCTION promo.units_held(text) IS
    'Capacity units a redemption in this status holds until it is consumed or expires (1 for RESERVED).';
