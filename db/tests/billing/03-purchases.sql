-- api.init_purchase, api.precheckout_purchase, api.complete_purchase and billing.discount_price:
-- every outcome and refusal, with the injectable clock for the reservation's expiry edges.
BEGIN;
SELECT plan(113);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-05-01 00:00:00+00';

SELECT api.touch_user(u, 'user' || u, 'User', 'de') FROM generate_series(4001, 4012) AS u;

INSERT INTO camp VALUES
    ('d25',   api.create_promo_code('DISCOUNT-MAY-25', 'PERCENT_DISCOUNT', 'May 25 %', p_discount_percent => 25,
                                    p_max_uses => 50)),
    ('d33',   api.create_promo_code('DISCOUNT-MAY-33', 'PERCENT_DISCOUNT', 'May 33 %', p_discount_percent => 33,
                                    p_max_uses => 50)),
    ('grant', api.create_promo_code('GRANT-MAY-07', 'PREMIUM_GRANT', 'May grant', p_grant_days => 7,
                                    p_max_uses => 50));

-- Reservations (and one premium grant) by label.
-- What the expiry job will do: RESERVED -> EXPIRED (promo.book_capacity gives the unit back).
CREATE FUNCTION pg_temp.expire(p_rid bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE promo.promo_redemptions SET status = 'EXPIRED', expired_at = ops.now()
    WHERE promo_redemption_id = p_rid;
$$;

-- Answers by label.
CREATE TEMP TABLE pur (label text PRIMARY KEY, outcome text, purchase_id bigint, invoice_payload text, price_stars integer,
                       base_price_stars integer, discount_percent integer, currency text, title text,
                       description text, premium_days integer, replayed boolean);
CREATE FUNCTION pg_temp.pur_id(p_label text) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT purchase_id FROM pur WHERE label = p_label $$;
CREATE FUNCTION pg_temp.payload(p_label text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT invoice_payload FROM pur WHERE label = p_label $$;
CREATE TEMP TABLE pre (label text PRIMARY KEY, ok boolean, refusal text, purchase_id bigint);
CREATE TEMP TABLE paid (label text PRIMARY KEY, outcome text, purchase_id bigint, premium_until timestamptz,
                        referral_reward_id bigint, referrer_user_id bigint, replayed boolean);

SELECT pg_temp.reserve('r4002', 4002, 'DISCOUNT-MAY-25');
SELECT pg_temp.reserve('r4003', 4003, 'DISCOUNT-MAY-33');
SELECT pg_temp.reserve('r4004', 4004, 'DISCOUNT-MAY-25');
SELECT pg_temp.reserve('r4005', 4005, 'DISCOUNT-MAY-25');
SELECT pg_temp.reserve('g4006', 4006, 'GRANT-MAY-07');
SELECT pg_temp.reserve('r4007', 4007, 'DISCOUNT-MAY-25');
SELECT pg_temp.reserve('r4008', 4008, 'DISCOUNT-MAY-25');

-- ---------------------------------------------------------------------------------------------
-- billing.discount_price
SELECT results_eq(
    $$ SELECT billing.discount_price(b, p) FROM (VALUES (1, 600, NULL::integer), (2, 600, 25), (3, 250, 33),
                                                        (4, 250, 30), (5, 2000, 33), (6, 3, 50), (7, 5, 90),
                                                        (8, 1, 99), (9, 100, 99), (10, 2000, 99)) AS v (n, b, p)
       ORDER BY n $$,
    $$ VALUES (600), (450), (168), (175), (1340), (2), (1), (1), (1), (20) $$,
    'discount_price: base x (100 - percent) / 100, rounded half up, at least 1 Star');

-- ---------------------------------------------------------------------------------------------
-- init_purchase: every plan at its price.
INSERT INTO pur SELECT 'plain 30d', * FROM api.init_purchase(4001, 'premium_30d', NULL, 'init-4001-30d');
INSERT INTO pur SELECT 'plain 90d', * FROM api.init_purchase(4001, 'premium_90d', NULL, 'init-4001-90d');
INSERT INTO pur SELECT 'plain 365d', * FROM api.init_purchase(4001, 'premium_365d', NULL, 'init-4001-365d');
SELECT results_eq(
    $$ SELECT label, outcome, price_stars, base_price_stars, discount_percent, currency, title, description,
              premium_days, replayed
       FROM pur WHERE label LIKE 'plain %' ORDER BY premium_days $$,
    $$ SELECT 'plain ' || substr(plan_code, 9), 'OPENED', price_stars, price_stars, NULL::integer, 'XTR', title,
              description, premium_days, false
       FROM billing.plans ORDER BY premium_days $$,
    'without a discount each plan is offered at its own price, with its title and description');
SELECT results_eq(
    $$ SELECT p.label, p.price_stars FROM pur AS p WHERE p.label LIKE 'plain %' ORDER BY p.price_stars $$,
    $$ VALUES ('plain 30d', 250), ('plain 90d', 600), ('plain 365d', 2000) $$,
    'the seeded prices: 250, 600 and 2000 Stars');
SELECT results_eq(
    $$ SELECT user_id, plan_code, premium_days, promo_redemption_id, idempotency_key::text, base_price_stars,
              discount_percent, price_stars, currency, status, created_at, prechecked_at, paid_at,
              telegram_payment_charge_id
       FROM billing.purchases WHERE purchase_id = pg_temp.pur_id('plain 30d') $$,
    $$ VALUES (4001::bigint, 'premium_30d', 30, NULL::bigint, 'init-4001-30d', 250, NULL::integer, 250, 'XTR',
               'INIT', '2030-05-01 00:00:00+00'::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::text) $$,
    'the purchase is stored as INIT with its terms');

-- With a discount reservation.
INSERT INTO pur SELECT 'disc 90d', * FROM api.init_purchase(4002, 'premium_90d', pg_temp.rid('r4002'), 'init-4002-90d');
SELECT results_eq(
    $$ SELECT price_stars, base_price_stars, discount_percent, premium_days, replayed FROM pur WHERE label = 'disc 90d' $$,
    $$ VALUES (450, 600, 25, 90, false) $$,
    'a 25 % discount on premium_90d: 600 -> 450 Stars');
SELECT results_eq(
    $$ SELECT promo_redemption_id, base_price_stars, discount_percent, price_stars, status
       FROM billing.purchases WHERE purchase_id = pg_temp.pur_id('disc 90d') $$,
    $$ VALUES (pg_temp.rid('r4002'), 600, 25, 450, 'INIT') $$,
    'the purchase records the reservation, the base price, the percent and the final price');
INSERT INTO pur SELECT 'disc33 30d', * FROM api.init_purchase(4003, 'premium_30d', pg_temp.rid('r4003'), 'init-4003-30d');
SELECT results_eq(
    $$ SELECT price_stars, base_price_stars, discount_percent FROM pur WHERE label = 'disc33 30d' $$,
    $$ VALUES (168, 250, 33) $$,
    '33 % off 250 is 167.5 Stars, rounded half up to 168');
SELECT is((SELECT status FROM promo.promo_redemptions WHERE promo_redemption_id = pg_temp.rid('r4002')), 'RESERVED',
          'opening a purchase does not consume the reservation');

-- Idempotency by key.
INSERT INTO pur SELECT 'replay 30d', * FROM api.init_purchase(4001, 'premium_30d', NULL, 'init-4001-30d');
SELECT results_eq(
    $$ SELECT outcome, purchase_id, invoice_payload, price_stars, base_price_stars, discount_percent, currency,
              title, description, premium_days, replayed
       FROM pur WHERE label = 'replay 30d' $$,
    $$ SELECT outcome, purchase_id, invoice_payload, price_stars, base_price_stars, discount_percent, currency,
              title, description, premium_days, true
       FROM pur WHERE label = 'plain 30d' $$,
    'the same key with the same arguments replays the stored row whole (replayed = true)');
SELECT is((SELECT count(*) FROM billing.purchases WHERE user_id = 4001), 3::bigint, 'a replay opens no purchase');
-- Changed: a key reused with other arguments was SP409 idempotency_conflict; now it is the
-- outcome, as everywhere in the idempotency protocol, and it changes nothing.
INSERT INTO pur SELECT 'conflict plan', * FROM api.init_purchase(4001, 'premium_90d', NULL, 'init-4001-30d');
INSERT INTO pur SELECT 'conflict user', * FROM api.init_purchase(4002, 'premium_30d', NULL, 'init-4001-30d');
INSERT INTO pur SELECT 'conflict rsv', * FROM api.init_purchase(4002, 'premium_90d', NULL, 'init-4002-90d');
SELECT results_eq(
    $$ SELECT label, outcome, purchase_id, invoice_payload, price_stars, title, replayed
       FROM pur WHERE label LIKE 'conflict %' ORDER BY label $$,
    $$ VALUES ('conflict plan', 'IDEMPOTENCY_CONFLICT', NULL::bigint, NULL::text, NULL::integer, NULL::text, false),
              ('conflict rsv', 'IDEMPOTENCY_CONFLICT', NULL, NULL, NULL, NULL, false),
              ('conflict user', 'IDEMPOTENCY_CONFLICT', NULL, NULL, NULL, NULL, false) $$,
    'the same key for another plan, another user or without the reservation answers IDEMPOTENCY_CONFLICT, nothing else');
SELECT is((SELECT count(*) FROM billing.purchases WHERE user_id IN (4001, 4002)), 4::bigint,
          'a conflict opens no purchase');
SELECT results_eq(
    $$ SELECT outcome, purchase_id, replayed FROM api.init_purchase(4001, 'premium_30d', NULL, 'init-4001-30d') $$,
    $$ SELECT 'OPENED', purchase_id, true FROM pur WHERE label = 'plain 30d' $$,
    'and the key still replays its first answer');

-- One reservation backs one open purchase.
INSERT INTO pur SELECT 'disc 90d again', * FROM api.init_purchase(4002, 'premium_90d', pg_temp.rid('r4002'), 'init-4002-90d-b');
SELECT results_eq(
    $$ SELECT purchase_id, invoice_payload, price_stars, replayed FROM pur WHERE label = 'disc 90d again' $$,
    $$ SELECT purchase_id, invoice_payload, price_stars, true FROM pur WHERE label = 'disc 90d' $$,
    'a second init with the same reservation (new key) returns the open purchase');
SELECT is((SELECT count(*) FROM billing.purchases WHERE promo_redemption_id = pg_temp.rid('r4002')), 1::bigint,
          'and opens no second purchase with it');
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4002, 'premium_30d', pg_temp.rid('r4002'), 'init-4002-30d') $$,
                 'SP409', 'promo reservation already backs a purchase',
                 'the same reservation for another plan is refused while its purchase is open');

