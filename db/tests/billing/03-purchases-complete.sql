-- api.complete_purchase: every outcome (PAID, MISMATCH, UNKNOWN_PURCHASE, DUPLICATE,
-- IDEMPOTENCY_CONFLICT, replays), live, run-out and released reservations, late payments,
-- referral rewards, contract violations. Goes on from the purchases and pre-checkouts of
-- 03-purchases-init.sql and 03-purchases-precheckout.sql (replayed by the two .psql files).
BEGIN;
SELECT plan(58);
\ir ../helpers.psql
\ir purchases.psql
\ir purchases-opened.psql
\ir purchases-prechecked.psql

-- ---------------------------------------------------------------------------------------------
-- complete_purchase
UPDATE ops.clock SET frozen_at = '2030-05-01 00:20:00+00';
INSERT INTO paid SELECT 'plain 30d', * FROM api.complete_purchase(4001, pg_temp.payload('plain 30d'), 'charge-4001-30d', 'XTR', 250);
SELECT results_eq(
    $$ SELECT outcome, purchase_id, premium_until, referral_reward_id, referrer_user_id, replayed
       FROM paid WHERE label = 'plain 30d' $$,
    $$ VALUES ('PAID', pg_temp.pur_id('plain 30d'), '2030-05-31 00:20:00+00'::timestamptz, NULL::bigint,
               NULL::bigint, false) $$,
    'a matching payment is PAID and returns premium_until = now + 30 days');
SELECT results_eq(
    $$ SELECT status, paid_at, telegram_payment_charge_id, prechecked_at
       FROM billing.purchases WHERE purchase_id = pg_temp.pur_id('plain 30d') $$,
    $$ VALUES ('PAID', '2030-05-01 00:20:00+00'::timestamptz, 'charge-4001-30d',
               '2030-05-01 00:01:00+00'::timestamptz) $$,
    'the purchase is PAID with paid_at and the charge id');
SELECT results_eq(
    $$ SELECT kind, ref_type, ref_id, stars_delta, premium_days_delta, premium_until_after, actor
       FROM billing.ledger WHERE user_id = 4001 ORDER BY ledger_id $$,
    $$ VALUES ('PURCHASE_PAYMENT', 'purchase', pg_temp.pur_id('plain 30d'), 250, 0, NULL::timestamptz, 'telegram'),
              ('PURCHASE_PREMIUM', 'purchase', pg_temp.pur_id('plain 30d'), 0, 30,
               '2030-05-31 00:20:00+00'::timestamptz, 'telegram') $$,
    'ledger: PURCHASE_PAYMENT +250 Stars and PURCHASE_PREMIUM +30 days');
SELECT is((SELECT premium_until FROM billing.entitlements WHERE user_id = 4001),
          '2030-05-31 00:20:00+00'::timestamptz, 'the user is premium for 30 days');
SELECT results_eq(
    $$ SELECT user_id, invoice_payload, currency, total_amount, purchase_id, outcome, received_at
       FROM billing.payments WHERE telegram_payment_charge_id = 'charge-4001-30d' $$,
    $$ VALUES (4001::bigint, pg_temp.payload('plain 30d'), 'XTR', 250::bigint, pg_temp.pur_id('plain 30d'), 'PAID',
               '2030-05-01 00:20:00+00'::timestamptz) $$,
    'the payment is recorded in billing.payments');

-- With a live reservation.
INSERT INTO paid SELECT 'disc 90d', * FROM api.complete_purchase(4002, pg_temp.payload('disc 90d'), 'charge-4002-90d', 'XTR', 450);
SELECT results_eq(
    $$ SELECT outcome, premium_until, replayed FROM paid WHERE label = 'disc 90d' $$,
    $$ VALUES ('PAID', '2030-05-01 00:20:00+00'::timestamptz + 90 * interval '24 hours', false) $$,
    'a discounted purchase is PAID at its price');
SELECT results_eq(
    $$ SELECT r.status, r.consumed_at, s.used, s.held FROM promo.promo_redemptions AS r
       JOIN promo.capacity_slots AS s USING (promo_code_id, slot_no)
       WHERE r.promo_redemption_id = pg_temp.rid('r4002') $$,
    $$ VALUES ('CONSUMED', '2030-05-01 00:20:00+00'::timestamptz, 1, 0) $$,
    'its reservation is CONSUMED: the slot moves a unit from held to used');
