-- The table CHECKs that call a compiled function (migration 0034): each rule still refuses
-- what it refused as an expression, NULL still passes, and each table carries its CHECK.
BEGIN;
SELECT plan(30);

-- promo.promo_redemptions: the state machine.
SELECT ok(promo.is_redemption_state('PREMIUM_GRANT', 'APPLIED', NULL, NULL, NULL, NULL, NULL), 'an applied grant');
SELECT ok(promo.is_redemption_state('PREMIUM_GRANT', 'REVOKED', NULL, NULL, NULL, now(), 'refund'), 'a revoked grant');
SELECT ok(promo.is_redemption_state('PERCENT_DISCOUNT', 'RESERVED', now(), NULL, NULL, NULL, NULL), 'a reservation');
SELECT ok(promo.is_redemption_state('PERCENT_DISCOUNT', 'CONSUMED', now(), now(), NULL, NULL, NULL), 'a consumed discount');
SELECT ok(promo.is_redemption_state('PERCENT_DISCOUNT', 'EXPIRED', now(), NULL, now(), NULL, NULL), 'an expired reservation');
SELECT ok(promo.is_redemption_state('PERCENT_DISCOUNT', 'REVOKED', now(), now(), NULL, now(), 'refund'), 'a revoked discount');
SELECT ok(NOT promo.is_redemption_state('PREMIUM_GRANT', 'RESERVED', now(), NULL, NULL, NULL, NULL), 'a grant is never reserved');
SELECT ok(NOT promo.is_redemption_state('PREMIUM_GRANT', 'APPLIED', now(), NULL, NULL, NULL, NULL), 'a grant has no reservation time');
SELECT ok(NOT promo.is_redemption_state('PERCENT_DISCOUNT', 'RESERVED', NULL, NULL, NULL, NULL, NULL), 'a discount has its reservation time');
SELECT ok(NOT promo.is_redemption_state('PERCENT_DISCOUNT', 'CONSUMED', now(), NULL, NULL, NULL, NULL), 'consumed without its time');
SELECT ok(NOT promo.is_redemption_state('PERCENT_DISCOUNT', 'EXPIRED', now(), now(), now(), NULL, NULL), 'expired but consumed');
SELECT ok(NOT promo.is_redemption_state('PREMIUM_GRANT', 'REVOKED', NULL, NULL, NULL, now(), NULL), 'revoked without a reason');
SELECT ok(NOT promo.is_redemption_state('PERCENT_DISCOUNT', 'REVOKED', now(), NULL, NULL, now(), 'refund'), 'a discount revoked before use');
SELECT ok(NOT promo.is_redemption_state('PREMIUM_GRANT', 'REVOKED', NULL, NULL, NULL, now(), ''), 'an empty reason');
SELECT ok(NOT promo.is_redemption_state('PREMIUM_GRANT', 'APPLIED', NULL, NULL, NULL, now(), NULL), 'applied yet revoked');

-- core.users: the profile.
SELECT ok(core.is_user_profile(NULL, NULL, NULL, NULL, NULL), 'a user without a profile');
SELECT ok(core.is_user_profile('anna_b', 'Anna', 'de-AT', 'v1.2', now()), 'a full profile');
SELECT ok(NOT core.is_user_profile('anna b', NULL, NULL, NULL, NULL), 'a username with a space');
SELECT ok(NOT core.is_user_profile(NULL, '', NULL, NULL, NULL), 'an empty first name');
SELECT ok(NOT core.is_user_profile(NULL, NULL, 'deutsch', NULL, NULL), 'a language that is no tag');
SELECT ok(NOT core.is_user_profile(NULL, NULL, NULL, 'v1', NULL), 'terms without the time they were accepted');

-- billing.ledger, promo.capacity_slots, promo.promo_attempts.
SELECT ok(NOT billing.is_ledger_entry('', 5, 0), 'a ledger entry without an actor');
SELECT ok(NOT billing.is_ledger_entry('ops', 0, 0), 'a ledger entry that changes nothing');
SELECT ok(NOT promo.is_slot_state(0::smallint, 2, 2, 1), 'a slot over its capacity');
SELECT ok(NOT promo.is_slot_state(0::smallint, NULL, -1, 0), 'a negative count');
SELECT ok(promo.is_slot_state(3::smallint, NULL, 500, 7), 'an unbounded slot');
SELECT ok(NOT promo.is_attempt_record(true, false, 'APPLIED', sha256('x')), 'a success is never counted');
SELECT ok(NOT promo.is_attempt_record(false, false, 'NOT_FOUND', '\x00'::bytea), 'a request hash of the wrong size');

-- The tables call them, and refuse a row that breaks a rule (23514).
SELECT is(ARRAY(SELECT conname::text FROM pg_constraint
                WHERE contype = 'c' AND pg_get_constraintdef(oid) ~ '\.is_(redemption_state|user_profile|ledger_entry|slot_state|attempt_record)\('
                ORDER BY 1),
          ARRAY['capacity_slots_state', 'ledger_entry', 'promo_attempts_record', 'promo_redemptions_state', 'users_profile'],
          'each table carries its CHECK');
SELECT throws_ok($$ INSERT INTO core.users (user_id, created_at, updated_at, last_seen_at, username)
                    VALUES (424242, now(), now(), now(), 'no spaces allowed') $$,
                 '23514', NULL, 'core.users refuses a bad username');

SELECT * FROM finish();
ROLLBACK;