-- Refusals.
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4001, 'premium_7d', NULL, 'init-4001-7d') $$,
                 'SP404', 'plan not found', 'an unknown plan is refused');
UPDATE billing.plans SET is_active = false WHERE plan_code = 'premium_365d';
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4002, 'premium_365d', NULL, 'init-4002-365d') $$,
                 'SP409', 'plan withdrawn', 'a withdrawn plan is refused');
SELECT results_eq(
    $$ SELECT ok, refusal, purchase_id
       FROM api.precheckout_purchase(4001, pg_temp.payload('plain 365d'), 'XTR', 2000) $$,
    $$ VALUES (false, 'PLAN_WITHDRAWN', pg_temp.pur_id('plain 365d')) $$,
    'precheckout: a purchase of a plan withdrawn since is PLAN_WITHDRAWN');
UPDATE billing.plans SET is_active = true WHERE plan_code = 'premium_365d';
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4001, 'premium_30d', pg_temp.rid('r4003'), 'init-4001-other') $$,
                 'SP404', 'promo reservation not found', 'another user''s reservation is not found');
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4001, 'premium_30d', 999999999, 'init-4001-unknown') $$,
                 'SP404', 'promo reservation not found', 'an unknown reservation is not found');
SELECT pg_temp.expire(pg_temp.rid('r4005'));
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4005, 'premium_30d', pg_temp.rid('r4005'), 'init-4005-30d') $$,
                 'SP409', 'promo reservation not usable', 'an EXPIRED reservation is not usable');
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4006, 'premium_30d', pg_temp.rid('g4006'), 'init-4006-30d') $$,
                 'SP409', 'promo reservation not usable', 'a PREMIUM_GRANT redemption is not a discount');
