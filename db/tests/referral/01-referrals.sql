-- api.get_referral_code, api.register_referral, api.choose_referral_reward and the rewards a
-- referred user's first paid purchase creates.
BEGIN;
SELECT plan(54);

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-07-01 00:00:00+00';

-- User ids without 0 and 1, so a code (whose alphabet has 2-9) could in principle contain them.
-- A 5222 refers B 5223 and F 5227 and G 5228; B refers C 5224; D 5225, E 5226 (paid before),
-- X 5229 (a bystander).
SELECT api.touch_user(u, 'user' || u, 'User', 'de') FROM unnest(ARRAY[5222, 5223, 5224, 5225, 5226, 5227, 5228, 5229]) AS u;

CREATE TEMP TABLE codes (user_id bigint PRIMARY KEY, code text NOT NULL);
CREATE FUNCTION pg_temp.code(p_user bigint) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT code FROM codes WHERE user_id = p_user $$;
CREATE TEMP TABLE reg (label text PRIMARY KEY, outcome text, referrer_user_id bigint);
CREATE TEMP TABLE paid (label text PRIMARY KEY, purchase_id bigint, outcome text, referral_reward_id bigint,
                        referrer_user_id bigint);
CREATE FUNCTION pg_temp.pay(p_label text, p_user bigint, p_plan text, p_rid bigint DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v  record;
BEGIN
    SELECT * INTO v FROM api.init_purchase(p_user, p_plan, p_rid, 'init-' || p_label);
    INSERT INTO paid
    SELECT p_label, c.purchase_id, c.outcome, c.referral_reward_id, c.referrer_user_id
    FROM api.complete_purchase(p_user, v.invoice_payload, 'charge-' || p_label, 'XTR', v.price_stars) AS c;
    RETURN (SELECT outcome FROM paid WHERE label = p_label);
END
$$;
CREATE FUNCTION pg_temp.reward(p_referee bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT referral_reward_id FROM referral.rewards WHERE referee_user_id = p_referee $$;
CREATE TEMP TABLE ch (label text PRIMARY KEY, outcome text, choice text, premium_until timestamptz,
                      promo_redemption_id bigint, reserved_until timestamptz, replayed boolean);

-- ---------------------------------------------------------------------------------------------
-- get_referral_code
INSERT INTO codes SELECT u, api.get_referral_code(u) FROM unnest(ARRAY[5222, 5223, 5224, 5225, 5226, 5227, 5228]) AS u;
SELECT is_empty($$ SELECT user_id FROM codes WHERE code !~ '^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{10}$' $$,
                'a code is 10 characters of ABCDEFGHJKLMNPQRSTUVWXYZ23456789');
SELECT is(api.get_referral_code(5222), pg_temp.code(5222), 'the code is stable per user');
SELECT results_eq(
    $$ SELECT user_id, code, created_at FROM referral.codes WHERE user_id = 5222 $$,
    $$ VALUES (5222::bigint, pg_temp.code(5222), '2030-07-01 00:00:00+00'::timestamptz) $$,
    'it is stored once, when first asked for');
SELECT is((SELECT count(DISTINCT code) FROM codes), 7::bigint, 'different users have different codes');
SELECT is_empty($$ SELECT user_id FROM codes WHERE strpos(code, user_id::text) > 0 $$,
                'no code contains its user''s id');
SELECT matches(api.get_referral_code(5299), '^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{10}$',
               'an unknown user gets a code');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 5299), 1::bigint, 'and is created');
SELECT throws_ok($$ SELECT api.get_referral_code(0) $$, 'SP422', 'invalid argument p_user_id',
                 'get_referral_code refuses a bad user id');

-- ---------------------------------------------------------------------------------------------
-- register_referral
INSERT INTO reg SELECT 'B by A', * FROM api.register_referral(5223, pg_temp.code(5222));
SELECT results_eq($$ SELECT outcome, referrer_user_id FROM reg WHERE label = 'B by A' $$,
                  $$ VALUES ('REGISTERED', 5222::bigint) $$, 'a valid code is REGISTERED with its referrer');
