-- depends: 0003.core_billing
-- Promo campaigns, their capacity slots, redemptions, the attempt log (which doubles as the
-- idempotency store) and the per-user throttle.

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('promo.throttle_max_failures', 'integer', '5', '5',
     'Counted refused redemption attempts within the window that block a user.'),
    ('promo.throttle_window', 'interval', '24 hours', '24 hours',
     'Sliding window in which refused attempts are counted for the throttle.'),
    ('promo.throttle_block', 'interval', '60 minutes', '60 minutes',
     'How long a user stays blocked once the throttle trips.'),
    ('promo.capacity_slots', 'integer', '64', '64',
     'Rows a new campaign''s capacity is spread over, so concurrent redemptions of one code do not queue on one row.');

CREATE TABLE promo.promo_codes (
    promo_code_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign          text NOT NULL CHECK (char_length(btrim(campaign)) BETWEEN 1 AND 100),
    -- HMAC-SHA256 of the normalized code under the pepper; the code itself is never stored.
    code_hash         bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    -- Which pepper made code_hash (a fingerprint, not the pepper), to follow a rotation.
    pepper_id         bytea NOT NULL CHECK (octet_length(pepper_id) = 8),
    kind              text NOT NULL CHECK (kind IN ('PREMIUM_GRANT', 'PERCENT_DISCOUNT')),
    grant_days        integer,
    discount_percent  integer,
    max_uses          integer CHECK (max_uses BETWEEN 1 AND 10000000),
    per_user_limit    integer NOT NULL DEFAULT 1 CHECK (per_user_limit BETWEEN 1 AND 1000),
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz,
    prefix            text CHECK (prefix ~ '^[A-Z0-9]{2,16}$'),
    status            text NOT NULL DEFAULT 'ACTIVE'
                      CHECK (status IN ('ACTIVE', 'PAUSED', 'EXPIRED', 'DEPLETED')),
    paused_at         timestamptz,
    paused_reason     text CHECK (char_length(paused_reason) BETWEEN 1 AND 200),
    expired_at        timestamptz,
    depleted_at       timestamptz,
    created_at        timestamptz NOT NULL,
    created_by        text NOT NULL CHECK (char_length(created_by) BETWEEN 1 AND 128),
    updated_at        timestamptz NOT NULL,
    CONSTRAINT promo_codes_code_hash_key UNIQUE (code_hash),
    CONSTRAINT promo_codes_kind_fields CHECK (
        (kind = 'PREMIUM_GRANT' AND grant_days BETWEEN 1 AND 3660 AND discount_percent IS NULL)
        OR (kind = 'PERCENT_DISCOUNT' AND discount_percent BETWEEN 1 AND 99 AND grant_days IS NULL)),
    CONSTRAINT promo_codes_period CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT promo_codes_per_user_within_max CHECK (max_uses IS NULL OR per_user_limit <= max_uses),
    CONSTRAINT promo_codes_active_fields CHECK (
        status <> 'ACTIVE' OR (paused_at IS NULL AND paused_reason IS NULL
                               AND expired_at IS NULL AND depleted_at IS NULL)),
    CONSTRAINT promo_codes_paused_fields CHECK (
        status <> 'PAUSED' OR (paused_at IS NOT NULL AND paused_reason IS NOT NULL)),
    CONSTRAINT promo_codes_expired_fields CHECK (status <> 'EXPIRED' OR expired_at IS NOT NULL),
    CONSTRAINT promo_codes_depleted_fields CHECK (
        status <> 'DEPLETED' OR (depleted_at IS NOT NULL AND max_uses IS NOT NULL))
);
COMMENT ON TABLE promo.promo_codes IS
    'A campaign: one code (shared or one of a batch), stored only as an HMAC. Capacity and used_total live in promo.capacity_slots.';
CREATE INDEX promo_codes_prefix_idx ON promo.promo_codes (prefix) WHERE prefix IS NOT NULL;
CREATE INDEX promo_codes_status_idx ON promo.promo_codes (status, promo_code_id);

