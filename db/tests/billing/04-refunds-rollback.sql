-- api.mark_purchase_refunded, api.rollback_refunded_promo and api.run_refund_promo_rollback
-- (a refund's effect on referral rewards: 04-refunds-referral.sql).
BEGIN;
SELECT plan(51);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-06-01 00:00:00+00';

SELECT api.touch_user(u, 'user' || u, 'User', 'de') FROM generate_series(4101, 4111) AS u;
INSERT INTO camp VALUES
    ('d20', api.create_promo_code('REFUND-JUNE-20', 'PERCENT_DISCOUNT', 'June 20 %', p_discount_percent => 20,
                                  p_max_uses => 20));


CREATE TEMP TABLE ref (label text PRIMARY KEY, outcome text, purchase_id bigint, premium_until timestamptz,
                       replayed boolean);
CREATE TEMP TABLE rb (label text PRIMARY KEY, outcome text, purchase_id bigint, promo_redemption_id bigint,
                      replayed boolean);

-- Setup on day 0.
SELECT pg_temp.buy('p4101-30d', 4101, 'premium_30d');
SELECT pg_temp.buy('p4101-90d', 4101, 'premium_90d');
SELECT pg_temp.reserve('r' || u, u, 'REFUND-JUNE-20') FROM generate_series(4105, 4110) AS u;
SELECT pg_temp.buy('p' || u || '-30d', u, 'premium_30d', pg_temp.rid('r' || u)) FROM generate_series(4105, 4109) AS u;
SELECT pg_temp.buy('p4110-30d', 4110, 'premium_30d', pg_temp.rid('r4110'), p_expire_before_payment => true);
INSERT INTO bought
SELECT 'open 4111', purchase_id, invoice_payload FROM api.init_purchase(4111, 'premium_30d', NULL, 'init-4111-open');
SELECT is((SELECT outcome FROM api.complete_purchase(4111, (SELECT payload FROM bought WHERE label = 'open 4111'),
                                                     'charge-mismatch-4111', 'XTR', 1)),
          'MISMATCH', 'setup: a payment that settled nothing');
SELECT results_eq(
    $$ SELECT status, count(*) FROM promo.promo_redemptions WHERE promo_code_id = pg_temp.cid('d20')
       GROUP BY status ORDER BY status $$,
    $$ VALUES ('CONSUMED', 5::bigint), ('EXPIRED', 1::bigint) $$,
    'setup: five discounted purchases consumed their reservations, one paid after its reservation expired');

-- ---------------------------------------------------------------------------------------------
-- mark_purchase_refunded
UPDATE ops.clock SET frozen_at = '2030-06-02 00:00:00+00';
SELECT is((SELECT premium_until FROM billing.entitlements WHERE user_id = 4101),
          '2030-06-01 00:00:00+00'::timestamptz + 120 * interval '24 hours', 'user 4101 bought 30 + 90 days');
INSERT INTO ref SELECT 'p4101-30d', * FROM api.mark_purchase_refunded('charge-p4101-30d', 'support:anna', 'customer request');
SELECT results_eq(
    $$ SELECT outcome, purchase_id, premium_until, replayed FROM ref WHERE label = 'p4101-30d' $$,
    $$ VALUES ('REFUNDED', pg_temp.pid('p4101-30d'), '2030-06-01 00:00:00+00'::timestamptz + 90 * interval '24 hours',
               false) $$,
    'a refund is REFUNDED and premium_until moves back by the purchase''s 30 days');
SELECT results_eq(
    $$ SELECT status, paid_at, refunded_at, refund_actor, refund_reason, telegram_payment_charge_id
       FROM billing.purchases WHERE purchase_id = pg_temp.pid('p4101-30d') $$,
    $$ VALUES ('REFUNDED', '2030-06-01 00:00:00+00'::timestamptz, '2030-06-02 00:00:00+00'::timestamptz,
               'support:anna', 'customer request', 'charge-p4101-30d') $$,
    'PAID -> REFUNDED with refunded_at, actor and reason');
SELECT results_eq(
    $$ SELECT kind, stars_delta, premium_days_delta, premium_until_before, premium_until_after, actor, created_at
       FROM billing.ledger WHERE ref_type = 'purchase' AND ref_id = pg_temp.pid('p4101-30d')
         AND kind LIKE 'REFUND%' ORDER BY ledger_id $$,
    $$ VALUES ('REFUND_PAYMENT', -250, 0, '2030-06-01 00:00:00+00'::timestamptz + 120 * interval '24 hours',
               '2030-06-01 00:00:00+00'::timestamptz + 120 * interval '24 hours', 'support:anna',
               '2030-06-02 00:00:00+00'::timestamptz),
              ('REFUND_PREMIUM', 0, -30, '2030-06-01 00:00:00+00'::timestamptz + 120 * interval '24 hours',
               '2030-06-01 00:00:00+00'::timestamptz + 90 * interval '24 hours', 'support:anna',
               '2030-06-02 00:00:00+00'::timestamptz) $$,
    'ledger: REFUND_PAYMENT -250 Stars and REFUND_PREMIUM -30 days');
SELECT is((SELECT premium_until FROM billing.entitlements WHERE user_id = 4101),
          '2030-06-01 00:00:00+00'::timestamptz + 90 * interval '24 hours', 'the entitlement follows');
SELECT results_eq(
    $$ SELECT actor, action, target_type, target_id, reason, details, occurred_at
       FROM ops.audit_log WHERE action = 'billing.purchase_refunded' $$,
    $$ VALUES ('support:anna', 'billing.purchase_refunded', 'purchase', pg_temp.pid('p4101-30d')::text,
               'customer request', '{"price_stars": 250, "premium_days": 30}'::jsonb,
               '2030-06-02 00:00:00+00'::timestamptz) $$,
    'the refund is audited');

CREATE TEMP TABLE before_replay AS
SELECT (SELECT count(*) FROM billing.ledger) AS ledger, (SELECT count(*) FROM ops.audit_log) AS audit;
INSERT INTO ref SELECT 'replay', * FROM api.mark_purchase_refunded('charge-p4101-30d', 'support:ben', 'again');
SELECT results_eq(
    $$ SELECT outcome, purchase_id, premium_until, replayed FROM ref WHERE label = 'replay' $$,
    $$ VALUES ('REFUNDED', pg_temp.pid('p4101-30d'), '2030-06-01 00:00:00+00'::timestamptz + 90 * interval '24 hours',
               true) $$,
    'a second refund replays with replayed = true');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.ledger), (SELECT count(*) FROM ops.audit_log),
              (SELECT refund_actor FROM billing.purchases WHERE purchase_id = pg_temp.pid('p4101-30d')) $$,
    $$ SELECT ledger, audit, 'support:anna' FROM before_replay $$,
    'and books, audits and changes nothing');

