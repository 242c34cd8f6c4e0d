-- api.precheckout_purchase: every outcome and refusal, the grace it gives the reservation's hold,
-- and the injectable clock for the hold's expiry edges. Goes on from the purchases that
-- 03-purchases-init.sql opens (replayed by purchases-opened.psql).
BEGIN;
SELECT plan(22);
\ir ../helpers.psql
\ir purchases.psql
\ir purchases-opened.psql

-- ---------------------------------------------------------------------------------------------
-- precheckout_purchase
UPDATE ops.clock SET frozen_at = '2030-05-01 00:01:00+00';
INSERT INTO pre SELECT 'unknown', * FROM api.precheckout_purchase(4001, 'no-such-payload-0000', 'XTR', 250);
INSERT INTO pre SELECT 'other user', * FROM api.precheckout_purchase(4002, pg_temp.payload('plain 30d'), 'XTR', 250);
INSERT INTO pre SELECT 'currency', * FROM api.precheckout_purchase(4001, pg_temp.payload('plain 30d'), 'EUR', 250);
INSERT INTO pre SELECT 'no currency', * FROM api.precheckout_purchase(4001, pg_temp.payload('plain 30d'), NULL, 250);
INSERT INTO pre SELECT 'amount', * FROM api.precheckout_purchase(4001, pg_temp.payload('plain 30d'), 'XTR', 249);
INSERT INTO pre SELECT 'no amount', * FROM api.precheckout_purchase(4001, pg_temp.payload('plain 30d'), 'XTR', NULL);
SELECT results_eq(
    $$ SELECT label, ok, refusal, purchase_id FROM pre ORDER BY label $$,
    $$ VALUES ('amount', false, 'WRONG_AMOUNT', pg_temp.pur_id('plain 30d')),
              ('currency', false, 'WRONG_CURRENCY', pg_temp.pur_id('plain 30d')),
              ('no amount', false, 'WRONG_AMOUNT', pg_temp.pur_id('plain 30d')),
              ('no currency', false, 'WRONG_CURRENCY', pg_temp.pur_id('plain 30d')),
              ('other user', false, 'OTHER_USER', pg_temp.pur_id('plain 30d')),
              ('unknown', false, 'UNKNOWN_PAYLOAD', NULL::bigint) $$,
    'refusals: UNKNOWN_PAYLOAD, OTHER_USER, WRONG_CURRENCY, WRONG_AMOUNT');
SELECT results_eq(
    $$ SELECT status, prechecked_at FROM billing.purchases WHERE purchase_id = pg_temp.pur_id('plain 30d') $$,
    $$ VALUES ('INIT', NULL::timestamptz) $$, 'a refusal leaves the purchase INIT');
INSERT INTO pre SELECT 'ok', * FROM api.precheckout_purchase(4001, pg_temp.payload('plain 30d'), 'XTR', 250);
SELECT results_eq($$ SELECT ok, refusal, purchase_id FROM pre WHERE label = 'ok' $$,
                  $$ VALUES (true, NULL::text, pg_temp.pur_id('plain 30d')) $$, 'a matching pre-checkout is ok');
SELECT results_eq(
    $$ SELECT status, prechecked_at FROM billing.purchases WHERE purchase_id = pg_temp.pur_id('plain 30d') $$,
    $$ VALUES ('PRECHECKOUT_OK', '2030-05-01 00:01:00+00'::timestamptz) $$,
    'INIT -> PRECHECKOUT_OK with prechecked_at');
UPDATE ops.clock SET frozen_at = '2030-05-01 00:02:00+00';
INSERT INTO pre SELECT 'ok again', * FROM api.precheckout_purchase(4001, pg_temp.payload('plain 30d'), 'XTR', 250);
SELECT results_eq(
    $$ SELECT pr.ok, pr.refusal, p.status, p.prechecked_at FROM pre AS pr
       JOIN billing.purchases AS p USING (purchase_id) WHERE pr.label = 'ok again' $$,
    $$ VALUES (true, NULL::text, 'PRECHECKOUT_OK', '2030-05-01 00:01:00+00'::timestamptz) $$,
    'a second pre-checkout is ok too and keeps the first prechecked_at');

UPDATE billing.purchases SET status = 'CANCELLED', cancelled_at = '2030-05-01 00:02:00+00'
WHERE purchase_id = pg_temp.pur_id('cancel 30d');
SELECT results_eq(
    $$ SELECT ok, refusal, purchase_id FROM api.precheckout_purchase(4009, pg_temp.payload('cancel 30d'), 'XTR', 250) $$,
    $$ VALUES (false, 'CANCELLED', pg_temp.pur_id('cancel 30d')) $$, 'a cancelled purchase is CANCELLED');
SELECT throws_ok($$ SELECT * FROM api.precheckout_purchase(0, pg_temp.payload('plain 30d'), 'XTR', 250) $$,
                 'SP422', 'invalid argument p_user_id', 'precheckout refuses a bad user id');