-- A campaign's capacity spread over several rows: a redemption locks one slot (SKIP LOCKED),
-- so concurrent redemptions of one popular code do not all queue on a single row.
CREATE TABLE promo.capacity_slots (
    promo_code_id  bigint NOT NULL REFERENCES promo.promo_codes (promo_code_id),
    slot_no        smallint NOT NULL CHECK (slot_no >= 0),
    capacity       integer CHECK (capacity > 0),          -- NULL: unlimited
    used           integer NOT NULL DEFAULT 0 CHECK (used >= 0),   -- APPLIED, CONSUMED, REVOKED
    held           integer NOT NULL DEFAULT 0 CHECK (held >= 0),   -- RESERVED (until expired)
    PRIMARY KEY (promo_code_id, slot_no),
    CONSTRAINT capacity_slots_within_capacity CHECK (capacity IS NULL OR used + held <= capacity)
) WITH (fillfactor = 50);
COMMENT ON TABLE promo.capacity_slots IS
    'Capacity of a campaign in slots; used + held <= capacity per slot; sum(capacity) = max_uses; sum(used) = used_total.';

CREATE TABLE promo.promo_redemptions (
    promo_redemption_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    promo_code_id        bigint NOT NULL,
    slot_no              smallint NOT NULL,
    user_id              bigint NOT NULL REFERENCES core.users (user_id),
    kind                 text NOT NULL CHECK (kind IN ('PREMIUM_GRANT', 'PERCENT_DISCOUNT')),
    status               text NOT NULL
                         CHECK (status IN ('APPLIED', 'RESERVED', 'CONSUMED', 'EXPIRED', 'REVOKED')),
    created_at           timestamptz NOT NULL,
    reserved_until       timestamptz,
    consumed_at          timestamptz,
    expired_at           timestamptz,
    revoked_at           timestamptz,
    revoked_reason       text CHECK (char_length(revoked_reason) BETWEEN 1 AND 1000),
    FOREIGN KEY (promo_code_id, slot_no) REFERENCES promo.capacity_slots (promo_code_id, slot_no),
    CONSTRAINT promo_redemptions_grant_states CHECK (
        kind <> 'PREMIUM_GRANT'
        OR (status IN ('APPLIED', 'REVOKED') AND reserved_until IS NULL AND consumed_at IS NULL
            AND expired_at IS NULL)),
    CONSTRAINT promo_redemptions_discount_states CHECK (
        kind <> 'PERCENT_DISCOUNT'
        OR (status IN ('RESERVED', 'CONSUMED', 'EXPIRED', 'REVOKED') AND reserved_until IS NOT NULL)),
    CONSTRAINT promo_redemptions_status_times CHECK (
        CASE status
            WHEN 'APPLIED'  THEN revoked_at IS NULL
            WHEN 'RESERVED' THEN consumed_at IS NULL AND expired_at IS NULL AND revoked_at IS NULL
            WHEN 'CONSUMED' THEN consumed_at IS NOT NULL AND expired_at IS NULL AND revoked_at IS NULL
            WHEN 'EXPIRED'  THEN expired_at IS NOT NULL AND consumed_at IS NULL AND revoked_at IS NULL
            WHEN 'REVOKED'  THEN revoked_at IS NOT NULL AND revoked_reason IS NOT NULL
                                 AND expired_at IS NULL
                                 AND (kind = 'PREMIUM_GRANT' OR consumed_at IS NOT NULL)
        END)
);
COMMENT ON TABLE promo.promo_redemptions IS
    'One use of a campaign by a user: APPLIED (premium granted) or RESERVED -> CONSUMED | EXPIRED; APPLIED/CONSUMED -> REVOKED.';
CREATE INDEX promo_redemptions_user_idx ON promo.promo_redemptions (promo_code_id, user_id);
CREATE INDEX promo_redemptions_reserved_idx ON promo.promo_redemptions (promo_code_id, reserved_until)
    WHERE status = 'RESERVED';
CREATE INDEX promo_redemptions_reserved_until_idx ON promo.promo_redemptions (reserved_until)
    WHERE status = 'RESERVED';