SELECT results_eq(
    $$ SELECT ok, refusal FROM api.precheckout_purchase(4101, (SELECT payload FROM bought WHERE label = 'p4101-30d'),
                                                        'XTR', 250) $$,
    $$ VALUES (false, 'ALREADY_PAID') $$, 'precheckout of a refunded purchase is ALREADY_PAID');
SELECT throws_ok($$ SELECT * FROM api.mark_purchase_refunded('charge-nope', 'support:anna', 'x') $$,
                 'SP404', 'paid purchase not found', 'an unknown charge id is refused');
SELECT throws_ok($$ SELECT * FROM api.mark_purchase_refunded('charge-mismatch-4111', 'support:anna', 'x') $$,
                 'SP404', 'paid purchase not found', 'a payment that settled no purchase is not refunded here');
SELECT throws_ok($$ SELECT * FROM api.mark_purchase_refunded('charge-p4101-90d', NULL, 'x') $$,
                 'SP422', 'invalid argument p_actor', 'a missing actor is refused');
SELECT throws_ok($$ SELECT * FROM api.mark_purchase_refunded('charge-p4101-90d', '', 'x') $$,
                 'SP422', 'invalid argument p_actor', 'an empty actor is refused');
SELECT throws_ok($$ SELECT * FROM api.mark_purchase_refunded('charge-p4101-90d', 'support:anna', NULL) $$,
                 'SP422', 'invalid argument p_reason', 'a missing reason is refused');
SELECT throws_ok($$ SELECT * FROM api.mark_purchase_refunded('charge-p4101-90d', 'support:anna', '   ') $$,
                 'SP422', 'invalid argument p_reason', 'a blank reason is refused');
SELECT is((SELECT status FROM billing.purchases WHERE purchase_id = pg_temp.pid('p4101-90d')), 'PAID',
          'refused refunds leave the purchase PAID');

