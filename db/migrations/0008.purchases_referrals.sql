-- depends: 0007.throttle_watermark
-- Purchases and payments, the interim alert outbox, refund-driven promo rollback requests, and
-- referrals with their rewards.

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('referral.reward_premium_days', 'integer', '7', '7',
     'Premium days a referrer gets when choosing the PREMIUM_DAYS reward.'),
    ('referral.reward_discount_valid', 'interval', '30 days', '30 days',
     'How long the personal DISCOUNT reward (a reservation of the referral discount campaign) stays usable.');

-- Operational alerts, raised in the transaction of the change that caused them. The jobs issue
-- adds delivery (claim, ack, retry) on this same table.
CREATE TABLE ops.alert_outbox (
    alert_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event         text NOT NULL CHECK (event ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    severity      text NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    summary       text NOT NULL CHECK (char_length(summary) BETWEEN 1 AND 500),
    details       jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(details) = 'object'),
    dedup_key     text NOT NULL CHECK (char_length(dedup_key) BETWEEN 1 AND 200),
    created_at    timestamptz NOT NULL,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead'))
);
COMMENT ON TABLE ops.alert_outbox IS 'Operational alerts, written in the transaction that caused them.';
CREATE UNIQUE INDEX alert_outbox_pending_dedup_idx ON ops.alert_outbox (dedup_key) WHERE state = 'pending';

CREATE TABLE referral.codes (
    user_id     bigint PRIMARY KEY REFERENCES core.users (user_id),
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z2-9]{10}$'),
    created_at  timestamptz NOT NULL
);
COMMENT ON TABLE referral.codes IS 'Each user''s public referral code: random, never derived from the Telegram id.';

CREATE TABLE referral.referrals (
    referee_user_id   bigint PRIMARY KEY REFERENCES core.users (user_id),
    referrer_user_id  bigint NOT NULL REFERENCES core.users (user_id),
    created_at        timestamptz NOT NULL,
    CHECK (referee_user_id <> referrer_user_id)
);
COMMENT ON TABLE referral.referrals IS 'Who referred whom: one referrer per user, the first valid registration wins.';
CREATE INDEX referrals_referrer_idx ON referral.referrals (referrer_user_id);

CREATE TABLE billing.purchases (
    purchase_id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id                     bigint NOT NULL REFERENCES core.users (user_id),
    plan_code                   text NOT NULL REFERENCES billing.plans (plan_code),
    premium_days                integer NOT NULL CHECK (premium_days > 0),
    promo_redemption_id         bigint REFERENCES promo.promo_redemptions (promo_redemption_id),
    idempotency_key             text NOT NULL UNIQUE CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{8,128}$'),
    invoice_payload             text NOT NULL UNIQUE CHECK (invoice_payload ~ '^[A-Za-z0-9_-]{16,128}$'),
    currency                    text NOT NULL DEFAULT 'XTR' CHECK (currency = 'XTR'),
    base_price_stars            integer NOT NULL CHECK (base_price_stars > 0),
    discount_percent            integer CHECK (discount_percent BETWEEN 1 AND 99),
    price_stars                 integer NOT NULL CHECK (price_stars BETWEEN 1 AND base_price_stars),
    status                      text NOT NULL DEFAULT 'INIT'
                                CHECK (status IN ('INIT', 'PRECHECKOUT_OK', 'PAID', 'REFUNDED', 'CANCELLED')),
    created_at                  timestamptz NOT NULL,
    prechecked_at               timestamptz,
    paid_at                     timestamptz,
    refunded_at                 timestamptz,
    cancelled_at                timestamptz,
    telegram_payment_charge_id  text UNIQUE CHECK (char_length(telegram_payment_charge_id) BETWEEN 1 AND 255),
    refund_actor                text CHECK (char_length(refund_actor) BETWEEN 1 AND 128),
    refund_reason               text CHECK (char_length(refund_reason) BETWEEN 1 AND 1000),
    CONSTRAINT purchases_discount_source CHECK ((discount_percent IS NULL) = (promo_redemption_id IS NULL)),
    CONSTRAINT purchases_status_times CHECK (
        CASE status
            WHEN 'INIT' THEN prechecked_at IS NULL AND paid_at IS NULL AND refunded_at IS NULL
                             AND telegram_payment_charge_id IS NULL
            WHEN 'PRECHECKOUT_OK' THEN prechecked_at IS NOT NULL AND paid_at IS NULL
                             AND refunded_at IS NULL AND telegram_payment_charge_id IS NULL
            WHEN 'PAID' THEN paid_at IS NOT NULL AND telegram_payment_charge_id IS NOT NULL
                             AND refunded_at IS NULL
            WHEN 'REFUNDED' THEN paid_at IS NOT NULL AND telegram_payment_charge_id IS NOT NULL
                             AND refunded_at IS NOT NULL AND refund_actor IS NOT NULL
                             AND refund_reason IS NOT NULL
            WHEN 'CANCELLED' THEN cancelled_at IS NOT NULL AND paid_at IS NULL
        END)
);
COMMENT ON TABLE billing.purchases IS
    'An invoice for a plan at a price fixed when it was made: INIT -> PRECHECKOUT_OK -> PAID -> REFUNDED, or CANCELLED.';
