-- api.mark_purchase_refunded and referral rewards: a refund cancels the referrer's OFFERED reward
-- and leaves a CHOSEN one, clawing nothing back.
BEGIN;
SELECT plan(8);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-06-01 00:00:00+00';

SELECT api.touch_user(u, 'user' || u, 'User', 'de') FROM generate_series(4102, 4104) AS u;

-- Setup on day 0: 4102 referred 4103 and 4104, who bought.
SELECT api.register_referral(4103, api.get_referral_code(4102));
SELECT api.register_referral(4104, api.get_referral_code(4102));
SELECT pg_temp.buy('p4103-30d', 4103, 'premium_30d');
SELECT pg_temp.buy('p4104-30d', 4104, 'premium_30d');
CREATE FUNCTION pg_temp.reward(p_referee bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT referral_reward_id FROM referral.rewards WHERE referee_user_id = p_referee $$;
SELECT is((SELECT outcome FROM api.choose_referral_reward(4102, pg_temp.reward(4104), 'PREMIUM_DAYS')), 'CHOSEN',
          'setup: the referrer chose PREMIUM_DAYS for the reward of 4104''s purchase');

UPDATE ops.clock SET frozen_at = '2030-06-02 00:00:00+00';
-- Referral rewards: an OFFERED one is cancelled, a CHOSEN one is left alone.
SELECT is((SELECT status FROM referral.rewards WHERE referral_reward_id = pg_temp.reward(4103)), 'OFFERED',
          'the reward of 4103''s purchase is OFFERED');
SELECT is((SELECT replayed FROM api.mark_purchase_refunded('charge-p4103-30d', 'support:anna', 'chargeback')), false,
          'refund 4103''s purchase');
SELECT results_eq(
    $$ SELECT status, cancelled_at, choice FROM referral.rewards WHERE referral_reward_id = pg_temp.reward(4103) $$,
    $$ VALUES ('CANCELLED', '2030-06-02 00:00:00+00'::timestamptz, NULL::text) $$,
    'a refund before the referrer chose cancels the OFFERED reward');
CREATE TEMP TABLE referrer_before AS
SELECT premium_until FROM billing.entitlements WHERE user_id = 4102;
SELECT is((SELECT replayed FROM api.mark_purchase_refunded('charge-p4104-30d', 'support:anna', 'chargeback')), false,
          'refund 4104''s purchase');
SELECT results_eq(
    $$ SELECT status, choice, cancelled_at FROM referral.rewards WHERE referral_reward_id = pg_temp.reward(4104) $$,
    $$ VALUES ('CHOSEN', 'PREMIUM_DAYS', NULL::timestamptz) $$,
    'a CHOSEN reward is left alone');
SELECT results_eq(
    $$ SELECT (SELECT premium_until FROM billing.entitlements WHERE user_id = 4102),
              (SELECT count(*) FROM billing.ledger WHERE user_id = 4102) $$,
    $$ SELECT premium_until, 1::bigint FROM referrer_before $$,
    'and nothing is clawed back from the referrer');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the refunds');

SELECT * FROM finish();
ROLLBACK;
