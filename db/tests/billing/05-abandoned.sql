-- api.cancel_abandoned_purchases: open purchases past billing.purchase_abandon_after are
-- CANCELLED; a late payment still settles a cancelled purchase.
BEGIN;
SELECT plan(7);
SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-08-01 00:00:00+00';
SELECT api.touch_user(7501);
CREATE TEMP TABLE inv AS SELECT * FROM api.init_purchase(7501, 'premium_30d', NULL, 'abandon-key-1');
UPDATE ops.clock SET frozen_at = '2030-08-01 12:00:00+00';
CREATE TEMP TABLE inv2 AS SELECT * FROM api.init_purchase(7501, 'premium_90d', NULL, 'abandon-key-2');

UPDATE ops.clock SET frozen_at = '2030-08-01 23:59:59+00';
SELECT is(api.cancel_abandoned_purchases(), 0, 'nothing is abandoned before 24 hours');
UPDATE ops.clock SET frozen_at = '2030-08-02 00:00:00+00';
SELECT is(api.cancel_abandoned_purchases(), 1, 'the purchase opened 24 hours ago is cancelled');
SELECT results_eq($$ SELECT status, cancelled_at FROM billing.purchases WHERE idempotency_key = 'abandon-key-1' $$,
                  $$ VALUES ('CANCELLED', '2030-08-02 00:00:00+00'::timestamptz) $$, 'with its timestamp');
UPDATE ops.clock SET frozen_at = '2030-08-03 00:00:00+00';
SELECT is(api.cancel_abandoned_purchases(p_limit => 1), 1, 'a batch respects its limit');
SELECT throws_ok($$ SELECT api.cancel_abandoned_purchases(0) $$, 'SP422', 'invalid argument p_limit',
                 'an empty batch is refused');
SELECT results_eq(
    $$ SELECT outcome FROM api.complete_purchase(7501, (SELECT invoice_payload FROM inv), 'late-charge-1', 'XTR', 250) $$,
    $$ VALUES ('PAID') $$, 'a payment that arrives for a cancelled purchase still settles it');
SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the scenario');
SELECT * FROM finish();
ROLLBACK;
