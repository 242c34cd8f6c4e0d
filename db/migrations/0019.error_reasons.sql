-- depends: 0018.bot
-- Every refusal names its condition: the trigger functions defined by earlier migrations set a
-- stable reason in the error's CONSTRAINT field, like the function files do (docs/errors.md).
-- Bodies otherwise unchanged.

CREATE OR REPLACE FUNCTION ops.refuse_mutation() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'SP409',
        CONSTRAINT = 'append_only',
        MESSAGE = format('%s.%s is append-only', TG_TABLE_SCHEMA, TG_TABLE_NAME),
        DETAIL  = format('%s refused', TG_OP),
        HINT    = 'Correct a row by appending a compensating row.';
END
$$;

CREATE OR REPLACE FUNCTION promo.guard_redemption_change() RETURNS trigger
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

CREATE OR REPLACE FUNCTION billing.guard_purchase_change() RETURNS trigger
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
