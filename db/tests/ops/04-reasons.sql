-- Every refusal names its condition: a RAISE with a project SQLSTATE (class SP) sets a stable
-- reason in the CONSTRAINT field (docs/errors.md), one SQLSTATE per reason; and each condition
-- is raised with its reason (throws_ok cannot see that field: pg_temp.refusal reads it).
BEGIN;
SELECT plan(48);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-06-01 00:00:00+00';

-- The RAISE statements of the project's PL/pgSQL functions: each piece after RAISE, up to the
-- first semicolon that ends a line (a HINT may hold a semicolon mid-line).
CREATE TEMP VIEW project_raises AS
SELECT p.oid::regprocedure::text AS fn,
       substring(stmt FROM '(?i)ERRCODE\s*=\s*''(SP\w+)''') AS errcode,
       substring(stmt FROM '(?i)CONSTRAINT\s*=\s*''([^'']*)''') AS reason,
       stmt
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_language AS l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
CROSS JOIN LATERAL regexp_split_to_table(p.prosrc, '\mRAISE\M', 'i') WITH ORDINALITY AS s(piece, i)
CROSS JOIN LATERAL (SELECT regexp_replace(s.piece, ';[ \t]*\n.*$', '') AS stmt) AS t
WHERE n.nspname IN ('api', 'core', 'billing', 'promo', 'referral', 'ops')
  AND s.i > 1
  AND (t.stmt ~* 'ERRCODE\s*=\s*''SP' OR t.stmt ~* '^\s*(EXCEPTION\s+)?SQLSTATE\s+''SP');

SELECT cmp_ok((SELECT count(*) FROM project_raises), '>=', 38::bigint,
              'the catalogue check finds the project''s raises (functions and trigger functions)');
SELECT is_empty($$ SELECT fn, stmt FROM project_raises
                   WHERE errcode IS NULL OR reason IS NULL OR reason !~ '^[a-z][a-z0-9]*(_[a-z0-9]+)*$' $$,
                'every RAISE with an SP SQLSTATE sets ERRCODE and a snake_case CONSTRAINT reason');
SELECT is_empty($$ SELECT reason, array_agg(DISTINCT errcode) FROM project_raises
                   GROUP BY reason HAVING count(DISTINCT errcode) > 1 $$,
                'a reason belongs to one SQLSTATE');
SELECT ok(EXISTS (SELECT FROM project_raises WHERE fn = 'ops.refuse_mutation()' AND reason = 'append_only'),
          'trigger functions defined by migrations are covered');