SELECT results_eq(
    $$ SELECT kind, stars_delta, premium_days_delta FROM billing.ledger WHERE user_id = 4002 ORDER BY ledger_id $$,
    $$ VALUES ('PURCHASE_PAYMENT', 450, 0), ('PURCHASE_PREMIUM', 0, 90) $$,
    'the ledger books the discounted price');
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4002, 'premium_90d', pg_temp.rid('r4002'), 'init-4002-90d-c') $$,
                 'SP409', 'promo reservation not usable', 'a CONSUMED reservation is not usable');
SELECT results_eq(
    $$ SELECT ok, refusal FROM api.precheckout_purchase(4002, pg_temp.payload('disc 90d'), 'XTR', 450) $$,
    $$ VALUES (false, 'ALREADY_PAID') $$, 'precheckout of a paid purchase is ALREADY_PAID');

-- The hold ran out after pre-checkout, the expiry job has not run: still consumed.
INSERT INTO paid SELECT 'hold 30d', * FROM api.complete_purchase(4007, pg_temp.payload('hold 30d'), 'charge-4007-30d', 'XTR', 188);
SELECT results_eq(
    $$ SELECT p.outcome, r.status, s.used, s.held FROM paid AS p, promo.promo_redemptions AS r
       JOIN promo.capacity_slots AS s USING (promo_code_id, slot_no)
       WHERE p.label = 'hold 30d' AND r.promo_redemption_id = pg_temp.rid('r4007') $$,
    $$ VALUES ('PAID', 'CONSUMED', 1, 0) $$,
    'a reservation whose hold ran out after pre-checkout is still CONSUMED by the payment');

-- The expiry job released it first: PAID at the promised price, the reservation stays EXPIRED.
SELECT pg_temp.expire(pg_temp.rid('r4008'));
INSERT INTO paid SELECT 'lost 30d', * FROM api.complete_purchase(4008, pg_temp.payload('lost 30d'), 'charge-4008-30d', 'XTR', 188);
SELECT results_eq(
    $$ SELECT p.outcome, pu.status, r.status, s.used, s.held FROM paid AS p
       JOIN billing.purchases AS pu USING (purchase_id), promo.promo_redemptions AS r
       JOIN promo.capacity_slots AS s USING (promo_code_id, slot_no)
       WHERE p.label = 'lost 30d' AND r.promo_redemption_id = pg_temp.rid('r4008') $$,
    $$ VALUES ('PAID', 'PAID', 'EXPIRED', 0, 0) $$,
    'a payment for an EXPIRED reservation is still PAID; the reservation stays EXPIRED');
SELECT results_eq(
    $$ SELECT kind, stars_delta, premium_days_delta FROM billing.ledger WHERE user_id = 4008 ORDER BY ledger_id $$,
    $$ VALUES ('PURCHASE_PAYMENT', 188, 0), ('PURCHASE_PREMIUM', 0, 30) $$,
    'at the promised price');
SELECT results_eq(
    $$ SELECT event, severity, (details->>'purchase_id')::bigint, (details->>'promo_redemption_id')::bigint,
              details->>'redemption_status', state
       FROM ops.alert_outbox WHERE event = 'payments.reservation_lost' $$,
    $$ VALUES ('payments.reservation_lost', 'warning', pg_temp.pur_id('lost 30d'), pg_temp.rid('r4008'), 'EXPIRED',
               'pending') $$,
    'and operators are alerted: payments.reservation_lost');

-- Replays by charge id.
CREATE TEMP TABLE before_replay AS
SELECT (SELECT count(*) FROM billing.ledger) AS ledger, (SELECT count(*) FROM billing.payments) AS payments,
       (SELECT count(*) FROM ops.alert_outbox) AS alerts;
INSERT INTO paid SELECT 'replay 30d', * FROM api.complete_purchase(4001, pg_temp.payload('plain 30d'), 'charge-4001-30d', 'XTR', 250);
SELECT results_eq(
    $$ SELECT outcome, purchase_id, premium_until, referral_reward_id, referrer_user_id, replayed
       FROM paid WHERE label = 'replay 30d' $$,
    $$ SELECT outcome, purchase_id, premium_until, referral_reward_id, referrer_user_id, true
       FROM paid WHERE label = 'plain 30d' $$,
    'a replayed charge id returns the first result with replayed = true');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.ledger), (SELECT count(*) FROM billing.payments),
              (SELECT count(*) FROM ops.alert_outbox) $$,
    $$ SELECT ledger, payments, alerts FROM before_replay $$,
    'a replay books, records and alerts nothing');
