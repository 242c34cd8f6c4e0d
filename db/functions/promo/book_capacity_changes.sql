CREATE OR REPLACE FUNCTION promo.book_capacity_changes()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE promo.capacity_slots AS s SET used = s.used + d.used, held = s.held + d.held
    FROM (SELECT n.promo_code_id, n.slot_no,
                 sum(promo.units_used(n.status) - promo.units_used(o.status)) AS used,
                 sum(promo.units_held(n.status) - promo.units_held(o.status)) AS held
          FROM new_redemptions AS n
          JOIN old_redemptions AS o USING (promo_redemption_id)
          WHERE n.status <> o.status
          GROUP BY n.promo_code_id, n.slot_no) AS d
    WHERE s.promo_code_id = d.promo_code_id AND s.slot_no = d.slot_no
      AND (d.used <> 0 OR d.held <> 0);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION promo.book_capacity_changes() IS
    'Trigger: the status changes of one statement move their slots'' used/held counters, one UPDATE per slot.';