CREATE FUNCTION promo.guard_redemption_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (NEW.promo_code_id, NEW.slot_no, NEW.user_id, NEW.kind, NEW.created_at)
       IS DISTINCT FROM (OLD.promo_code_id, OLD.slot_no, OLD.user_id, OLD.kind, OLD.created_at) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', MESSAGE = 'redemption identity is immutable',
            DETAIL = format('redemption %s', OLD.promo_redemption_id);
    END IF;
    IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('RESERVED', 'CONSUMED'), ('RESERVED', 'EXPIRED'), ('APPLIED', 'REVOKED'), ('CONSUMED', 'REVOKED')) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', MESSAGE = 'forbidden redemption transition',
            DETAIL = format('redemption %s: %s -> %s', OLD.promo_redemption_id, OLD.status, NEW.status),
            HINT = 'RESERVED -> CONSUMED | EXPIRED; APPLIED | CONSUMED -> REVOKED.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION promo.guard_redemption_change() IS
    'Trigger: the redemption state machine and its immutable identity.';
CREATE TRIGGER promo_redemptions_guard
    BEFORE UPDATE ON promo.promo_redemptions
    FOR EACH ROW EXECUTE FUNCTION promo.guard_redemption_change();

-- Every redemption attempt, refused or not. The attempt that first answers a key ("binding")
-- also stores that answer, so this log is the idempotency store too.
CREATE TABLE promo.promo_attempts (
    attempt_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id              bigint NOT NULL,
    idempotency_key      text NOT NULL CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{8,128}$'),
    -- HMAC of the normalized input (or of the raw input, marked, when it did not normalize):
    -- lets a replay be matched to its request without keeping the code.
    request_hash         bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    outcome              text NOT NULL CHECK (outcome IN ('APPLIED', 'RESERVED', 'NOT_FOUND',
                             'NOT_STARTED', 'EXPIRED', 'PAUSED', 'DEPLETED', 'ALREADY_REDEEMED',
                             'THROTTLED', 'INVALID_CODE', 'IDEMPOTENCY_CONFLICT')),
    promo_code_id        bigint,
    promo_redemption_id  bigint,
    replayed             boolean NOT NULL DEFAULT false,
    counted              boolean NOT NULL DEFAULT false,
    binding              boolean GENERATED ALWAYS AS (
                             NOT replayed AND outcome NOT IN ('THROTTLED', 'IDEMPOTENCY_CONFLICT')) STORED,
    result               jsonb,
    created_at           timestamptz NOT NULL,
    CONSTRAINT promo_attempts_result_when_binding CHECK (binding = (result IS NOT NULL)),
    CONSTRAINT promo_attempts_counted_refusals CHECK (
        counted = (NOT replayed AND outcome NOT IN ('APPLIED', 'RESERVED', 'THROTTLED')))
);
COMMENT ON TABLE promo.promo_attempts IS
    'Every redemption attempt (never the code). Binding rows hold the answer for their idempotency key; counted rows feed the throttle.';
CREATE UNIQUE INDEX promo_attempts_key_idx ON promo.promo_attempts (idempotency_key) WHERE binding;
CREATE INDEX promo_attempts_counted_idx ON promo.promo_attempts (user_id, created_at) WHERE counted;
CREATE INDEX promo_attempts_campaign_idx ON promo.promo_attempts (promo_code_id, created_at)
    WHERE promo_code_id IS NOT NULL;
CREATE TRIGGER promo_attempts_append_only
    BEFORE UPDATE ON promo.promo_attempts
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();

CREATE TABLE promo.user_throttle (
    user_id         bigint PRIMARY KEY REFERENCES core.users (user_id),
    blocked_until   timestamptz,
    blocked_at      timestamptz,
    -- A support reset starts the count afresh: failures before it no longer count.
    counting_since  timestamptz,
    updated_at      timestamptz NOT NULL,
    CHECK ((blocked_until IS NULL) = (blocked_at IS NULL))
);
COMMENT ON TABLE promo.user_throttle IS
    'Per-user throttle state; the failures themselves are the counted rows of promo.promo_attempts.';

CREATE TYPE api.redeem_result AS (
    outcome              text,
    promo_redemption_id  bigint,
    promo_code_id        bigint,
    kind                 text,
    grant_days           integer,
    discount_percent     integer,
    reserved_until       timestamptz,
    premium_until        timestamptz,
    blocked_until        timestamptz,
    replayed             boolean
);
COMMENT ON TYPE api.redeem_result IS 'The answer of api.redeem_promo_code (DESIGN §5).';