-- The promo redemption is the rollback's business.
CREATE TEMP TABLE campaign_before AS SELECT * FROM api.get_promo_campaign(pg_temp.cid('d20'));
INSERT INTO ref SELECT 'p4105-30d', * FROM api.mark_purchase_refunded('charge-p4105-30d', 'support:anna', 'customer request');
SELECT results_eq(
    $$ SELECT status, revoked_at FROM promo.promo_redemptions WHERE promo_redemption_id = pg_temp.rid('r4105') $$,
    $$ VALUES ('CONSUMED', NULL::timestamptz) $$,
    'a refund does not touch the promo redemption');
SELECT results_eq(
    $$ SELECT kind, stars_delta, premium_days_delta FROM billing.ledger WHERE user_id = 4105 ORDER BY ledger_id $$,
    $$ VALUES ('PURCHASE_PAYMENT', 200, 0), ('PURCHASE_PREMIUM', 0, 30), ('REFUND_PAYMENT', -200, 0),
              ('REFUND_PREMIUM', 0, -30) $$,
    'the discounted price (200 Stars) is what is refunded');

-- ---------------------------------------------------------------------------------------------
-- rollback_refunded_promo
UPDATE ops.clock SET frozen_at = '2030-06-03 00:00:00+00';
INSERT INTO rb SELECT 'revoked', * FROM api.rollback_refunded_promo(pg_temp.pid('p4105-30d'), 'support:anna', 'rollback-p4105');
SELECT results_eq(
    $$ SELECT outcome, purchase_id, promo_redemption_id, replayed FROM rb WHERE label = 'revoked' $$,
    $$ VALUES ('REVOKED', pg_temp.pid('p4105-30d'), pg_temp.rid('r4105'), false) $$,
    'the redemption of a refunded purchase is REVOKED');
SELECT results_eq(
    $$ SELECT status, consumed_at, revoked_at, revoked_reason FROM promo.promo_redemptions
       WHERE promo_redemption_id = pg_temp.rid('r4105') $$,
    $$ VALUES ('REVOKED', '2030-06-01 00:00:00+00'::timestamptz, '2030-06-03 00:00:00+00'::timestamptz,
               format('purchase %s refunded', pg_temp.pid('p4105-30d'))) $$,
    'CONSUMED -> REVOKED with revoked_at and revoked_reason');
SELECT results_eq(
    $$ SELECT used_total, consumed, revoked FROM api.get_promo_campaign(pg_temp.cid('d20')) $$,
    $$ SELECT used_total, consumed - 1, revoked + 1 FROM campaign_before $$,
    'used_total is not decremented: the unit stays spent');
SELECT results_eq(
    $$ SELECT actor, action, target_type, target_id, reason, details
       FROM ops.audit_log WHERE action = 'promo.redemption_revoked' $$,
    $$ VALUES ('support:anna', 'promo.redemption_revoked', 'promo_redemption', pg_temp.rid('r4105')::text,
               'purchase refunded', jsonb_build_object('purchase_id', pg_temp.pid('p4105-30d'))) $$,
    'the revocation is audited');
INSERT INTO rb SELECT 'replay', * FROM api.rollback_refunded_promo(pg_temp.pid('p4105-30d'), 'support:anna', 'rollback-p4105');
SELECT results_eq(
    $$ SELECT outcome, purchase_id, promo_redemption_id, replayed FROM rb WHERE label = 'replay' $$,
    $$ VALUES ('REVOKED', pg_temp.pid('p4105-30d'), pg_temp.rid('r4105'), true) $$,
    'the same key replays the first answer with replayed = true');
INSERT INTO rb SELECT 'already', * FROM api.rollback_refunded_promo(pg_temp.pid('p4105-30d'), 'support:ben', 'rollback-p4105-b');
SELECT results_eq(
    $$ SELECT outcome, purchase_id, promo_redemption_id, replayed FROM rb WHERE label = 'already' $$,
    $$ VALUES ('ALREADY_REVOKED', pg_temp.pid('p4105-30d'), pg_temp.rid('r4105'), false) $$,
    'a new key for a revoked redemption is ALREADY_REVOKED');
SELECT is((SELECT count(*) FROM ops.audit_log WHERE action = 'promo.redemption_revoked'), 1::bigint,
          'a replay and ALREADY_REVOKED audit nothing more');
