-- The bot's payment support: api.open_payment_support and api.request_purchase_refund, and a
-- data-deletion request that clears what a user wrote to support. Every outcome and refusal.
BEGIN;
SELECT plan(42);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-09-01 00:00:00+00';

-- Users 9101-9199; pg_temp.buy (helpers.psql) makes paid purchases.

UPDATE ops.clock SET frozen_at = '2030-09-02 02:00:00+00';

-- ---------------------------------------------------------------------------------------------
-- open_payment_support
CREATE TEMP TABLE sup AS SELECT * FROM api.open_payment_support(9140, E'  Zahlung hängt seit gestern \n ', 'tg-update:support-1');
SELECT results_eq(
    $$ SELECT r.user_id, r.message, r.created_at, s.created_at, s.replayed
       FROM sup AS s JOIN billing.support_requests AS r USING (support_request_id) $$,
    $$ VALUES (9140::bigint, 'Zahlung hängt seit gestern', '2030-09-02 02:00:00+00'::timestamptz,
               '2030-09-02 02:00:00+00'::timestamptz, false) $$,
    'the request is stored with the message trimmed; its id and time are returned');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 9140), 1::bigint, 'the unknown user is created');
SELECT results_eq(
    $$ SELECT event, severity, state, dedup_key, details FROM ops.alert_outbox WHERE event = 'payments.support_request' $$,
    $$ SELECT 'payments.support_request', 'warning', 'pending', 'payments.support_request:' || support_request_id,
              jsonb_build_object('support_request_id', support_request_id, 'user_id', 9140)
       FROM sup $$,
    'the alert payments.support_request names the request and the user');
SELECT is_empty(
    $$ SELECT alert_id FROM ops.alert_outbox
       WHERE event = 'payments.support_request' AND (summary ~* 'zahlung|gestern' OR details::text ~* 'zahlung|gestern') $$,
    'the alert carries no message text');
INSERT INTO sup SELECT * FROM api.open_payment_support(9140, '  ' || repeat('m', 2000) || '  ', 'tg-update:support-2');
SELECT is((SELECT message FROM billing.support_requests WHERE support_request_id = (SELECT max(support_request_id) FROM sup)),
          repeat('m', 2000), 'a message of 2000 characters after trimming is taken');
SELECT is((SELECT count(*) FROM ops.alert_outbox WHERE event = 'payments.support_request'), 2::bigint,
          'each request raises its own alert');
SELECT results_eq(
    $$ SELECT support_request_id, replayed FROM api.open_payment_support(9140, 'anything', 'tg-update:support-1') $$,
    $$ SELECT support_request_id, true FROM sup ORDER BY support_request_id LIMIT 1 $$,
    'a redelivered update replays the first ticket');
SELECT results_eq(
    $$ SELECT outcome, support_request_id, created_at, replayed
       FROM api.open_payment_support(9142, 'other user', 'tg-update:support-1') $$,
    $$ VALUES ('IDEMPOTENCY_CONFLICT', NULL::bigint, NULL::timestamptz, false) $$,
    'the key of another user''s request is IDEMPOTENCY_CONFLICT');
SELECT is((SELECT count(*) FROM billing.support_requests WHERE user_id = 9142), 0::bigint,
          'a conflict opens no request');
SELECT results_eq(
    $$ SELECT outcome, replayed FROM sup ORDER BY support_request_id $$,
    $$ VALUES ('OPENED', false), ('OPENED', false) $$,
    'a new request is OPENED');
