CREATE OR REPLACE FUNCTION promo.book_capacity()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF promo.units_used(NEW.status) <> 0 OR promo.units_held(NEW.status) <> 0 THEN
        UPDATE promo.capacity_slots AS s
        SET used = s.used + promo.units_used(NEW.status), held = s.held + promo.units_held(NEW.status)
        WHERE s.promo_code_id = NEW.promo_code_id AND s.slot_no = NEW.slot_no;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION promo.book_capacity() IS
    'Trigger: an inserted redemption uses or holds a unit of its slot.';
