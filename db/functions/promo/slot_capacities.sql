CREATE OR REPLACE FUNCTION promo.slot_capacities(p_max_uses integer)
RETURNS TABLE (slot_no smallint, capacity integer)
LANGUAGE sql STABLE
-- A single SELECT, inlined into the caller. A caller joining it to many rows materializes it
-- first (api.import_promo_codes): inlined into a join, the setting is read for every row.
AS $$
    -- Spread capacity evenly; slot i gets one extra unit while the remainder lasts.
    SELECT i::smallint, p_max_uses / s.n + CASE WHEN i < p_max_uses % s.n THEN 1 ELSE 0 END
    FROM (SELECT least(ops.setting_integer('promo.capacity_slots'),
                       coalesce(p_max_uses, 2147483647)) AS n) AS s
    CROSS JOIN generate_series(0, s.n - 1) AS i
$$;
COMMENT ON FUNCTION promo.slot_capacities(integer) IS
    'The capacity slots of a new campaign: up to promo.capacity_slots rows, max_uses spread evenly (NULL capacities for an unlimited one).';