SELECT results_eq(
    $$ SELECT referee_user_id, referrer_user_id, created_at FROM referral.referrals $$,
    $$ VALUES (5223::bigint, 5222::bigint, '2030-07-01 00:00:00+00'::timestamptz) $$,
    'the referral is stored');
INSERT INTO reg SELECT 'C by B', * FROM api.register_referral(5224, '  ' || lower(pg_temp.code(5223)) || '  ');
SELECT results_eq($$ SELECT outcome, referrer_user_id FROM reg WHERE label = 'C by B' $$,
                  $$ VALUES ('REGISTERED', 5223::bigint) $$, 'the code is matched case-insensitively and trimmed');
INSERT INTO reg SELECT 'garbage', * FROM api.register_referral(5225, 'garbage!');
INSERT INTO reg SELECT 'null', * FROM api.register_referral(5225, NULL);
INSERT INTO reg SELECT 'empty', * FROM api.register_referral(5225, '');
INSERT INTO reg SELECT 'unissued', * FROM api.register_referral(5225, 'ABCDEFGHJK');
SELECT results_eq(
    $$ SELECT label, outcome, referrer_user_id FROM reg WHERE label IN ('garbage', 'null', 'empty', 'unissued')
       ORDER BY label $$,
    $$ VALUES ('empty', 'UNKNOWN_CODE', NULL::bigint), ('garbage', 'UNKNOWN_CODE', NULL::bigint),
              ('null', 'UNKNOWN_CODE', NULL::bigint), ('unissued', 'UNKNOWN_CODE', NULL::bigint) $$,
    'garbage, NULL, empty and unissued codes are UNKNOWN_CODE');
SELECT results_eq($$ SELECT outcome, referrer_user_id FROM api.register_referral(5222, pg_temp.code(5222)) $$,
                  $$ VALUES ('SELF_REFERRAL', NULL::bigint) $$, 'one''s own code is SELF_REFERRAL');
SELECT results_eq($$ SELECT outcome, referrer_user_id FROM api.register_referral(5223, pg_temp.code(5225)) $$,
                  $$ VALUES ('ALREADY_REFERRED', 5222::bigint) $$,
                  'a referred user is ALREADY_REFERRED, answered with the existing referrer');
SELECT results_eq($$ SELECT outcome, referrer_user_id FROM api.register_referral(5223, pg_temp.code(5222)) $$,
                  $$ VALUES ('ALREADY_REFERRED', 5222::bigint) $$, 'also with the same referrer''s code again');
SELECT is(pg_temp.pay('e-first', 5226, 'premium_30d'), 'PAID', 'user E paid before being referred');
SELECT results_eq($$ SELECT outcome, referrer_user_id FROM api.register_referral(5226, pg_temp.code(5222)) $$,
                  $$ VALUES ('ALREADY_PAID', NULL::bigint) $$, 'a user who has paid before is ALREADY_PAID');
SELECT results_eq($$ SELECT outcome, referrer_user_id FROM api.register_referral(5222, pg_temp.code(5224)) $$,
                  $$ VALUES ('CYCLE', NULL::bigint) $$, 'A refers B, B refers C: C referring A is a CYCLE');
SELECT results_eq($$ SELECT outcome, referrer_user_id FROM api.register_referral(5222, pg_temp.code(5223)) $$,
                  $$ VALUES ('CYCLE', NULL::bigint) $$, 'and B referring A is one too');
SELECT results_eq(
    $$ SELECT referee_user_id, referrer_user_id FROM referral.referrals ORDER BY referee_user_id $$,
    $$ VALUES (5223::bigint, 5222::bigint), (5224::bigint, 5223::bigint) $$,
    'refusals store nothing; the first referral wins');
SELECT throws_ok($$ SELECT * FROM api.register_referral(0, pg_temp.code(5222)) $$, 'SP422',
                 'invalid argument p_user_id', 'register_referral refuses a bad user id');

