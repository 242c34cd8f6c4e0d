CREATE OR REPLACE FUNCTION billing.discount_price(p_base integer, p_percent integer)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    -- base × (100 − percent) / 100, rounded half up, never below 1 Star.
    SELECT greatest(1, (p_base * (100 - coalesce(p_percent, 0)) + 50) / 100)
$$;
COMMENT ON FUNCTION billing.discount_price(integer, integer) IS
    'The price after a percent discount: rounded half up, at least 1 Star.';