-- Changed: a charge id seen with other details was SP409 charge_id_conflict; now it is the
-- outcome IDEMPOTENCY_CONFLICT, with a critical alert that commits with the answer.
INSERT INTO paid SELECT 'conflict amount', * FROM api.complete_purchase(4001, pg_temp.payload('plain 30d'), 'charge-4001-30d', 'XTR', 251);
INSERT INTO paid SELECT 'conflict user', * FROM api.complete_purchase(4002, pg_temp.payload('plain 30d'), 'charge-4001-30d', 'XTR', 250);
SELECT results_eq(
    $$ SELECT label, outcome, purchase_id, premium_until, referral_reward_id, referrer_user_id, replayed
       FROM paid WHERE label LIKE 'conflict %' ORDER BY label $$,
    $$ VALUES ('conflict amount', 'IDEMPOTENCY_CONFLICT', NULL::bigint, NULL::timestamptz, NULL::bigint, NULL::bigint, false),
              ('conflict user', 'IDEMPOTENCY_CONFLICT', NULL, NULL, NULL, NULL, false) $$,
    'the same charge id with another amount or from another user answers IDEMPOTENCY_CONFLICT');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.ledger), (SELECT count(*) FROM billing.payments) $$,
    $$ SELECT ledger, payments FROM before_replay $$,
    'a conflict books and records nothing');
SELECT results_eq(
    $$ SELECT event, severity, details->>'telegram_payment_charge_id', (details->>'total_amount')::bigint, state
       FROM ops.alert_outbox WHERE event = 'payments.charge_id_conflict' $$,
    $$ VALUES ('payments.charge_id_conflict', 'critical', 'charge-4001-30d', 251::bigint, 'pending') $$,
    'it raises one critical payments.charge_id_conflict alert (the second is deduplicated by charge id)');

-- MISMATCH: recorded, flagged, nothing booked.
INSERT INTO paid SELECT 'mm amount', * FROM api.complete_purchase(4001, pg_temp.payload('plain 90d'), 'charge-mm-amount', 'XTR', 599);
INSERT INTO paid SELECT 'mm currency', * FROM api.complete_purchase(4001, pg_temp.payload('plain 90d'), 'charge-mm-currency', 'EUR', 600);
INSERT INTO paid SELECT 'mm user', * FROM api.complete_purchase(4002, pg_temp.payload('plain 90d'), 'charge-mm-user', 'XTR', 600);
SELECT results_eq(
    $$ SELECT label, outcome, purchase_id, premium_until, referral_reward_id, replayed
       FROM paid WHERE label LIKE 'mm %' ORDER BY label $$,
    $$ VALUES ('mm amount', 'MISMATCH', pg_temp.pur_id('plain 90d'), NULL::timestamptz, NULL::bigint, false),
              ('mm currency', 'MISMATCH', pg_temp.pur_id('plain 90d'), NULL::timestamptz, NULL::bigint, false),
              ('mm user', 'MISMATCH', pg_temp.pur_id('plain 90d'), NULL::timestamptz, NULL::bigint, false) $$,
    'a wrong amount, currency or user is a MISMATCH');
SELECT results_eq(
    $$ SELECT telegram_payment_charge_id, user_id, currency, total_amount, purchase_id, outcome
       FROM billing.payments WHERE telegram_payment_charge_id LIKE 'charge-mm-%' ORDER BY payment_id $$,
    $$ VALUES ('charge-mm-amount', 4001::bigint, 'XTR', 599::bigint, pg_temp.pur_id('plain 90d'), 'MISMATCH'),
              ('charge-mm-currency', 4001::bigint, 'EUR', 600::bigint, pg_temp.pur_id('plain 90d'), 'MISMATCH'),
              ('charge-mm-user', 4002::bigint, 'XTR', 600::bigint, pg_temp.pur_id('plain 90d'), 'MISMATCH') $$,
    'each mismatched payment is recorded as it came');