SELECT results_eq(
    $$ SELECT k.request_hash, k.result FROM ops.idempotency_keys AS k
       WHERE k.scope = 'billing.open_payment_support' AND k.idempotency_key = 'tg-update:support-1' $$,
    $$ SELECT ops.request_hash(jsonb_build_array(9140::bigint)), to_jsonb(s) FROM sup AS s
       ORDER BY support_request_id LIMIT 1 $$,
    'the key is bound to its user and stores the answer whole');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(9140, 'help', 'short') $$, 'SP422',
                 'invalid argument p_idempotency_key', 'a malformed key is refused');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(9140, '', 'tg-update:support-x') $$, 'SP422', 'invalid argument p_message',
                 'an empty message is refused');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(9140, '    ', 'tg-update:support-x') $$, 'SP422', 'invalid argument p_message',
                 'a blank message is refused');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(9140, NULL, 'tg-update:support-x') $$, 'SP422', 'invalid argument p_message',
                 'a missing message is refused');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(9141, repeat('m', 2001), 'tg-update:support-x') $$, 'SP422',
                 'invalid argument p_message', 'a 2001-character message is refused');
SELECT throws_ok($$ SELECT * FROM api.open_payment_support(0, 'help', 'tg-update:support-x') $$, 'SP422', 'invalid argument p_user_id',
                 'user id 0 is refused');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.support_requests), (SELECT count(*) FROM ops.alert_outbox
                                                                WHERE event = 'payments.support_request'),
              (SELECT count(*) FROM core.users WHERE user_id = 9141) $$,
    $$ VALUES (2::bigint, 2::bigint, 0::bigint) $$,
    'refusals store no request, raise no alert, create no user');

-- ---------------------------------------------------------------------------------------------
-- request_purchase_refund
CREATE TEMP TABLE p AS
SELECT pg_temp.buy('refund-paid', 9150, 'premium_30d') AS paid,
       pg_temp.buy('refund-done', 9150, 'premium_90d') AS refunded,
       (SELECT purchase_id FROM api.init_purchase(9150, 'premium_30d', NULL, 'refund-init')) AS init;
SELECT is((SELECT outcome FROM api.mark_purchase_refunded('charge-refund-done', 'support:anna', 'earlier refund')),
          'REFUNDED', 'one purchase was refunded before');
CREATE TEMP TABLE p_other AS
SELECT (SELECT purchase_id FROM api.init_purchase(9151, 'premium_30d', NULL, 'refund-cancel')) AS cancelled,
       (SELECT purchase_id FROM api.init_purchase(9151, 'premium_90d', NULL, 'refund-prechecked')) AS prechecked;
UPDATE billing.purchases SET status = 'CANCELLED', cancelled_at = ops.now()
WHERE purchase_id = (SELECT cancelled FROM p_other);
SELECT is((SELECT ok FROM api.precheckout_purchase(9151, (SELECT invoice_payload FROM billing.purchases
                                                          WHERE purchase_id = (SELECT prechecked FROM p_other)),
                                                   'XTR', 600)), true, 'one purchase passed pre-checkout');
CREATE TEMP TABLE audit_before AS SELECT count(*) AS n FROM ops.audit_log;

UPDATE ops.clock SET frozen_at = '2030-09-02 03:00:00+00';
CREATE TEMP TABLE rq AS SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), 'support:ben', '  customer asked  ');
SELECT results_eq(
    $$ SELECT purchase_id, user_id, telegram_payment_charge_id, status, refund_request_id IS NOT NULL FROM rq $$,
    $$ VALUES ((SELECT paid FROM p), 9150::bigint, 'charge-refund-paid', 'PAID', true) $$,
    'a PAID purchase: what refundStarPayment needs and the refund request''s id');
SELECT results_eq(
    $$ SELECT r.purchase_id, r.requested_at, r.actor, r.reason FROM billing.refund_requests AS r
       WHERE r.refund_request_id = (SELECT refund_request_id FROM rq) $$,
    $$ VALUES ((SELECT paid FROM p), '2030-09-02 03:00:00+00'::timestamptz, 'support:ben', 'customer asked') $$,
    'the request is recorded (reason trimmed)');
