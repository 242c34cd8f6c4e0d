-- depends: 0002.ops
-- Users, plans, entitlements and the append-only ledger.

CREATE TABLE core.users (
    user_id        bigint PRIMARY KEY CHECK (user_id > 0),
    username       text CHECK (username ~ '^[A-Za-z0-9_]{1,32}$'),
    first_name     text CHECK (char_length(first_name) BETWEEN 1 AND 64),
    language_code  text CHECK (language_code ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$'),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL
);
COMMENT ON TABLE core.users IS 'Telegram users, keyed by their Telegram user id.';

CREATE TABLE billing.plans (
    plan_code     text PRIMARY KEY CHECK (plan_code ~ '^[a-z][a-z0-9_]{1,31}$'),
    premium_days  integer NOT NULL CHECK (premium_days BETWEEN 1 AND 3660),
    price_stars   integer NOT NULL CHECK (price_stars BETWEEN 1 AND 1000000),
    currency      text NOT NULL DEFAULT 'XTR' CHECK (currency = 'XTR'),
    -- Telegram's sendInvoice limits: title 1-32, description 1-255 characters.
    title         text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 32),
    description   text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 255),
    is_active     boolean NOT NULL DEFAULT true,
    sort_order    integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE billing.plans IS 'What can be bought for Stars. Titles are German (the bot''s first language).';

INSERT INTO billing.plans (plan_code, premium_days, price_stars, title, description, sort_order) VALUES
    ('premium_30d', 30, 250, 'Premium · 30 Tage', 'Premium-Zugang für 30 Tage.', 10),
    ('premium_90d', 90, 600, 'Premium · 90 Tage', 'Premium-Zugang für 90 Tage.', 20),
    ('premium_365d', 365, 2000, 'Premium · 365 Tage', 'Premium-Zugang für ein ganzes Jahr.', 30);

-- Each ledger kind names the one kind of object that causes it and the signs it may carry.
CREATE TABLE billing.ledger_kinds (
    kind         text PRIMARY KEY CHECK (kind ~ '^[A-Z][A-Z_]+$'),
    ref_type     text NOT NULL CHECK (ref_type ~ '^[a-z][a-z_]+$'),
    -- Allowed sign of each delta: 1 credit, -1 debit, 0 never; NULL either way.
    stars_sign   smallint CHECK (stars_sign IN (-1, 0, 1)),
    days_sign    smallint CHECK (days_sign IN (-1, 0, 1)),
    description  text NOT NULL,
    UNIQUE (kind, ref_type)
);
COMMENT ON TABLE billing.ledger_kinds IS
    'Ledger entry kinds: the type of object that causes them and the sign each delta may have.';

INSERT INTO billing.ledger_kinds (kind, ref_type, stars_sign, days_sign, description) VALUES
    ('PURCHASE_PAYMENT', 'purchase', 1, 0, 'Stars received for a purchase.'),
    ('PURCHASE_PREMIUM', 'purchase', 0, 1, 'Premium days granted for a paid purchase.'),
    ('REFUND_PAYMENT', 'purchase', -1, 0, 'Stars returned to the user by a refund.'),
    ('REFUND_PREMIUM', 'purchase', 0, -1, 'Premium days removed by a refund.'),
    ('PROMO_PREMIUM', 'promo_redemption', 0, 1, 'Premium days granted by a PREMIUM_GRANT promo code.'),
    ('REFERRAL_PREMIUM', 'referral_reward', 0, 1, 'Premium days granted as a referral reward.'),
    ('ADMIN_ADJUSTMENT', 'audit_log', 0, NULL, 'Manual correction by an operator; the audit row says why.');

CREATE TABLE billing.entitlements (
    user_id        bigint PRIMARY KEY REFERENCES core.users (user_id),
    premium_until  timestamptz,
    updated_at     timestamptz NOT NULL
);
COMMENT ON TABLE billing.entitlements IS
    'Premium state per user; written only by billing.post_ledger_entry, always in step with the ledger.';

CREATE TABLE billing.ledger (
    ledger_id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id               bigint NOT NULL REFERENCES core.users (user_id),
    kind                  text NOT NULL,
    ref_type              text NOT NULL,
    ref_id                bigint NOT NULL,
    stars_delta           integer NOT NULL DEFAULT 0,
    premium_days_delta    integer NOT NULL DEFAULT 0,
    premium_until_before  timestamptz,
    premium_until_after   timestamptz,
    actor                 text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 128),
    created_at            timestamptz NOT NULL,
    FOREIGN KEY (kind, ref_type) REFERENCES billing.ledger_kinds (kind, ref_type),
    CHECK (stars_delta <> 0 OR premium_days_delta <> 0),
    -- The same cause is booked once per kind: the last line of defence against double credit.
    CONSTRAINT ledger_once_per_cause UNIQUE (kind, ref_type, ref_id)
);
COMMENT ON TABLE billing.ledger IS
    'Append-only: one row per credit or debit of Stars and premium days, with what caused it.';
CREATE INDEX ledger_user_idx ON billing.ledger (user_id, ledger_id);

CREATE TRIGGER ledger_append_only
    BEFORE UPDATE OR DELETE ON billing.ledger
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();
CREATE TRIGGER ledger_no_truncate
    BEFORE TRUNCATE ON billing.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_mutation();