SELECT results_eq(
    $$ SELECT status, telegram_payment_charge_id FROM billing.purchases WHERE purchase_id = pg_temp.pur_id('plain 90d') $$,
    $$ VALUES ('INIT', NULL::text) $$, 'the purchase is not paid');
SELECT is_empty($$ SELECT ledger_id FROM billing.ledger WHERE ref_type = 'purchase' AND ref_id = pg_temp.pur_id('plain 90d') $$,
                'nothing is booked for a mismatch');
SELECT results_eq(
    $$ SELECT event, severity, dedup_key, details->>'telegram_payment_charge_id', (details->>'expected_amount')::int
       FROM ops.alert_outbox WHERE event = 'payments.amount_mismatch' ORDER BY alert_id $$,
    $$ VALUES ('payments.amount_mismatch', 'critical', 'payments:' || md5('charge-mm-amount'), 'charge-mm-amount', 600),
              ('payments.amount_mismatch', 'critical', 'payments:' || md5('charge-mm-currency'), 'charge-mm-currency', 600),
              ('payments.amount_mismatch', 'critical', 'payments:' || md5('charge-mm-user'), 'charge-mm-user', 600) $$,
    'each mismatch raises a critical payments.amount_mismatch alert');
INSERT INTO paid SELECT 'plain 90d', * FROM api.complete_purchase(4001, pg_temp.payload('plain 90d'), 'charge-4001-90d', 'XTR', 600);
SELECT results_eq(
    $$ SELECT outcome, premium_until FROM paid WHERE label = 'plain 90d' $$,
    $$ VALUES ('PAID', '2030-05-31 00:20:00+00'::timestamptz + 90 * interval '24 hours') $$,
    'the matching payment still settles it, extending premium from premium_until');
INSERT INTO paid SELECT 'mm replay', * FROM api.complete_purchase(4001, pg_temp.payload('plain 90d'), 'charge-mm-amount', 'XTR', 599);
SELECT results_eq($$ SELECT outcome, replayed FROM paid WHERE label = 'mm replay' $$,
                  $$ VALUES ('MISMATCH', true) $$, 'a mismatch replays as the mismatch');

-- UNKNOWN_PURCHASE.
INSERT INTO paid SELECT 'unknown', * FROM api.complete_purchase(4090, 'no-such-payload-0000', 'charge-unknown', 'XTR', 250);
SELECT results_eq(
    $$ SELECT outcome, purchase_id, premium_until, replayed FROM paid WHERE label = 'unknown' $$,
    $$ VALUES ('UNKNOWN_PURCHASE', NULL::bigint, NULL::timestamptz, false) $$,
    'a payment for an unknown payload is UNKNOWN_PURCHASE');
SELECT results_eq(
    $$ SELECT p.user_id, p.invoice_payload, p.purchase_id, p.outcome, a.event, a.severity
       FROM billing.payments AS p JOIN ops.alert_outbox AS a ON a.dedup_key = 'payments:' || md5(p.telegram_payment_charge_id)
       WHERE p.telegram_payment_charge_id = 'charge-unknown' $$,
    $$ VALUES (4090::bigint, 'no-such-payload-0000', NULL::bigint, 'UNKNOWN_PURCHASE', 'payments.unknown_purchase',
               'critical') $$,
    'it is recorded and raises payments.unknown_purchase');
SELECT is_empty($$ SELECT ledger_id FROM billing.ledger WHERE user_id = 4090 $$, 'nothing is booked for it');

-- DUPLICATE: a second charge for a paid purchase.
INSERT INTO paid SELECT 'duplicate', * FROM api.complete_purchase(4001, pg_temp.payload('plain 30d'), 'charge-4001-30d-2', 'XTR', 250);
SELECT results_eq(
    $$ SELECT outcome, purchase_id, premium_until, replayed FROM paid WHERE label = 'duplicate' $$,
    $$ VALUES ('DUPLICATE', pg_temp.pur_id('plain 30d'), NULL::timestamptz, false) $$,
    'a second charge for a paid purchase is DUPLICATE');
