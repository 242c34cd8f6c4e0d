CREATE OR REPLACE FUNCTION promo.guard_redemption_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (NEW.promo_code_id, NEW.slot_no, NEW.user_id, NEW.kind, NEW.created_at)
       IS DISTINCT FROM (OLD.promo_code_id, OLD.slot_no, OLD.user_id, OLD.kind, OLD.created_at) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'redemption_immutable', MESSAGE = 'redemption identity is immutable',
            DETAIL = format('redemption %s', OLD.promo_redemption_id);
    END IF;
    IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('RESERVED', 'CONSUMED'), ('RESERVED', 'EXPIRED'), ('APPLIED', 'REVOKED'), ('CONSUMED', 'REVOKED')) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'forbidden_redemption_transition', MESSAGE = 'forbidden redemption transition',
            DETAIL = format('redemption %s: %s -> %s', OLD.promo_redemption_id, OLD.status, NEW.status),
            HINT = 'RESERVED -> CONSUMED | EXPIRED; APPLIED | CONSUMED -> REVOKED.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION promo.guard_redemption_change() IS
    'Trigger: the redemption state machine and its immutable identity.';