-- ---------------------------------------------------------------------------------------------
-- Rewards
SELECT is((SELECT outcome FROM api.register_referral(5227, pg_temp.code(5222))), 'REGISTERED', 'A refers F');
SELECT is((SELECT outcome FROM api.register_referral(5228, pg_temp.code(5222))), 'REGISTERED', 'A refers G');
SELECT is(pg_temp.pay('b-first', 5223, 'premium_30d'), 'PAID', 'B pays a first purchase');
SELECT results_eq(
    $$ SELECT p.referral_reward_id, p.referrer_user_id, rw.referee_user_id, rw.purchase_id, rw.status
       FROM paid AS p JOIN referral.rewards AS rw USING (referral_reward_id) WHERE p.label = 'b-first' $$,
    $$ SELECT pg_temp.reward(5223), 5222::bigint, 5223::bigint, purchase_id, 'OFFERED' FROM paid WHERE label = 'b-first' $$,
    'which offers A a reward');
SELECT is(pg_temp.pay('c-first', 5224, 'premium_30d'), 'PAID', 'C pays a first purchase (a reward for B)');
SELECT is(pg_temp.pay('f-first', 5227, 'premium_30d'), 'PAID', 'F pays a first purchase (a reward for A)');
SELECT is(pg_temp.pay('g-first', 5228, 'premium_30d'), 'PAID', 'G pays a first purchase (a reward for A)');

SELECT throws_ok($$ SELECT * FROM api.choose_referral_reward(5222, pg_temp.reward(5223), 'STARS') $$,
                 'SP422', 'invalid argument p_choice', 'an unknown choice is refused');
SELECT throws_ok($$ SELECT * FROM api.choose_referral_reward(5222, pg_temp.reward(5223), NULL) $$,
                 'SP422', 'invalid argument p_choice', 'a missing choice is refused');
SELECT throws_ok($$ SELECT * FROM api.choose_referral_reward(0, pg_temp.reward(5223), 'PREMIUM_DAYS') $$,
                 'SP422', 'invalid argument p_user_id', 'a bad user id is refused');
INSERT INTO ch SELECT 'not found', * FROM api.choose_referral_reward(5222, 999999999, 'PREMIUM_DAYS');
INSERT INTO ch SELECT 'referee', * FROM api.choose_referral_reward(5223, pg_temp.reward(5223), 'PREMIUM_DAYS');
INSERT INTO ch SELECT 'bystander', * FROM api.choose_referral_reward(5229, pg_temp.reward(5223), 'DISCOUNT');
SELECT results_eq(
    $$ SELECT label, outcome, choice, premium_until, promo_redemption_id, reserved_until, replayed FROM ch ORDER BY label $$,
    $$ VALUES ('bystander', 'NOT_YOURS', NULL::text, NULL::timestamptz, NULL::bigint, NULL::timestamptz, false),
              ('not found', 'NOT_FOUND', NULL::text, NULL::timestamptz, NULL::bigint, NULL::timestamptz, false),
              ('referee', 'NOT_YOURS', NULL::text, NULL::timestamptz, NULL::bigint, NULL::timestamptz, false) $$,
    'NOT_FOUND for an unknown reward; NOT_YOURS for the referee and for anyone but the referrer');
SELECT is((SELECT status FROM referral.rewards WHERE referral_reward_id = pg_temp.reward(5223)), 'OFFERED',
          'the reward is still OFFERED');

-- PREMIUM_DAYS.
UPDATE ops.clock SET frozen_at = '2030-07-01 01:00:00+00';
INSERT INTO ch SELECT 'days', * FROM api.choose_referral_reward(5222, pg_temp.reward(5223), 'PREMIUM_DAYS');
SELECT results_eq(
    $$ SELECT outcome, choice, premium_until, promo_redemption_id, reserved_until, replayed FROM ch WHERE label = 'days' $$,
    $$ VALUES ('CHOSEN', 'PREMIUM_DAYS', '2030-07-08 01:00:00+00'::timestamptz, NULL::bigint, NULL::timestamptz, false) $$,
    'PREMIUM_DAYS is CHOSEN: 7 days from now');
