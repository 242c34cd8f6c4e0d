-- billing.post_ledger_entry (the grant helper), api.get_premium_status, api.adjust_premium_days.
BEGIN;
SELECT plan(38);

UPDATE ops.clock SET frozen_at = '2030-01-01 00:00:00+00';
SELECT api.touch_user(2001, 'ben', 'Ben', 'de');
SELECT api.touch_user(2002, 'cleo', 'Cleo', 'de');

-- Outcomes of the helper.
SELECT results_eq(
    $$ SELECT kind, ref_type, ref_id, stars_delta, premium_days_delta, premium_until_before,
              premium_until_after, actor, created_at
       FROM billing.post_ledger_entry(2001, 'PROMO_PREMIUM', 11, p_premium_days => 30) $$,
    $$ VALUES ('PROMO_PREMIUM', 'promo_redemption', 11::bigint, 0, 30, NULL::timestamptz,
               '2030-01-31 00:00:00+00'::timestamptz, 'system', '2030-01-01 00:00:00+00'::timestamptz) $$,
    'a first grant starts now and is booked with its cause');
SELECT is((SELECT premium_until FROM billing.entitlements WHERE user_id = 2001),
          '2030-01-31 00:00:00+00'::timestamptz, 'the entitlement moves with the ledger');

UPDATE ops.clock SET frozen_at = '2030-01-11 00:00:00+00';
SELECT is((billing.post_ledger_entry(2001, 'PURCHASE_PREMIUM', 21, p_premium_days => 90)).premium_until_after,
          '2030-05-01 00:00:00+00'::timestamptz, 'a grant during premium extends premium_until');

UPDATE ops.clock SET frozen_at = '2030-06-01 00:00:00+00';
SELECT is((billing.post_ledger_entry(2001, 'REFERRAL_PREMIUM', 31, p_premium_days => 7)).premium_until_after,
          '2030-06-08 00:00:00+00'::timestamptz, 'a grant after premium ran out starts now');

SELECT is((billing.post_ledger_entry(2001, 'REFUND_PREMIUM', 21, p_premium_days => -5)).premium_until_after,
          '2030-06-03 00:00:00+00'::timestamptz, 'a removal shortens premium_until');
SELECT results_eq(
    $$ SELECT stars_delta, premium_days_delta, premium_until_before, premium_until_after
       FROM billing.post_ledger_entry(2001, 'PURCHASE_PAYMENT', 21, p_stars => 600) $$,
    $$ VALUES (600, 0, '2030-06-03 00:00:00+00'::timestamptz, '2030-06-03 00:00:00+00'::timestamptz) $$,
    'a Stars-only entry leaves premium_until alone');
SELECT is((billing.post_ledger_entry(2001, 'REFUND_PAYMENT', 21, p_stars => -600)).stars_delta, -600,
          'a refund debits Stars');
SELECT is((SELECT count(*) FROM billing.ledger WHERE user_id = 2001), 6::bigint,
          'one ledger row per entry');

-- Refusals: each raises and books nothing.
SELECT throws_ok($$ SELECT billing.post_ledger_entry(2001, 'PROMO_PREMIUM', 11, p_premium_days => 30) $$,
                 'SP409', 'ledger entry already booked', 'the same cause is booked only once per kind');
SELECT throws_ok($$ SELECT billing.post_ledger_entry(2002, 'REFUND_PREMIUM', 99, p_premium_days => -1) $$,
                 'SP409', 'no premium to remove', 'days cannot be removed from a user who never had premium');
SELECT throws_ok($$ SELECT billing.post_ledger_entry(2001, 'BONUS', 1, p_premium_days => 1) $$,
                 'SP422', 'invalid argument p_kind', 'an unknown kind is refused');
SELECT results_eq(
    $$ SELECT kind, ref_type, stars_sign::int, days_sign::int FROM billing.ledger_kinds() ORDER BY kind $$,
    $$ VALUES ('ADMIN_ADJUSTMENT', 'audit_log', 0, NULL::int),
              ('PROMO_PREMIUM', 'promo_redemption', 0, 1), ('PURCHASE_PAYMENT', 'purchase', 1, 0),
              ('PURCHASE_PREMIUM', 'purchase', 0, 1), ('REFERRAL_PREMIUM', 'referral_reward', 0, 1),
              ('REFUND_PAYMENT', 'purchase', -1, 0), ('REFUND_PREMIUM', 'purchase', 0, -1) $$,
    'the ledger kinds, each with its cause and the signs it allows');
SELECT throws_ok($$ SELECT billing.post_ledger_entry(2001, 'PROMO_PREMIUM', 12, p_premium_days => -1) $$,
                 'SP422', 'invalid argument p_premium_days', 'a grant kind cannot remove days');
SELECT throws_ok($$ SELECT billing.post_ledger_entry(2001, 'PROMO_PREMIUM', 12, p_premium_days => 1, p_stars => 5) $$,
                 'SP422', 'invalid argument p_stars', 'a days-only kind cannot move Stars');
SELECT throws_ok($$ SELECT billing.post_ledger_entry(2001, 'PROMO_PREMIUM', 12) $$,
                 'SP422', 'invalid argument p_premium_days', 'an entry that moves nothing is refused');