SELECT results_eq(
    $$ SELECT p.purchase_id, p.outcome, a.event, a.severity
       FROM billing.payments AS p JOIN ops.alert_outbox AS a ON a.dedup_key = 'payments:' || md5(p.telegram_payment_charge_id)
       WHERE p.telegram_payment_charge_id = 'charge-4001-30d-2' $$,
    $$ VALUES (pg_temp.pur_id('plain 30d'), 'DUPLICATE', 'payments.duplicate_payment', 'critical') $$,
    'it is recorded and raises payments.duplicate_payment');
SELECT results_eq(
    $$ SELECT telegram_payment_charge_id, (SELECT count(*) FROM billing.ledger WHERE ref_type = 'purchase'
                                             AND ref_id = pg_temp.pur_id('plain 30d'))
       FROM billing.purchases WHERE purchase_id = pg_temp.pur_id('plain 30d') $$,
    $$ VALUES ('charge-4001-30d', 2::bigint) $$,
    'the purchase keeps its first charge id and nothing more is booked');

-- A late payment settles a cancelled purchase.
INSERT INTO paid SELECT 'cancel 30d', * FROM api.complete_purchase(4009, pg_temp.payload('cancel 30d'), 'charge-4009-30d', 'XTR', 250);
SELECT results_eq(
    $$ SELECT p.outcome, pu.status, pu.paid_at, pu.cancelled_at FROM paid AS p JOIN billing.purchases AS pu USING (purchase_id)
       WHERE p.label = 'cancel 30d' $$,
    $$ VALUES ('PAID', 'PAID', '2030-05-01 00:20:00+00'::timestamptz, '2030-05-01 00:02:00+00'::timestamptz) $$,
    'paying a CANCELLED purchase makes it PAID');
SELECT is((SELECT count(*) FROM billing.ledger WHERE user_id = 4009), 2::bigint, 'and books it');

-- A late payment of a cancelled purchase whose reservation another purchase has consumed since.
SELECT pg_temp.reserve('r4010', 4010, 'DISCOUNT-MAY-25');
INSERT INTO pur SELECT 'reuse A', * FROM api.init_purchase(4010, 'premium_30d', pg_temp.rid('r4010'), 'init-4010-a');
SELECT is((SELECT ok FROM api.precheckout_purchase(4010, pg_temp.payload('reuse A'), 'XTR', 188)), true,
          'purchase A passes pre-checkout');
UPDATE billing.purchases SET status = 'CANCELLED', cancelled_at = '2030-05-01 00:20:00+00'
WHERE purchase_id = pg_temp.pur_id('reuse A');
INSERT INTO pur SELECT 'reuse B', * FROM api.init_purchase(4010, 'premium_30d', pg_temp.rid('r4010'), 'init-4010-b');
SELECT isnt(pg_temp.pur_id('reuse B'), pg_temp.pur_id('reuse A'), 'after A was cancelled, its reservation backs a new purchase B');
SELECT is((SELECT outcome FROM api.complete_purchase(4010, pg_temp.payload('reuse B'), 'charge-4010-b', 'XTR', 188)),
          'PAID', 'B is paid and consumes the reservation');
SELECT lives_ok($$ SELECT * FROM api.complete_purchase(4010, pg_temp.payload('reuse A'), 'charge-4010-a', 'XTR', 188) $$,
                'a late payment for A (its reservation consumed by B) does not fail');
SELECT is((SELECT count(*) FROM billing.payments WHERE telegram_payment_charge_id = 'charge-4010-a'), 1::bigint,
          'and is recorded, never dropped');

-- A referred user's first paid purchase offers the referrer a reward; the second does not.
SELECT is((SELECT outcome FROM api.register_referral(4012, api.get_referral_code(4011))), 'REGISTERED',
          'user 4012 was referred by 4011');
INSERT INTO pur SELECT 'ref first', * FROM api.init_purchase(4012, 'premium_30d', NULL, 'init-4012-first');
INSERT INTO paid SELECT 'ref first', * FROM api.complete_purchase(4012, pg_temp.payload('ref first'), 'charge-4012-first', 'XTR', 250);
SELECT results_eq(
    $$ SELECT p.outcome, p.referrer_user_id, rw.referrer_user_id, rw.referee_user_id, rw.purchase_id, rw.status,
              rw.created_at
       FROM paid AS p JOIN referral.rewards AS rw ON rw.referral_reward_id = p.referral_reward_id
       WHERE p.label = 'ref first' $$,
    $$ VALUES ('PAID', 4011::bigint, 4011::bigint, 4012::bigint, pg_temp.pur_id('ref first'), 'OFFERED',
               '2030-05-01 00:20:00+00'::timestamptz) $$,
    'the first paid purchase of a referred user returns a reward OFFERED to the referrer');