-- Changed: a key reused for another purchase was SP409 idempotency_conflict; now it is the
-- outcome, as everywhere in the idempotency protocol.
INSERT INTO rb SELECT 'conflict', * FROM api.rollback_refunded_promo(pg_temp.pid('p4101-30d'), 'support:anna', 'rollback-p4105');
SELECT results_eq(
    $$ SELECT outcome, purchase_id, promo_redemption_id, replayed FROM rb WHERE label = 'conflict' $$,
    $$ VALUES ('IDEMPOTENCY_CONFLICT', NULL::bigint, NULL::bigint, false) $$,
    'the same key for another purchase answers IDEMPOTENCY_CONFLICT');
SELECT is((SELECT count(*) FROM promo.rollback_requests WHERE purchase_id = pg_temp.pid('p4101-30d')), 0::bigint,
          'and records nothing: no request row');
SELECT is((SELECT count(*) FROM ops.audit_log WHERE action = 'promo.rollback_requested'
             AND target_id = pg_temp.pid('p4101-30d')::text), 0::bigint, 'no audit row');
INSERT INTO rb SELECT 'no promo', * FROM api.rollback_refunded_promo(pg_temp.pid('p4101-30d'), 'support:anna', 'rollback-p4101');
SELECT results_eq(
    $$ SELECT outcome, purchase_id, promo_redemption_id, replayed FROM rb WHERE label = 'no promo' $$,
    $$ VALUES ('NO_PROMO', pg_temp.pid('p4101-30d'), NULL::bigint, false) $$,
    'a refunded purchase without a discount is NO_PROMO');
SELECT is((SELECT replayed FROM api.mark_purchase_refunded('charge-p4110-30d', 'support:anna', 'customer request')),
          false, 'refund the purchase paid after its reservation had expired');
INSERT INTO rb SELECT 'expired', * FROM api.rollback_refunded_promo(pg_temp.pid('p4110-30d'), 'support:anna', 'rollback-p4110');
SELECT results_eq(
    $$ SELECT r.outcome, r.promo_redemption_id, pr.status FROM rb AS r, promo.promo_redemptions AS pr
       WHERE r.label = 'expired' AND pr.promo_redemption_id = pg_temp.rid('r4110') $$,
    $$ VALUES ('NO_PROMO', pg_temp.rid('r4110'), 'EXPIRED') $$,
    'a reservation that had expired before the payment consumed nothing: NO_PROMO, it stays EXPIRED');
SELECT throws_ok(
    $$ SELECT * FROM api.rollback_refunded_promo(pg_temp.pid('p4106-30d'), 'support:anna', 'rollback-p4106') $$,
    'SP409', 'purchase is not refunded', 'a PAID purchase with a discount is not rolled back');
SELECT throws_ok(
    $$ SELECT * FROM api.rollback_refunded_promo(pg_temp.pid('p4101-90d'), 'support:anna', 'rollback-p4101-90d') $$,
    'SP409', 'purchase is not refunded', 'a PAID purchase without a discount is not rolled back either');
SELECT throws_ok(
    $$ SELECT * FROM api.rollback_refunded_promo(999999999, 'support:anna', 'rollback-unknown') $$,
    'SP404', 'purchase not found', 'an unknown purchase is not found');
SELECT throws_ok(
    $$ SELECT * FROM api.rollback_refunded_promo(pg_temp.pid('p4105-30d'), 'support:anna', 'short') $$,
    'SP422', 'invalid argument p_idempotency_key', 'a bad key is refused');
SELECT throws_ok(
    $$ SELECT * FROM api.rollback_refunded_promo(pg_temp.pid('p4105-30d'), NULL, 'rollback-noactor') $$,
    'SP422', 'invalid argument p_actor', 'a missing actor is refused');
