CREATE OR REPLACE FUNCTION promo.units_used(p_status text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (p_status IN ('APPLIED', 'CONSUMED', 'REVOKED'))::integer $$;
COMMENT ON FUNCTION promo.units_used(text) IS
    'Capacity units a redemption in this status uses for good (1 for APPLIED, CONSUMED, REVOKED: a revocation gives nothing back).';