INSERT INTO pur SELECT 'ref second', * FROM api.init_purchase(4012, 'premium_90d', NULL, 'init-4012-second');
INSERT INTO paid SELECT 'ref second', * FROM api.complete_purchase(4012, pg_temp.payload('ref second'), 'charge-4012-second', 'XTR', 600);
SELECT results_eq(
    $$ SELECT outcome, referral_reward_id, referrer_user_id FROM paid WHERE label = 'ref second' $$,
    $$ VALUES ('PAID', NULL::bigint, NULL::bigint) $$, 'the second paid purchase earns no reward');
SELECT is((SELECT count(*) FROM referral.rewards WHERE referee_user_id = 4012), 1::bigint,
          'one reward per referred user');
SELECT results_eq(
    $$ SELECT referral_reward_id, referrer_user_id, replayed
       FROM api.complete_purchase(4012, pg_temp.payload('ref first'), 'charge-4012-first', 'XTR', 250) $$,
    $$ SELECT referral_reward_id, referrer_user_id, true FROM paid WHERE label = 'ref first' $$,
    'a replay of the first payment returns the same reward');

-- Contract violations.
SELECT throws_ok($$ SELECT * FROM api.complete_purchase(0, 'payload-0000000000', 'charge-x', 'XTR', 250) $$,
                 'SP422', 'invalid argument p_user_id', 'complete refuses a bad user id');
SELECT throws_ok($$ SELECT * FROM api.complete_purchase(4001, 'payload-0000000000', NULL, 'XTR', 250) $$,
                 'SP422', 'invalid argument p_telegram_payment_charge_id', 'a missing charge id');
SELECT throws_ok($$ SELECT * FROM api.complete_purchase(4001, 'payload-0000000000', '', 'XTR', 250) $$,
                 'SP422', 'invalid argument p_telegram_payment_charge_id', 'an empty charge id');
SELECT throws_ok($$ SELECT * FROM api.complete_purchase(4001, 'payload-0000000000', repeat('c', 256), 'XTR', 250) $$,
                 'SP422', 'invalid argument p_telegram_payment_charge_id', 'a 256-character charge id');
SELECT throws_ok($$ SELECT * FROM api.complete_purchase(4001, NULL, 'charge-x', 'XTR', 250) $$,
                 'SP422', 'invalid argument p_invoice_payload', 'a missing payload');
SELECT throws_ok($$ SELECT * FROM api.complete_purchase(4001, 'payload-0000000000', 'charge-x', NULL, 250) $$,
                 'SP422', 'invalid argument p_currency', 'a missing currency');
SELECT throws_ok($$ SELECT * FROM api.complete_purchase(4001, 'payload-0000000000', 'charge-x', 'XTR', NULL) $$,
                 'SP422', 'invalid argument p_total_amount', 'a missing amount');
SELECT is((SELECT count(*) FROM billing.payments WHERE telegram_payment_charge_id = 'charge-x'), 0::bigint,
          'contract violations record nothing');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the purchase scenarios');

-- The longest charge id Telegram could send is recorded and alerted like any other.
SELECT results_eq(
    $$ SELECT outcome, replayed FROM api.complete_purchase(4090, 'no-such-payload-long', repeat('c', 255), 'XTR', 1) $$,
    $$ VALUES ('UNKNOWN_PURCHASE', false) $$, 'a 255-character charge id is settled (as unknown here)');
SELECT is((SELECT count(*) FROM billing.payments WHERE telegram_payment_charge_id = repeat('c', 255)), 1::bigint,
          'and recorded');

-- A bot user's first contact may be a purchase: the user is created, not a foreign key error.
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 4999), 0::bigint, 'user 4999 is new');
SELECT results_eq(
    $$ SELECT price_stars, replayed FROM api.init_purchase(4999, 'premium_30d', NULL, 'first-contact-4999') $$,
    $$ VALUES (250, false) $$, 'init_purchase for a user never seen opens the purchase');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 4999), 1::bigint, 'and creates the user');
SELECT * FROM finish();
ROLLBACK;
