-- api.reconcile_star_payment: every outcome and refusal.
BEGIN;
SELECT plan(9);

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-10-01 00:00:00+00';

-- A paid purchase of user 9301 (250 Stars) with charge 'rc-charge-1'.
CREATE TEMP TABLE inv AS SELECT * FROM api.init_purchase(9301, 'premium_30d', NULL, 'rc-init-9301');
SELECT api.precheckout_purchase(9301, (SELECT invoice_payload FROM inv), 'XTR', 250);
SELECT api.complete_purchase(9301, (SELECT invoice_payload FROM inv), 'rc-charge-1', 'XTR', 250);

SELECT results_eq($$ SELECT outcome, purchase_id FROM api.reconcile_star_payment('rc-charge-1', 9301, 250, false, 'reconcile') $$,
                  $$ SELECT 'MATCHED', purchase_id FROM inv $$, 'a recorded payment Telegram lists as paid: MATCHED');
SELECT results_eq($$ SELECT outcome FROM api.reconcile_star_payment('rc-charge-1', 9301, 250, true, 'reconcile') $$,
                  $$ VALUES ('REFUND_RECORDED') $$, 'refunded at Telegram: REFUND_RECORDED');
SELECT is((SELECT status FROM billing.purchases WHERE purchase_id = (SELECT purchase_id FROM inv)), 'REFUNDED',
          'and the purchase is refunded here too');
SELECT results_eq($$ SELECT outcome FROM api.reconcile_star_payment('rc-charge-1', 9301, 250, true, 'reconcile') $$,
                  $$ VALUES ('MATCHED') $$, 'a second run finds it matched');
SELECT results_eq($$ SELECT outcome FROM api.reconcile_star_payment('rc-unknown-1', 9301, 5, false, 'reconcile') $$,
                  $$ VALUES ('UNKNOWN_CHARGE') $$, 'a charge we never recorded: UNKNOWN_CHARGE');
SELECT is((SELECT severity FROM ops.alert_outbox WHERE event = 'payments.unknown_charge'), 'critical',
          'with a critical alert');
SELECT results_eq($$ SELECT outcome FROM api.reconcile_star_payment('rc-charge-1', 9301, 999, false, 'reconcile') $$,
                  $$ VALUES ('AMOUNT_DIFFERS') $$, 'another amount than recorded: AMOUNT_DIFFERS');
SELECT throws_ok($$ SELECT * FROM api.reconcile_star_payment('', 9301, 1, false, 'reconcile') $$, 'SP422',
                 'invalid argument p_telegram_payment_charge_id', 'an empty charge id is refused');
SELECT throws_ok($$ SELECT * FROM api.reconcile_star_payment('rc-charge-1', 0, 1, false, 'reconcile') $$, 'SP422',
                 'invalid argument p_user_id', 'user id 0 is refused');

SELECT * FROM finish();
ROLLBACK;