CREATE INDEX purchases_user_idx ON billing.purchases (user_id, status);
-- One reservation backs at most one open purchase, and is paid for at most once.
CREATE UNIQUE INDEX purchases_open_redemption_idx ON billing.purchases (promo_redemption_id)
    WHERE status IN ('INIT', 'PRECHECKOUT_OK');
CREATE UNIQUE INDEX purchases_paid_redemption_idx ON billing.purchases (promo_redemption_id)
    WHERE status IN ('PAID', 'REFUNDED');

CREATE FUNCTION billing.guard_purchase_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF (NEW.user_id, NEW.plan_code, NEW.premium_days, NEW.promo_redemption_id, NEW.idempotency_key,
        NEW.invoice_payload, NEW.base_price_stars, NEW.discount_percent, NEW.price_stars, NEW.created_at)
       IS DISTINCT FROM
       (OLD.user_id, OLD.plan_code, OLD.premium_days, OLD.promo_redemption_id, OLD.idempotency_key,
        OLD.invoice_payload, OLD.base_price_stars, OLD.discount_percent, OLD.price_stars, OLD.created_at) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', MESSAGE = 'purchase terms are immutable',
            DETAIL = format('purchase %s', OLD.purchase_id);
    END IF;
    IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('INIT', 'PRECHECKOUT_OK'), ('INIT', 'PAID'), ('PRECHECKOUT_OK', 'PAID'), ('PAID', 'REFUNDED'),
        ('INIT', 'CANCELLED'), ('PRECHECKOUT_OK', 'CANCELLED'), ('CANCELLED', 'PAID')) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', MESSAGE = 'forbidden purchase transition',
            DETAIL = format('purchase %s: %s -> %s', OLD.purchase_id, OLD.status, NEW.status),
            HINT = 'INIT -> PRECHECKOUT_OK -> PAID -> REFUNDED; open -> CANCELLED; a confirmed payment is never refused.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION billing.guard_purchase_change() IS 'Trigger: the purchase state machine and its fixed terms.';
CREATE TRIGGER purchases_guard BEFORE UPDATE ON billing.purchases
    FOR EACH ROW EXECUTE FUNCTION billing.guard_purchase_change();