SELECT results_eq(
    $$ SELECT actor, action, target_type, target_id, reason, details FROM ops.audit_log
       WHERE action = 'billing.refund_requested' $$,
    $$ SELECT 'support:ben', 'billing.refund_requested', 'purchase', (SELECT paid FROM p)::text, 'customer asked',
              jsonb_build_object('refund_request_id', refund_request_id)
       FROM rq $$,
    'and audited billing.refund_requested');
SELECT is((SELECT status FROM billing.purchases WHERE purchase_id = (SELECT paid FROM p)), 'PAID',
          'the purchase stays PAID until Telegram confirms');
SELECT isnt((SELECT refund_request_id FROM api.request_purchase_refund((SELECT paid FROM p), 'support:ben', 'retry')),
            (SELECT refund_request_id FROM rq), 'a retry while still PAID records another request');
SELECT results_eq(
    $$ SELECT purchase_id, user_id, telegram_payment_charge_id, status, refund_request_id
       FROM api.request_purchase_refund((SELECT refunded FROM p), 'support:ben', 'again') $$,
    $$ VALUES ((SELECT refunded FROM p), 9150::bigint, 'charge-refund-done', 'REFUNDED', NULL::bigint) $$,
    'a REFUNDED purchase: status REFUNDED and no request id');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.refund_requests WHERE purchase_id = (SELECT refunded FROM p)),
              (SELECT count(*) FROM ops.audit_log WHERE action = 'billing.refund_requested'
                                                    AND target_id = (SELECT refunded FROM p)::text) $$,
    $$ VALUES (0::bigint, 0::bigint) $$, 'which records nothing');

SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund(999999999, 'support:ben', 'x') $$,
                 'SP404', 'purchase not found', 'an unknown purchase is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund(NULL, 'support:ben', 'x') $$,
                 'SP404', 'purchase not found', 'a missing purchase id is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT init FROM p), 'support:ben', 'x') $$,
                 'SP409', 'purchase is not paid', 'an INIT purchase is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT prechecked FROM p_other), 'support:ben', 'x') $$,
                 'SP409', 'purchase is not paid', 'a PRECHECKOUT_OK purchase is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT cancelled FROM p_other), 'support:ben', 'x') $$,
                 'SP409', 'purchase is not paid', 'a CANCELLED purchase is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), NULL, 'x') $$,
                 'SP422', 'invalid argument p_actor', 'a missing actor is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), '', 'x') $$,
                 'SP422', 'invalid argument p_actor', 'an empty actor is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), repeat('a', 129), 'x') $$,
                 'SP422', 'invalid argument p_actor', 'a 129-character actor is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), 'support:ben', NULL) $$,
                 'SP422', 'invalid argument p_reason', 'a missing reason is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), 'support:ben', '   ') $$,
                 'SP422', 'invalid argument p_reason', 'a blank reason is refused');
SELECT throws_ok($$ SELECT * FROM api.request_purchase_refund((SELECT paid FROM p), 'support:ben', repeat('r', 1001)) $$,
                 'SP422', 'invalid argument p_reason', 'a 1001-character reason is refused');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM billing.refund_requests), (SELECT count(*) FROM ops.audit_log) $$,
    $$ SELECT 2::bigint, n + 2 FROM audit_before $$,
    'only the two requests of PAID purchases were recorded and audited; refusals wrote nothing');


-- A data-deletion request also clears what the user wrote to payment support (personal data,
-- not a financial record); the requests themselves stay.
SELECT results_eq($$ SELECT outcome FROM api.delete_user_data(9140) $$, $$ VALUES ('DELETED') $$,
                  'user 9140, who wrote to support, asks for deletion');
SELECT results_eq(
    $$ SELECT count(*), count(*) FILTER (WHERE message = '(deleted at the user''s request)')
       FROM billing.support_requests WHERE user_id = 9140 $$,
    $$ VALUES (2::bigint, 2::bigint) $$, 'the support requests stay, their text is gone');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after these scenarios');
SELECT * FROM finish();
ROLLBACK;
