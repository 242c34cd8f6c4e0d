-- depends: 0020.plan_code_length
-- Capacity bookkeeping in one place: a slot's counters move with the status of the redemptions
-- it holds, by trigger, so no caller moves `used` or `held` by hand (six UPDATEs in five files
-- did before). A unit is used by APPLIED, CONSUMED and REVOKED (a revocation never gives a unit
-- back) and held by RESERVED; EXPIRED holds nothing. Callers still lock the slot row before the
-- redemption row (lock order: slot, then redemption); the trigger's UPDATE then re-locks a row
-- the transaction already holds.
CREATE FUNCTION promo.book_capacity() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_used  integer := (NEW.status IN ('APPLIED', 'CONSUMED', 'REVOKED'))::integer;
    v_held  integer := (NEW.status = 'RESERVED')::integer;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        v_used := v_used - (OLD.status IN ('APPLIED', 'CONSUMED', 'REVOKED'))::integer;
        v_held := v_held - (OLD.status = 'RESERVED')::integer;
    END IF;
    IF v_used <> 0 OR v_held <> 0 THEN
        UPDATE promo.capacity_slots AS s SET used = s.used + v_used, held = s.held + v_held
        WHERE s.promo_code_id = NEW.promo_code_id AND s.slot_no = NEW.slot_no;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION promo.book_capacity() IS
    'Trigger: moves the slot''s used/held counters by what a redemption''s insert or status change gives or takes (APPLIED, CONSUMED, REVOKED use a unit; RESERVED holds one).';
CREATE TRIGGER promo_redemptions_book_capacity
    AFTER INSERT OR UPDATE OF status ON promo.promo_redemptions
    FOR EACH ROW EXECUTE FUNCTION promo.book_capacity();