SELECT results_eq(
    $$ SELECT kind, ref_type, ref_id, stars_delta, premium_days_delta, premium_until_after, actor
       FROM billing.ledger WHERE user_id = 5222 $$,
    $$ VALUES ('REFERRAL_PREMIUM', 'referral_reward', pg_temp.reward(5223), 0, 7,
               '2030-07-08 01:00:00+00'::timestamptz, 'referral') $$,
    'booked as REFERRAL_PREMIUM referencing the reward');
SELECT results_eq(
    $$ SELECT status, choice, chosen_at, premium_until, promo_redemption_id FROM referral.rewards
       WHERE referral_reward_id = pg_temp.reward(5223) $$,
    $$ VALUES ('CHOSEN', 'PREMIUM_DAYS', '2030-07-01 01:00:00+00'::timestamptz, '2030-07-08 01:00:00+00'::timestamptz,
               NULL::bigint) $$,
    'the reward records the choice');
INSERT INTO ch SELECT 'days replay', * FROM api.choose_referral_reward(5222, pg_temp.reward(5223), 'PREMIUM_DAYS');
INSERT INTO ch SELECT 'days then discount', * FROM api.choose_referral_reward(5222, pg_temp.reward(5223), 'DISCOUNT');
SELECT results_eq(
    $$ SELECT label, outcome, choice, premium_until, promo_redemption_id, replayed FROM ch
       WHERE label IN ('days replay', 'days then discount') ORDER BY label $$,
    $$ VALUES ('days replay', 'CHOSEN', 'PREMIUM_DAYS', '2030-07-08 01:00:00+00'::timestamptz, NULL::bigint, true),
              ('days then discount', 'CHOSEN', 'PREMIUM_DAYS', '2030-07-08 01:00:00+00'::timestamptz, NULL::bigint, true) $$,
    'a replay or a second choice returns the first choice with replayed = true');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.ledger WHERE user_id = 5222),
              (SELECT count(*) FROM promo.promo_redemptions WHERE user_id = 5222) $$,
    $$ VALUES (1::bigint, 0::bigint) $$, 'and grants nothing more');
SELECT is((SELECT changed FROM api.set_setting('referral.reward_premium_days', '14', 'test', 'generous month')), true,
          'referral.reward_premium_days is set to 14');
SELECT is((SELECT premium_until FROM api.choose_referral_reward(5222, pg_temp.reward(5227), 'PREMIUM_DAYS')),
          '2030-07-22 01:00:00+00'::timestamptz, 'the days follow the setting (14 days after the 7 already granted)');
SELECT is((SELECT changed FROM api.set_setting('referral.reward_premium_days', '7', 'test', 'back')), true,
          'and back to 7');

-- CANCELLED: the referee's purchase was refunded before the choice.
SELECT is((SELECT outcome FROM api.mark_purchase_refunded('charge-g-first', 'support:anna', 'chargeback')), 'REFUNDED',
          'G''s purchase is refunded');
INSERT INTO ch SELECT 'cancelled', * FROM api.choose_referral_reward(5222, pg_temp.reward(5228), 'PREMIUM_DAYS');
SELECT results_eq(
    $$ SELECT outcome, choice, premium_until, promo_redemption_id, replayed FROM ch WHERE label = 'cancelled' $$,
    $$ VALUES ('CANCELLED', NULL::text, NULL::timestamptz, NULL::bigint, false) $$,
    'a reward cancelled by a refund is CANCELLED');
SELECT results_eq(
    $$ SELECT (SELECT status FROM referral.rewards WHERE referral_reward_id = pg_temp.reward(5228)),
              (SELECT count(*) FROM billing.ledger WHERE user_id = 5222) $$,
    $$ VALUES ('CANCELLED', 2::bigint) $$, 'and grants nothing');