-- 'SQLSTATE reason' of the error a statement raises (the error is caught: nothing is written).
CREATE FUNCTION pg_temp.refusal(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_state   text;
    v_reason  text;
BEGIN
    EXECUTE p_sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_reason = CONSTRAINT_NAME;
    RETURN v_state || ' ' || coalesce(nullif(v_reason, ''), '(no reason)');
END
$$;

SELECT api.touch_user(u, 'user' || u, 'User', 'de') FROM generate_series(4401, 4406) AS u;
SELECT api.create_promo_code('REASON-DISCOUNT-20', 'PERCENT_DISCOUNT', 'reasons 20 %', p_discount_percent => 20,
                             p_max_uses => 20);
SELECT api.create_promo_code('REASON-GRANT-7', 'PREMIUM_GRANT', 'reasons grant', p_grant_days => 7);
SELECT pg_temp.reserve(u::text, u, 'REASON-DISCOUNT-20') FROM generate_series(4401, 4402) AS u;
CREATE TEMP TABLE granted AS
SELECT (api.redeem_promo_code(4403, 'REASON-GRANT-7', 'grant-4403')).promo_redemption_id AS rid;
CREATE TEMP TABLE opened AS
SELECT * FROM api.init_purchase(4401, 'premium_30d', pg_temp.rid('4401'), 'init-4401');

-- SP422
SELECT is(pg_temp.refusal($$ SELECT ops.check_argument(false, 'p_x', 'bad', NULL) $$), 'SP422 invalid_argument',
          'invalid_argument (without a hint)');
SELECT is(pg_temp.refusal($$ SELECT ops.check_argument(NULL, 'p_x', 'bad', 'do this') $$), 'SP422 invalid_argument',
          'invalid_argument (with a hint)');
SELECT is(pg_temp.refusal($$ SELECT api.set_promo_campaign_status(1, 'EXPIRED', 'test', 'why') $$), 'SP422 invalid_argument',
          'an api function''s argument check carries invalid_argument');

-- SP404
SELECT is(pg_temp.refusal($$ SELECT api.set_setting('no.such_setting', '1', 'test') $$), 'SP404 setting_not_found',
          'setting_not_found');
SELECT is(pg_temp.refusal($$ SELECT api.get_promo_campaign(-1) $$), 'SP404 campaign_not_found',
          'campaign_not_found (get)');
SELECT is(pg_temp.refusal($$ SELECT api.set_promo_campaign_status(-1, 'PAUSED', 'test', 'why') $$),
          'SP404 campaign_not_found', 'campaign_not_found (set status)');
SELECT is(pg_temp.refusal($$ SELECT billing.post_ledger_entry(4499, 'ADMIN_ADJUSTMENT', 1, 5) $$),
          'SP404 user_not_found', 'user_not_found');
SELECT is(pg_temp.refusal($$ SELECT api.route_alert(-1, ARRAY['generic']) $$), 'SP404 alert_not_found', 'alert_not_found (route)');
SELECT is(pg_temp.refusal($$ SELECT api.retry_alert(-1, 'test') $$), 'SP404 alert_not_found', 'alert_not_found (retry)');
SELECT is(pg_temp.refusal($$ SELECT api.ack_alert_delivery(-1, 1) $$), 'SP404 delivery_not_found', 'delivery_not_found (ack)');
SELECT is(pg_temp.refusal($$ SELECT api.fail_alert_delivery(-1, 1, 'e', NULL) $$), 'SP404 delivery_not_found',
          'delivery_not_found (fail)');
SELECT is(pg_temp.refusal($$ SELECT api.mark_purchase_refunded('no-such-charge', 'test', 'r') $$),
          'SP404 paid_purchase_not_found', 'paid_purchase_not_found');
SELECT is(pg_temp.refusal($$ SELECT api.request_purchase_refund(-1, 'test', 'r') $$), 'SP404 purchase_not_found',
          'purchase_not_found (refund request)');
SELECT is(pg_temp.refusal($$ SELECT api.rollback_refunded_promo(-1, 'test', 'rollback-missing') $$),
          'SP404 purchase_not_found', 'purchase_not_found (rollback)');
SELECT is(pg_temp.refusal($$ SELECT api.init_purchase(4402, 'no_such_plan', NULL, 'init-noplan') $$),
          'SP404 plan_not_found', 'plan_not_found');
SELECT is(pg_temp.refusal($$ SELECT api.init_purchase(4402, 'premium_30d', -1, 'init-norsv') $$),
          'SP404 reservation_not_found', 'reservation_not_found');

-- SP409
-- A key reused with other arguments is the outcome IDEMPOTENCY_CONFLICT (the same code over
-- HTTP), not a refusal, in every function of the idempotency protocol.
SELECT is(pg_temp.refusal($$ SELECT api.init_purchase(4401, 'premium_365d', NULL, 'init-4401') $$),
          'no error', 'an idempotency conflict of init_purchase is an outcome, not a refusal');
SELECT api.open_payment_support(4401, 'where is my premium', 'support-1');
SELECT is(pg_temp.refusal($$ SELECT api.open_payment_support(4402, 'where is my premium', 'support-1') $$),
          'no error', 'an idempotency conflict of open_payment_support is an outcome, not a refusal');
UPDATE billing.plans SET is_active = false WHERE plan_code = 'premium_90d';
SELECT is(pg_temp.refusal($$ SELECT api.init_purchase(4402, 'premium_90d', NULL, 'init-withdrawn') $$),
          'SP409 plan_withdrawn', 'plan_withdrawn');
SELECT is(pg_temp.refusal($$ SELECT api.init_purchase(4403, 'premium_30d', (SELECT rid FROM granted), 'init-grant') $$),
          'SP409 reservation_not_usable', 'reservation_not_usable');
SELECT is(pg_temp.refusal($$ SELECT api.init_purchase(4401, 'premium_365d', pg_temp.rid('4401'),
                                                      'init-4401-b') $$),
          'SP409 reservation_backs_purchase', 'reservation_backs_purchase');
SELECT is(pg_temp.refusal($$ SELECT api.request_purchase_refund((SELECT purchase_id FROM opened), 'test', 'r') $$),
          'SP409 purchase_not_paid', 'purchase_not_paid');
SELECT is(pg_temp.refusal($$ SELECT api.rollback_refunded_promo((SELECT purchase_id FROM opened), 'test', 'rollback-open') $$),
          'SP409 purchase_not_refunded', 'purchase_not_refunded');
SELECT is(pg_temp.refusal($$ UPDATE billing.purchases SET status = 'REFUNDED'
                              WHERE purchase_id = (SELECT purchase_id FROM opened) $$),
          'SP409 forbidden_purchase_transition', 'forbidden_purchase_transition');
SELECT is(pg_temp.refusal($$ UPDATE billing.purchases SET price_stars = price_stars + 1
                              WHERE purchase_id = (SELECT purchase_id FROM opened) $$),
          'SP409 purchase_terms_immutable', 'purchase_terms_immutable');
SELECT is(pg_temp.refusal($$ UPDATE promo.promo_redemptions SET status = 'REVOKED'
                              WHERE promo_redemption_id = pg_temp.rid('4402') $$),
          'SP409 forbidden_redemption_transition', 'forbidden_redemption_transition');
SELECT is(pg_temp.refusal($$ UPDATE promo.promo_redemptions SET user_id = 4406
                              WHERE promo_redemption_id = pg_temp.rid('4402') $$),
          'SP409 redemption_immutable', 'redemption_immutable');
SELECT is(pg_temp.refusal($$ UPDATE ops.audit_log SET actor = actor $$), 'SP409 append_only', 'append_only (update)');
SELECT is(pg_temp.refusal($$ DELETE FROM promo.promo_attempts $$), 'SP409 append_only', 'append_only (delete)');
SELECT is(pg_temp.refusal($$ SELECT api.adjust_premium_days(4404, -5, 'test', 'remove') $$),
          'SP409 no_premium_to_remove', 'no_premium_to_remove');
SELECT billing.post_ledger_entry(4404, 'ADMIN_ADJUSTMENT', 991, 5);
SELECT is(pg_temp.refusal($$ SELECT billing.post_ledger_entry(4404, 'ADMIN_ADJUSTMENT', 991, 5) $$),
          'SP409 ledger_entry_booked', 'ledger_entry_booked');

-- A paid purchase, then its charge id reported with other details.
SELECT ok((SELECT ok FROM api.precheckout_purchase(4401, (SELECT invoice_payload FROM opened), 'XTR',
                                                   (SELECT price_stars FROM opened))), 'setup: pre-checkout');
SELECT is((SELECT outcome FROM api.complete_purchase(4401, (SELECT invoice_payload FROM opened), 'charge-reasons',
                                                     'XTR', (SELECT price_stars FROM opened))), 'PAID', 'setup: paid');
SELECT is(pg_temp.refusal($$ SELECT api.complete_purchase(4401, (SELECT invoice_payload FROM opened), 'charge-reasons',
                                                          'XTR', (SELECT price_stars FROM opened) + 1) $$),
          'no error', 'a charge id seen with other details is the outcome IDEMPOTENCY_CONFLICT, not a refusal');

SELECT is(pg_temp.refusal($$ SELECT api.set_promo_campaign_status(referral.discount_campaign_id(), 'PAUSED', 'test', 'why') $$),
          'SP409 campaign_internal', 'campaign_internal');
UPDATE promo.promo_codes SET status = 'EXPIRED', expired_at = ops.now() WHERE campaign = 'reasons grant';
SELECT is(pg_temp.refusal($$ SELECT api.set_promo_campaign_status(
                                  (SELECT promo_code_id FROM promo.promo_codes WHERE campaign = 'reasons grant'),
                                  'PAUSED', 'test', 'why') $$),
          'SP409 campaign_ended', 'campaign_ended');
SELECT api.create_promo_code('REASON-SHORT-1', 'PREMIUM_GRANT', 'reasons short', p_grant_days => 1,
                             p_ends_at => '2030-06-02 00:00:00+00');
SELECT api.set_promo_campaign_status((SELECT promo_code_id FROM promo.promo_codes WHERE campaign = 'reasons short'),
                                     'PAUSED', 'test', 'hold');
UPDATE ops.clock SET frozen_at = '2030-06-03 00:00:00+00';
SELECT is(pg_temp.refusal($$ SELECT api.set_promo_campaign_status(
                                  (SELECT promo_code_id FROM promo.promo_codes WHERE campaign = 'reasons short'),
                                  'ACTIVE', 'test') $$),
          'SP409 campaign_past_end', 'campaign_past_end');

SELECT ops.raise_alert('jobs.failed', 'error', 'reasons', '{}', 'reasons-alert');
SELECT is(pg_temp.refusal($$ SELECT api.retry_alert((SELECT max(alert_id) FROM ops.alert_outbox), 'test') $$),
          'SP409 alert_not_dead', 'alert_not_dead');
UPDATE ops.alert_outbox SET state = 'dead', dead_at = ops.now() WHERE dedup_key = 'reasons-alert';
UPDATE ops.clock SET frozen_at = frozen_at + interval '11 minutes';  -- past the dedup window
SELECT ops.raise_alert('jobs.failed', 'error', 'reasons again', '{}', 'reasons-alert');
SELECT is(pg_temp.refusal($$ SELECT api.retry_alert((SELECT min(alert_id) FROM ops.alert_outbox WHERE dedup_key = 'reasons-alert'), 'test') $$),
          'SP409 alert_key_pending', 'alert_key_pending');

-- SPDUP
SELECT is(pg_temp.refusal($$ SELECT api.create_promo_code('REASON-DISCOUNT-20', 'PREMIUM_GRANT', 'again',
                                                          p_grant_days => 1) $$),
          'SPDUP duplicate_code', 'duplicate_code');

-- SP500
SELECT is(pg_temp.refusal($$ SELECT ops.setting_value('promo.reservation_ttl', 'integer') $$),
          'SP500 setting_misconfigured', 'setting_misconfigured');
SET LOCAL promo.pepper = '';
SELECT is(pg_temp.refusal($$ SELECT promo.pepper() $$), 'SP500 pepper_not_set', 'pepper_not_set');
SET LOCAL promo.pepper = 'too-short';
SELECT is(pg_temp.refusal($$ SELECT promo.pepper() $$), 'SP500 pepper_too_short', 'pepper_too_short');
SET LOCAL promo.pepper = 'another-pepper-0123456789-0123456789-abcdef';
SELECT is(pg_temp.refusal($$ SELECT api.create_promo_code('REASON-ROTATION-1', 'PREMIUM_GRANT', 'rotation',
                                                          p_grant_days => 1) $$),
          'SP500 pepper_previous_not_set', 'pepper_previous_not_set');

SELECT * FROM finish();
ROLLBACK;
