-- billing.discount_price and api.init_purchase: every outcome and refusal (prices, discounts,
-- idempotency, one open purchase per reservation, refusals, the invoice payload). The later
-- 03-purchases-*.sql files go on from the purchases opened here (purchases-opened.psql).
BEGIN;
SELECT plan(33);
\ir ../helpers.psql
\ir purchases.psql

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
SELECT * FROM finish();
ROLLBACK;