-- DISCOUNT.
INSERT INTO ch SELECT 'discount', * FROM api.choose_referral_reward(5223, pg_temp.reward(5224), 'DISCOUNT');
SELECT results_eq(
    $$ SELECT outcome, choice, premium_until, promo_redemption_id IS NOT NULL, reserved_until, replayed
       FROM ch WHERE label = 'discount' $$,
    $$ VALUES ('CHOSEN', 'DISCOUNT', NULL::timestamptz, true, '2030-07-31 01:00:00+00'::timestamptz, false) $$,
    'DISCOUNT is CHOSEN: a reservation valid 30 days');
SELECT results_eq(
    $$ SELECT r.promo_code_id, r.user_id, r.kind, r.status, r.reserved_until, c.discount_percent, s.held
       FROM promo.promo_redemptions AS r JOIN promo.promo_codes AS c USING (promo_code_id)
       JOIN promo.capacity_slots AS s USING (promo_code_id, slot_no)
       WHERE r.promo_redemption_id = (SELECT promo_redemption_id FROM ch WHERE label = 'discount') $$,
    $$ VALUES (referral.discount_campaign_id(), 5223::bigint, 'PERCENT_DISCOUNT', 'RESERVED',
               '2030-07-31 01:00:00+00'::timestamptz, 30, 1) $$,
    'a RESERVED 30 % discount of the referral campaign, holding a unit');
SELECT results_eq(
    $$ SELECT status, choice, promo_redemption_id FROM referral.rewards WHERE referral_reward_id = pg_temp.reward(5224) $$,
    $$ SELECT 'CHOSEN', 'DISCOUNT', promo_redemption_id FROM ch WHERE label = 'discount' $$,
    'the reward records the reservation');
INSERT INTO ch SELECT 'discount replay', * FROM api.choose_referral_reward(5223, pg_temp.reward(5224), 'PREMIUM_DAYS');
SELECT results_eq(
    $$ SELECT outcome, choice, promo_redemption_id, reserved_until, replayed FROM ch WHERE label = 'discount replay' $$,
    $$ SELECT outcome, choice, promo_redemption_id, reserved_until, true FROM ch WHERE label = 'discount' $$,
    'a second choice returns the DISCOUNT with replayed = true');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM promo.promo_redemptions WHERE user_id = 5223),
              (SELECT count(*) FROM billing.ledger WHERE user_id = 5223 AND kind = 'REFERRAL_PREMIUM') $$,
    $$ VALUES (1::bigint, 0::bigint) $$, 'and grants nothing more');

-- The discount works through the normal purchase flow, late in its 30 days.
UPDATE ops.clock SET frozen_at = '2030-07-31 00:59:59+00';
SELECT results_eq(
    $$ SELECT price_stars, base_price_stars, discount_percent
       FROM api.init_purchase(5223, 'premium_30d', (SELECT promo_redemption_id FROM ch WHERE label = 'discount'),
                              'init-b-discount') $$,
    $$ VALUES (175, 250, 30) $$,
    'the referral discount is usable in init_purchase: premium_30d 250 -> 175');
SELECT results_eq(
    $$ SELECT ok, refusal FROM api.precheckout_purchase(5223,
           (SELECT invoice_payload FROM billing.purchases WHERE idempotency_key = 'init-b-discount'), 'XTR', 175) $$,
    $$ VALUES (true, NULL::text) $$, 'pre-checkout at 175 Stars is ok');
SELECT results_eq(
    $$ SELECT outcome, referral_reward_id FROM api.complete_purchase(5223,
           (SELECT invoice_payload FROM billing.purchases WHERE idempotency_key = 'init-b-discount'),
           'charge-b-discount', 'XTR', 175) $$,
    $$ VALUES ('PAID', NULL::bigint) $$,
    'it is paid; a referee''s second paid purchase earns no new reward');
SELECT is((SELECT status FROM promo.promo_redemptions WHERE promo_redemption_id = (SELECT promo_redemption_id FROM ch WHERE label = 'discount')),
          'CONSUMED', 'and the referral reservation is CONSUMED');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the referral scenarios');

SELECT * FROM finish();
ROLLBACK;