SELECT throws_ok($$ SELECT * FROM api.init_purchase(0, 'premium_30d', NULL, 'init-0-30d') $$,
                 'SP422', 'invalid argument p_user_id', 'user id 0 is refused');
SELECT throws_ok($$ SELECT * FROM api.init_purchase(NULL, 'premium_30d', NULL, 'init-null-30d') $$,
                 'SP422', 'invalid argument p_user_id', 'a missing user id is refused');
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4001, 'premium_30d', NULL, 'short') $$,
                 'SP422', 'invalid argument p_idempotency_key', 'a 5-character key is refused');
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4001, 'premium_30d', NULL, 'key with spaces') $$,
                 'SP422', 'invalid argument p_idempotency_key', 'a key with spaces is refused');
SELECT throws_ok($$ SELECT * FROM api.init_purchase(4001, 'premium_30d', NULL, NULL) $$,
                 'SP422', 'invalid argument p_idempotency_key', 'a missing key is refused');
SELECT is((SELECT count(*) FROM billing.purchases), 5::bigint, 'refusals opened no purchase');

INSERT INTO pur SELECT 'hold 30d', * FROM api.init_purchase(4007, 'premium_30d', pg_temp.rid('r4007'), 'init-4007-30d');
INSERT INTO pur SELECT 'lost 30d', * FROM api.init_purchase(4008, 'premium_30d', pg_temp.rid('r4008'), 'init-4008-30d');
INSERT INTO pur SELECT 'cancel 30d', * FROM api.init_purchase(4009, 'premium_30d', NULL, 'init-4009-30d');
SELECT results_eq(
    $$ SELECT label, price_stars FROM pur WHERE label IN ('hold 30d', 'lost 30d') ORDER BY label $$,
    $$ VALUES ('hold 30d', 188), ('lost 30d', 188) $$,
    '25 % off 250 is 187.5 Stars, rounded half up to 188');

-- The invoice payload.
SELECT is_empty(
    $$ SELECT purchase_id FROM billing.purchases
       WHERE invoice_payload !~ '^[A-Za-z0-9_-]{16,128}$' OR octet_length(invoice_payload) > 128 $$,
    'every payload is URL-safe and at most 128 bytes');
SELECT is((SELECT count(DISTINCT invoice_payload) FROM billing.purchases),
          (SELECT count(*) FROM billing.purchases), 'every payload is unique');
SELECT is_empty(
    $$ SELECT purchase_id FROM billing.purchases
       WHERE strpos(invoice_payload, user_id::text) > 0 OR strpos(invoice_payload, idempotency_key) > 0 $$,
    'no payload contains the user id or the idempotency key');

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