SELECT results_eq(
    $$ SELECT q.idempotency_key::text, q.purchase_id, q.actor, k.result->>'outcome'
       FROM promo.rollback_requests AS q
       JOIN ops.idempotency_keys AS k ON k.scope = 'promo.rollback_refunded_promo' AND k.idempotency_key = q.idempotency_key
       WHERE q.idempotency_key <> 'rollback-p4101-90d' ORDER BY q.created_at, q.idempotency_key $$,
    $$ VALUES ('rollback-p4101', pg_temp.pid('p4101-30d'), 'support:anna', 'NO_PROMO'),
              ('rollback-p4105', pg_temp.pid('p4105-30d'), 'support:anna', 'REVOKED'),
              ('rollback-p4105-b', pg_temp.pid('p4105-30d'), 'support:ben', 'ALREADY_REVOKED'),
              ('rollback-p4110', pg_temp.pid('p4110-30d'), 'support:anna', 'NO_PROMO') $$,
    'each answered key is stored with its answer; refusals store nothing (the key of test 39 aside)');

-- ---------------------------------------------------------------------------------------------
-- run_refund_promo_rollback
UPDATE ops.clock SET frozen_at = '2030-06-04 00:00:00+00';
SELECT api.mark_purchase_refunded('charge-p4108-30d', 'support:anna', 'customer request');
UPDATE ops.clock SET frozen_at = '2030-06-04 00:01:00+00';
SELECT api.mark_purchase_refunded('charge-p4107-30d', 'support:anna', 'customer request');
UPDATE ops.clock SET frozen_at = '2030-06-04 00:02:00+00';
SELECT api.mark_purchase_refunded('charge-p4109-30d', 'support:anna', 'customer request');
UPDATE ops.clock SET frozen_at = '2030-06-05 00:00:00+00';
SELECT is(api.run_refund_promo_rollback(1), 1, 'a batch of 1 revokes one redemption');
SELECT results_eq(
    $$ SELECT label, status FROM rsv JOIN promo.promo_redemptions ON promo_redemption_id = rid
       WHERE label IN ('r4107', 'r4108', 'r4109') ORDER BY label $$,
    $$ VALUES ('r4107', 'CONSUMED'), ('r4108', 'REVOKED'), ('r4109', 'CONSUMED') $$,
    'the earliest refunded first');
SELECT is(api.run_refund_promo_rollback(), 2, 'the next run revokes the remaining two');
SELECT is(api.run_refund_promo_rollback(), 0, 'a further run finds nothing');
SELECT results_eq(
    $$ SELECT label, status FROM rsv JOIN promo.promo_redemptions ON promo_redemption_id = rid
       WHERE label LIKE 'r41%' ORDER BY label $$,
    $$ VALUES ('r4105', 'REVOKED'), ('r4106', 'CONSUMED'), ('r4107', 'REVOKED'), ('r4108', 'REVOKED'),
              ('r4109', 'REVOKED'), ('r4110', 'EXPIRED') $$,
    'refunded purchases'' redemptions are revoked; a PAID one''s stays CONSUMED, an EXPIRED one EXPIRED');
SELECT results_eq(
    $$ SELECT target_id FROM ops.audit_log WHERE action = 'promo.redemption_revoked'
       AND actor = 'job:refund_promo_rollback' ORDER BY audit_id $$,
    $$ VALUES (pg_temp.rid('r4108')::text), (pg_temp.rid('r4107')::text), (pg_temp.rid('r4109')::text) $$,
    'the job audits each revocation as job:refund_promo_rollback');
SELECT results_eq(
    $$ SELECT used_total, consumed, revoked FROM api.get_promo_campaign(pg_temp.cid('d20')) $$,
    $$ VALUES (5::bigint, 1::bigint, 4::bigint) $$,
    'used_total still counts every unit spent');
SELECT results_eq(
    $$ SELECT outcome, promo_redemption_id FROM api.rollback_refunded_promo(pg_temp.pid('p4108-30d'), 'support:anna',
                                                                            'rollback-p4108') $$,
    $$ VALUES ('ALREADY_REVOKED', pg_temp.rid('r4108')) $$,
    'the manual rollback after the job is ALREADY_REVOKED');
SELECT throws_ok($$ SELECT api.run_refund_promo_rollback(0) $$, 'SP422', 'invalid argument p_limit',
                 'a batch of 0 is refused');
SELECT throws_ok($$ SELECT api.run_refund_promo_rollback(10001) $$, 'SP422', 'invalid argument p_limit',
                 'a batch above 10000 is refused');
SELECT throws_ok($$ SELECT api.run_refund_promo_rollback(NULL) $$, 'SP422', 'invalid argument p_limit',
                 'a missing batch size is refused');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after refunds and rollbacks');

SELECT * FROM finish();
ROLLBACK;