-- The grace: the hold becomes at least now + billing.precheckout_grace.
INSERT INTO pre SELECT 'grace early', * FROM api.precheckout_purchase(4002, pg_temp.payload('disc 90d'), 'XTR', 450);
SELECT results_eq(
    $$ SELECT pr.ok, r.reserved_until FROM pre AS pr, promo.promo_redemptions AS r
       WHERE pr.label = 'grace early' AND r.promo_redemption_id = pg_temp.rid('r4002') $$,
    $$ VALUES (true, '2030-05-01 00:15:00+00'::timestamptz) $$,
    'early in the hold the grace does not shorten it (max of old hold and now + 5 minutes)');
UPDATE ops.clock SET frozen_at = '2030-05-01 00:12:00+00';
INSERT INTO pre SELECT 'grace late', * FROM api.precheckout_purchase(4002, pg_temp.payload('disc 90d'), 'XTR', 450);
SELECT results_eq(
    $$ SELECT pr.ok, r.reserved_until FROM pre AS pr, promo.promo_redemptions AS r
       WHERE pr.label = 'grace late' AND r.promo_redemption_id = pg_temp.rid('r4002') $$,
    $$ VALUES (true, '2030-05-01 00:17:00+00'::timestamptz) $$,
    'late in the hold it is extended to now + 5 minutes');
SELECT is((SELECT changed FROM api.set_setting('billing.precheckout_grace', '10 minutes', 'test', 'longer grace')),
          true, 'the grace is set to 10 minutes');
UPDATE ops.clock SET frozen_at = '2030-05-01 00:13:00+00';
SELECT is((SELECT ok FROM api.precheckout_purchase(4002, pg_temp.payload('disc 90d'), 'XTR', 450)), true,
          'pre-checkout with the longer grace');
SELECT is((SELECT reserved_until FROM promo.promo_redemptions WHERE promo_redemption_id = pg_temp.rid('r4002')),
          '2030-05-01 00:23:00+00'::timestamptz, 'the hold follows billing.precheckout_grace');
SELECT is((SELECT changed FROM api.set_setting('billing.precheckout_grace', '5 minutes', 'test', 'back')),
          true, 'and back to 5 minutes');

UPDATE ops.clock SET frozen_at = '2030-05-01 00:14:00+00';
SELECT is((SELECT ok FROM api.precheckout_purchase(4007, pg_temp.payload('hold 30d'), 'XTR', 188)), true,
          'pre-checkout a minute before the hold runs out');
SELECT is((SELECT reserved_until FROM promo.promo_redemptions WHERE promo_redemption_id = pg_temp.rid('r4007')),
          '2030-05-01 00:19:00+00'::timestamptz, 'extends the hold to 00:19');
SELECT is((SELECT ok FROM api.precheckout_purchase(4008, pg_temp.payload('lost 30d'), 'XTR', 188)), true,
          'a second reservation is held through pre-checkout as well');

-- Expiry edges: usable a second before reserved_until, not at it.
UPDATE ops.clock SET frozen_at = '2030-05-01 00:14:59+00';
INSERT INTO pur SELECT 'edge 30d', * FROM api.init_purchase(4004, 'premium_30d', pg_temp.rid('r4004'), 'init-4004-30d');
SELECT results_eq($$ SELECT price_stars, discount_percent, replayed FROM pur WHERE label = 'edge 30d' $$,
                  $$ VALUES (188, 25, false) $$, 'a reservation is usable a second before its hold runs out');
UPDATE ops.clock SET frozen_at = '2030-05-01 00:15:00+00';
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4004, 'premium_30d', pg_temp.rid('r4004'), 'init-4004-30d-b') $$,
                 'SP409', 'promo reservation not usable', 'at reserved_until the hold has run out: not usable');
SELECT results_eq(
    $$ SELECT ok, refusal, purchase_id FROM api.precheckout_purchase(4004, pg_temp.payload('edge 30d'), 'XTR', 188) $$,
    $$ VALUES (false, 'RESERVATION_EXPIRED', pg_temp.pur_id('edge 30d')) $$,
    'precheckout at reserved_until is RESERVATION_EXPIRED');
SELECT is((SELECT reserved_until FROM promo.promo_redemptions WHERE promo_redemption_id = pg_temp.rid('r4004')),
          '2030-05-01 00:15:00+00'::timestamptz, 'a refused pre-checkout does not extend the hold');
UPDATE ops.clock SET frozen_at = '2030-05-01 00:16:00+00';
SELECT results_eq(
    $$ SELECT ok, refusal FROM api.precheckout_purchase(4003, pg_temp.payload('disc33 30d'), 'XTR', 168) $$,
    $$ VALUES (false, 'RESERVATION_EXPIRED') $$,
    'a hold that ran out (still RESERVED) is RESERVATION_EXPIRED');
SELECT pg_temp.expire(pg_temp.rid('r4003'));
SELECT results_eq(
    $$ SELECT ok, refusal FROM api.precheckout_purchase(4003, pg_temp.payload('disc33 30d'), 'XTR', 168) $$,
    $$ VALUES (false, 'RESERVATION_EXPIRED') $$,
    'a reservation the expiry job released is RESERVATION_EXPIRED');
SELECT * FROM finish();
ROLLBACK;
