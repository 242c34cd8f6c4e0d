-- The order of outcomes, statuses written by jobs, per_user_limit > 1, premium extension,
-- conflicts during a block, and the bounds added after review.
BEGIN;
SELECT plan(16);
SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-06-01 00:00:00+00';

CREATE TEMP TABLE c (name text PRIMARY KEY, id bigint);
INSERT INTO c VALUES
    ('later',  api.create_promo_code('ORDER-LATER-01', 'PREMIUM_GRANT', 'later', p_grant_days => 1,
                                     p_starts_at => '2030-07-01')),
    ('ended',  api.create_promo_code('ORDER-ENDED-01', 'PREMIUM_GRANT', 'ended', p_grant_days => 1)),
    ('full',   api.create_promo_code('ORDER-FULL-01', 'PREMIUM_GRANT', 'full', p_grant_days => 1, p_max_uses => 1)),
    ('marked', api.create_promo_code('ORDER-MARKED-01', 'PREMIUM_GRANT', 'marked', p_grant_days => 1, p_max_uses => 1)),
    ('twice',  api.create_promo_code('ORDER-TWICE-01', 'PREMIUM_GRANT', 'twice', p_grant_days => 10,
                                     p_max_uses => 10, p_per_user_limit => 2));

-- A campaign both paused and not yet started answers NOT_STARTED (the documented order).
UPDATE promo.promo_codes SET status = 'PAUSED', paused_at = '2030-06-01', paused_reason = 'x'
WHERE promo_code_id = (SELECT id FROM c WHERE name = 'later');
SELECT is((api.redeem_promo_code(6001, 'ORDER-LATER-01', 'key-6001-a')).outcome, 'NOT_STARTED',
          'paused and not started: NOT_STARTED comes first');

-- Statuses written by the jobs.
UPDATE promo.promo_codes SET status = 'EXPIRED', expired_at = '2030-06-01'
WHERE promo_code_id = (SELECT id FROM c WHERE name = 'ended');
SELECT is((api.redeem_promo_code(6002, 'ORDER-ENDED-01', 'key-6002-a')).outcome, 'EXPIRED',
          'a campaign the rollover job marked EXPIRED');
SELECT is((api.redeem_promo_code(6002, 'ORDER-MARKED-01', 'key-6002-b')).outcome, 'APPLIED',
          'the single use of a campaign');
UPDATE promo.promo_codes SET status = 'DEPLETED', depleted_at = '2030-06-01'
WHERE promo_code_id = (SELECT id FROM c WHERE name = 'marked');
SELECT is((api.redeem_promo_code(6003, 'ORDER-MARKED-01', 'key-6003-a')).outcome, 'DEPLETED',
          'a campaign the rollover job marked DEPLETED');

-- A repeat attempt on a full campaign is DEPLETED, before and after the rollover job.
SELECT is((api.redeem_promo_code(6004, 'ORDER-FULL-01', 'key-6004-a')).outcome, 'APPLIED',
          'the last unit');
SELECT is((api.redeem_promo_code(6004, 'ORDER-FULL-01', 'key-6004-b')).outcome, 'DEPLETED',
          'the same user again on the full campaign: DEPLETED comes before ALREADY_REDEEMED');

-- per_user_limit 2, and a grant during premium extends it.
UPDATE ops.clock SET frozen_at = '2030-06-02 00:00:00+00';
SELECT is((api.redeem_promo_code(6005, 'ORDER-TWICE-01', 'key-6005-a')).premium_until,
          '2030-06-12 00:00:00+00'::timestamptz, 'the first use grants 10 days from now');
UPDATE ops.clock SET frozen_at = '2030-06-05 00:00:00+00';
SELECT is((api.redeem_promo_code(6005, 'ORDER-TWICE-01', 'key-6005-b')).premium_until,
          '2030-06-22 00:00:00+00'::timestamptz, 'the second use extends from premium_until, not from now');
SELECT is((api.redeem_promo_code(6005, 'ORDER-TWICE-01', 'key-6005-c')).outcome, 'ALREADY_REDEEMED',
          'a third use is over the per-user limit of 2');

-- A key conflict while blocked: IDEMPOTENCY_CONFLICT, not counted, block not extended.
SELECT api.redeem_promo_code(6006, 'ORDER-NOPE-' || i, 'key-6006-' || i) FROM generate_series(1, 5) AS i;
SELECT is((api.redeem_promo_code(6006, 'ORDER-TWICE-01', 'key-6005-a')).outcome, 'IDEMPOTENCY_CONFLICT',
          'a blocked user reusing another user''s key gets IDEMPOTENCY_CONFLICT');
SELECT results_eq(
    $$ SELECT blocked_until, failures_in_window FROM api.get_promo_throttle(6006) $$,
    $$ VALUES ('2030-06-05 01:00:00+00'::timestamptz, 5::bigint) $$,
    'which is not counted and does not extend the block');

-- Bounds added after review.
SELECT throws_ok($$ SELECT * FROM api.redeem_promo_code(9007199254740992, 'ORDER-TWICE-01', 'key-6007-a') $$,
                 'SP422', 'invalid argument p_user_id', 'a user id beyond 2^53-1 is refused');
SELECT throws_ok($$ SELECT api.create_promo_code('HERBST2030', 'PREMIUM_GRANT', 'Aktion herbst-2030',
                                                  p_grant_days => 1) $$,
                 'SP422', 'invalid argument p_campaign', 'a campaign name that contains the code is refused');

-- A reset restarts the count after the last attempt it saw, even within the same instant.
SELECT is((SELECT changed FROM api.reset_promo_throttle(6006, 'support-jan', 'ticket 7')), true,
          'support unblocks the user');
SELECT api.redeem_promo_code(6006, 'ORDER-NOPE-AGAIN', 'key-6006-after');
SELECT is((SELECT failures_in_window FROM api.get_promo_throttle(6006)), 1::bigint,
          'a failure right after the reset (same clock instant) is the first of a new count');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the scenario');
SELECT * FROM finish();
ROLLBACK;