SELECT throws_ok($$ SELECT billing.post_ledger_entry(2001, 'PROMO_PREMIUM', 0, p_premium_days => 1) $$,
                 'SP422', 'invalid argument p_ref_id', 'an entry without its cause is refused');
SELECT throws_ok($$ SELECT billing.post_ledger_entry(2999, 'PROMO_PREMIUM', 13, p_premium_days => 1) $$,
                 'SP404', 'user not found', 'an unknown user is refused');
SELECT is((SELECT count(*) FROM billing.ledger), 6::bigint, 'refusals booked nothing');

-- Append-only.
SELECT throws_ok($$ UPDATE billing.ledger SET stars_delta = 1000 $$, 'SP409',
                 'billing.ledger is append-only', 'the ledger refuses updates');
SELECT throws_ok($$ DELETE FROM billing.ledger $$, 'SP409', 'billing.ledger is append-only',
                 'the ledger refuses deletes');
SELECT throws_ok($$ TRUNCATE billing.ledger CASCADE $$, 'SP409', 'billing.ledger is append-only',
                 'the ledger refuses truncation');

-- api.get_premium_status, at the boundary.
UPDATE ops.clock SET frozen_at = '2030-06-02 23:59:59+00';
SELECT results_eq($$ SELECT user_id, is_premium, premium_until FROM api.get_premium_status(2001) $$,
                  $$ VALUES (2001::bigint, true, '2030-06-03 00:00:00+00'::timestamptz) $$,
                  'premium a second before premium_until');
UPDATE ops.clock SET frozen_at = '2030-06-03 00:00:00+00';
SELECT results_eq($$ SELECT is_premium FROM api.get_premium_status(2001) $$, $$ VALUES (false) $$,
                  'no longer premium at premium_until');
SELECT results_eq($$ SELECT is_premium, premium_until FROM api.get_premium_status(2002) $$,
                  $$ VALUES (false, NULL::timestamptz) $$, 'a user who never had premium');
SELECT results_eq($$ SELECT is_premium, premium_until FROM api.get_premium_status(2999) $$,
                  $$ VALUES (false, NULL::timestamptz) $$, 'an unknown user has no premium');
SELECT throws_ok($$ SELECT * FROM api.get_premium_status(0) $$, 'SP422',
                 'invalid argument p_user_id', 'get_premium_status refuses a bad user id');

-- api.adjust_premium_days.
SELECT results_eq(
    $$ SELECT premium_until FROM api.adjust_premium_days(2002, 14, 'support-jan', 'ticket #4711') $$,
    $$ VALUES ('2030-06-17 00:00:00+00'::timestamptz) $$, 'an operator grants days');
SELECT results_eq(
    $$ SELECT a.actor, a.action, a.target_id, a.reason, l.kind, l.premium_days_delta
       FROM ops.audit_log a JOIN billing.ledger l ON l.ref_type = 'audit_log' AND l.ref_id = a.audit_id
       WHERE l.user_id = 2002 $$,
    $$ VALUES ('support-jan', 'billing.premium_adjusted', '2002', 'ticket #4711', 'ADMIN_ADJUSTMENT', 14) $$,
    'the adjustment is audited and booked against its audit row');
SELECT results_eq($$ SELECT premium_until FROM api.adjust_premium_days(2002, -4, 'support-jan', 'typo') $$,
                  $$ VALUES ('2030-06-13 00:00:00+00'::timestamptz) $$, 'an operator removes days');
SELECT throws_ok($$ SELECT * FROM api.adjust_premium_days(2002, 0, 'support-jan', 'nothing') $$,
                 'SP422', 'invalid argument p_days', 'zero days is refused');
SELECT throws_ok($$ SELECT * FROM api.adjust_premium_days(2002, 3661, 'support-jan', 'too much') $$,
                 'SP422', 'invalid argument p_days', 'more than 3660 days is refused');
SELECT throws_ok($$ SELECT * FROM api.adjust_premium_days(2002, 1, 'support-jan', ' ') $$,
                 'SP422', 'invalid argument p_reason', 'an adjustment without a reason is refused');
SELECT throws_ok($$ SELECT * FROM api.adjust_premium_days(2002, 1, NULL, 'why') $$,
                 'SP422', 'invalid argument p_actor', 'an adjustment without an actor is refused');
SELECT throws_ok($$ SELECT * FROM api.adjust_premium_days(2999, 1, 'support-jan', 'who?') $$,
                 'SP404', 'user not found', 'an adjustment for an unknown user is refused');
SELECT throws_ok($$ SELECT * FROM api.adjust_premium_days(-1, 1, 'support-jan', 'who?') $$,
                 'SP422', 'invalid argument p_user_id', 'an adjustment for a bad user id is refused');
SELECT throws_ok($$ SELECT billing.post_ledger_entry(NULL, 'PROMO_PREMIUM', 14, p_premium_days => 1) $$,
                 'SP422', 'invalid argument p_user_id', 'the helper refuses a missing user id');
SELECT is((SELECT count(*) FROM ops.audit_log WHERE action = 'billing.premium_adjusted'), 2::bigint,
          'refused adjustments leave no audit row');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the scenario');

SELECT * FROM finish();
ROLLBACK;
