-- depends: 0030.support_idempotency
-- What a write costs (issue 15): PostgreSQL parses a table's CHECK expressions from their
-- stored node trees anew for every statement that writes the table (ExecRelCheck), about 25
-- instructions per character of the tree: 830,000 instructions of each redemption, a third of
-- it, went to the 24 CHECKs of the six tables it writes (callgrind, docs/benchmarks.md, "CHECK
-- constraints"). The long ones become one CHECK per table calling an IMMUTABLE PL/pgSQL
-- function, which is compiled once per connection; the rules are unchanged (NULL passes, as it
-- does a CHECK). The casting CHECKs of the vocabularies (status = status::<domain>) stay: they
-- are short and name their domain. Added NOT VALID, then validated, so existing rows are
-- checked without holding an exclusive lock for the scan.

CREATE FUNCTION promo.is_redemption_state(
    p_kind            text,
    p_status          text,
    p_reserved_until  timestamptz,
    p_consumed_at     timestamptz,
    p_expired_at      timestamptz,
    p_revoked_at      timestamptz,
    p_revoked_reason  text
)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    -- The body of a table CHECK (promo_redemptions_state). PL/pgSQL, not an expression in the
    -- CHECK itself: PostgreSQL parses a table's CHECK expressions anew for every statement that
    -- writes the table, a compiled function once per connection (docs/benchmarks.md, "CHECK
    -- constraints"). NULL, like a CHECK, passes.
    RETURN (p_kind <> 'PREMIUM_GRANT'
            OR (p_status IN ('APPLIED', 'REVOKED') AND p_reserved_until IS NULL
                AND p_consumed_at IS NULL AND p_expired_at IS NULL))
       AND (p_kind <> 'PERCENT_DISCOUNT'
            OR (p_status IN ('RESERVED', 'CONSUMED', 'EXPIRED', 'REVOKED') AND p_reserved_until IS NOT NULL))
       AND coalesce(char_length(p_revoked_reason) BETWEEN 1 AND 1000, true)
       AND CASE p_status
           WHEN 'APPLIED' THEN p_revoked_at IS NULL
           WHEN 'RESERVED' THEN p_consumed_at IS NULL AND p_expired_at IS NULL AND p_revoked_at IS NULL
           WHEN 'CONSUMED' THEN p_consumed_at IS NOT NULL AND p_expired_at IS NULL AND p_revoked_at IS NULL
           WHEN 'EXPIRED' THEN p_expired_at IS NOT NULL AND p_consumed_at IS NULL AND p_revoked_at IS NULL
           WHEN 'REVOKED' THEN p_revoked_at IS NOT NULL AND p_revoked_reason IS NOT NULL
                               AND p_expired_at IS NULL
                               AND (p_kind = 'PREMIUM_GRANT' OR p_consumed_at IS NOT NULL)
           END;
END
$$;
COMMENT ON FUNCTION promo.is_redemption_state(text, text, timestamptz, timestamptz, timestamptz, timestamptz, text) IS
    'The redemption state machine as a table CHECK: PREMIUM_GRANT is APPLIED or REVOKED with no reservation, PERCENT_DISCOUNT is RESERVED, CONSUMED, EXPIRED or REVOKED with its reservation time, each status with exactly its timestamps, a revocation with its reason (1-1000 characters).';

CREATE FUNCTION core.is_user_profile(
    p_username           text,
    p_first_name         text,
    p_language_code      text,
    p_terms_version      text,
    p_terms_accepted_at  timestamptz
)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    -- The body of a table CHECK (users_profile), compiled once per connection rather than
    -- parsed by every statement that writes core.users (promo.is_redemption_state says why).
    RETURN coalesce(p_username ~ '^[A-Za-z0-9_]{1,32}$', true)
       AND coalesce(char_length(p_first_name) BETWEEN 1 AND 64, true)
       AND coalesce(p_language_code ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$', true)
       AND coalesce(p_terms_version ~ '^[A-Za-z0-9._-]{1,16}$', true)
       AND (p_terms_version IS NULL) = (p_terms_accepted_at IS NULL);
END
$$;
COMMENT ON FUNCTION core.is_user_profile(text, text, text, text, timestamptz) IS
    'A user''s profile as a table CHECK: username 1-32 of A-Za-z0-9_, first name 1-64 characters, a BCP 47 language tag, terms version 1-16 of A-Za-z0-9._- accepted together with its time; NULLs allowed.';

CREATE FUNCTION billing.is_ledger_entry(
    p_actor               text,
    p_stars_delta         integer,
    p_premium_days_delta  integer
)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    -- The body of a table CHECK (ledger_entry), compiled once per connection rather than
    -- parsed by every statement that writes billing.ledger (promo.is_redemption_state says why).
    RETURN char_length(p_actor) BETWEEN 1 AND 128
       AND (p_stars_delta <> 0 OR p_premium_days_delta <> 0);
END
$$;
COMMENT ON FUNCTION billing.is_ledger_entry(text, integer, integer) IS
    'A ledger entry as a table CHECK: an actor of 1-128 characters and a change of stars or premium days.';

CREATE FUNCTION promo.is_slot_state(
    p_slot_no   smallint,
    p_capacity  integer,
    p_used      integer,
    p_held      integer
)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    -- The body of a table CHECK (capacity_slots_state), compiled once per connection rather
    -- than parsed by every statement that writes promo.capacity_slots (promo.is_redemption_state
    -- says why): each redemption moves a slot's counters.
    RETURN p_slot_no >= 0 AND coalesce(p_capacity > 0, true) AND p_used >= 0 AND p_held >= 0
       AND (p_capacity IS NULL OR p_used + p_held <= p_capacity);
END
$$;
COMMENT ON FUNCTION promo.is_slot_state(smallint, integer, integer, integer) IS
    'A capacity slot as a table CHECK: slot number from 0, capacity above 0 or none, used and held from 0 and together within the capacity.';

CREATE FUNCTION promo.is_attempt_record(
    p_counted       boolean,
    p_replayed      boolean,
    p_outcome       text,
    p_request_hash  bytea
)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    -- The body of a table CHECK (promo_attempts_record), compiled once per connection rather
    -- than parsed by every statement that writes promo.promo_attempts (promo.is_redemption_state
    -- says why).
    RETURN octet_length(p_request_hash) = 32
       AND (NOT p_counted OR (NOT p_replayed AND p_outcome NOT IN ('APPLIED', 'RESERVED', 'THROTTLED')));
END
$$;
COMMENT ON FUNCTION promo.is_attempt_record(boolean, boolean, text, bytea) IS
    'An attempt as a table CHECK: a 32-byte request hash; only a refusal that was not replayed counts for the throttle.';

ALTER TABLE promo.promo_redemptions
    DROP CONSTRAINT promo_redemptions_status_times,
    DROP CONSTRAINT promo_redemptions_grant_states,
    DROP CONSTRAINT promo_redemptions_discount_states,
    DROP CONSTRAINT promo_redemptions_revoked_reason_check,
    ADD CONSTRAINT promo_redemptions_state CHECK (promo.is_redemption_state(
        kind, status, reserved_until, consumed_at, expired_at, revoked_at, revoked_reason)) NOT VALID;
ALTER TABLE promo.promo_redemptions VALIDATE CONSTRAINT promo_redemptions_state;

ALTER TABLE core.users
    DROP CONSTRAINT users_username_check,
    DROP CONSTRAINT users_first_name_check,
    DROP CONSTRAINT users_language_code_check,
    DROP CONSTRAINT users_terms_version_check,
    DROP CONSTRAINT users_terms_together,
    ADD CONSTRAINT users_profile CHECK (core.is_user_profile(
        username, first_name, language_code, terms_version, terms_accepted_at)) NOT VALID;
ALTER TABLE core.users VALIDATE CONSTRAINT users_profile;

ALTER TABLE billing.ledger
    DROP CONSTRAINT ledger_actor_check,
    DROP CONSTRAINT ledger_check,
    ADD CONSTRAINT ledger_entry CHECK (billing.is_ledger_entry(actor, stars_delta, premium_days_delta)) NOT VALID;
ALTER TABLE billing.ledger VALIDATE CONSTRAINT ledger_entry;

ALTER TABLE promo.capacity_slots
    DROP CONSTRAINT capacity_slots_slot_no_check,
    DROP CONSTRAINT capacity_slots_capacity_check,
    DROP CONSTRAINT capacity_slots_used_check,
    DROP CONSTRAINT capacity_slots_held_check,
    DROP CONSTRAINT capacity_slots_within_capacity,
    ADD CONSTRAINT capacity_slots_state CHECK (promo.is_slot_state(slot_no, capacity, used, held)) NOT VALID;
ALTER TABLE promo.capacity_slots VALIDATE CONSTRAINT capacity_slots_state;

ALTER TABLE promo.promo_attempts
    DROP CONSTRAINT promo_attempts_counted_refusals,
    DROP CONSTRAINT promo_attempts_request_hash_check,
    ADD CONSTRAINT promo_attempts_record CHECK (promo.is_attempt_record(counted, replayed, outcome, request_hash)) NOT VALID;
ALTER TABLE promo.promo_attempts VALIDATE CONSTRAINT promo_attempts_record;
