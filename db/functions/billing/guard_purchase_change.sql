CREATE OR REPLACE FUNCTION billing.guard_purchase_change()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF (NEW.user_id, NEW.plan_code, NEW.premium_days, NEW.promo_redemption_id, NEW.idempotency_key,
        NEW.invoice_payload, NEW.base_price_stars, NEW.discount_percent, NEW.price_stars, NEW.created_at)
       IS DISTINCT FROM
       (OLD.user_id, OLD.plan_code, OLD.premium_days, OLD.promo_redemption_id, OLD.idempotency_key,
        OLD.invoice_payload, OLD.base_price_stars, OLD.discount_percent, OLD.price_stars, OLD.created_at) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'purchase_terms_immutable', MESSAGE = 'purchase terms are immutable',
            DETAIL = format('purchase %s', OLD.purchase_id);
    END IF;
    IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('INIT', 'PRECHECKOUT_OK'), ('INIT', 'PAID'), ('PRECHECKOUT_OK', 'PAID'), ('PAID', 'REFUNDED'),
        ('INIT', 'CANCELLED'), ('PRECHECKOUT_OK', 'CANCELLED'), ('CANCELLED', 'PAID')) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'forbidden_purchase_transition', MESSAGE = 'forbidden purchase transition',
            DETAIL = format('purchase %s: %s -> %s', OLD.purchase_id, OLD.status, NEW.status),
            HINT = 'INIT -> PRECHECKOUT_OK -> PAID -> REFUNDED; open -> CANCELLED; a confirmed payment is never refused.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION billing.guard_purchase_change() IS
    'Trigger: the purchase state machine and its fixed terms.';