-- Every successful payment Telegram confirmed, matched or not: never dropped.
CREATE TABLE billing.payments (
    payment_id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    telegram_payment_charge_id  text NOT NULL UNIQUE CHECK (char_length(telegram_payment_charge_id) BETWEEN 1 AND 255),
    user_id                     bigint NOT NULL,
    invoice_payload             text NOT NULL CHECK (char_length(invoice_payload) BETWEEN 1 AND 255),
    currency                    text NOT NULL CHECK (char_length(currency) BETWEEN 1 AND 16),
    total_amount                bigint NOT NULL,
    purchase_id                 bigint REFERENCES billing.purchases (purchase_id),
    outcome                     text NOT NULL CHECK (outcome IN ('PAID', 'MISMATCH', 'UNKNOWN_PURCHASE', 'DUPLICATE')),
    result                      jsonb NOT NULL,
    received_at                 timestamptz NOT NULL
);
COMMENT ON TABLE billing.payments IS
    'Every successful_payment, keyed by its charge id (the payment''s idempotency key); outcome says whether it settled a purchase.';
CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON billing.payments
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();
CREATE TRIGGER payments_no_truncate BEFORE TRUNCATE ON billing.payments
    FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_mutation();

CREATE TABLE promo.rollback_requests (
    idempotency_key  text PRIMARY KEY CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{8,128}$'),
    purchase_id      bigint NOT NULL REFERENCES billing.purchases (purchase_id),
    actor            text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 128),
    result           jsonb NOT NULL,
    created_at       timestamptz NOT NULL
);
COMMENT ON TABLE promo.rollback_requests IS 'Answers of api.rollback_refunded_promo by idempotency key.';

CREATE TABLE referral.rewards (
    referral_reward_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    referrer_user_id     bigint NOT NULL REFERENCES core.users (user_id),
    referee_user_id      bigint NOT NULL UNIQUE REFERENCES referral.referrals (referee_user_id),
    purchase_id          bigint NOT NULL UNIQUE REFERENCES billing.purchases (purchase_id),
    status               text NOT NULL DEFAULT 'OFFERED' CHECK (status IN ('OFFERED', 'CHOSEN', 'CANCELLED')),
    choice               text CHECK (choice IN ('PREMIUM_DAYS', 'DISCOUNT')),
    created_at           timestamptz NOT NULL,
    chosen_at            timestamptz,
    cancelled_at         timestamptz,
    premium_until        timestamptz,
    promo_redemption_id  bigint REFERENCES promo.promo_redemptions (promo_redemption_id),
    CONSTRAINT rewards_status_fields CHECK (
        CASE status
            WHEN 'OFFERED' THEN choice IS NULL AND chosen_at IS NULL AND cancelled_at IS NULL
            WHEN 'CHOSEN' THEN choice IS NOT NULL AND chosen_at IS NOT NULL AND cancelled_at IS NULL
                          AND (choice = 'PREMIUM_DAYS') = (promo_redemption_id IS NULL)
            WHEN 'CANCELLED' THEN cancelled_at IS NOT NULL AND choice IS NULL
        END)
);
COMMENT ON TABLE referral.rewards IS
    'One reward per referred user''s first paid purchase, OFFERED to the referrer until chosen (or cancelled by a refund before).';
CREATE INDEX rewards_referrer_idx ON referral.rewards (referrer_user_id);

-- The campaign behind DISCOUNT rewards: it has no code (its hash is random bytes under a zero
-- pepper fingerprint), so it can only be reserved by api.choose_referral_reward.
INSERT INTO promo.promo_codes (campaign, code_hash, pepper_id, kind, discount_percent, max_uses,
                               per_user_limit, starts_at, created_at, created_by, updated_at)
VALUES ('Referral reward: personal discount', extensions.gen_random_bytes(32), '\x0000000000000000',
        'PERCENT_DISCOUNT', 30, NULL, 1000, now(), now(), 'migration', now());
INSERT INTO promo.capacity_slots (promo_code_id, slot_no, capacity)
SELECT promo_code_id, i, NULL FROM promo.promo_codes, generate_series(0, 63) AS i
WHERE pepper_id = '\x0000000000000000';

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('billing.purchase_abandon_after', 'interval', '24 hours', '24 hours',
     'An open purchase (INIT or PRECHECKOUT_OK) this old is CANCELLED by api.cancel_abandoned_purchases.');
