-- api.redeem_promo_code: every outcome, replays, idempotency conflicts, and the attempt log
-- behind them (contract violations, a campaign past its end, a pepper rotation: 03-redeem-edges.sql).
BEGIN;
SELECT plan(40);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-04-01 00:00:00+00';

INSERT INTO camp VALUES
    ('grant',    api.create_promo_code('GRANT-APRIL-30', 'PREMIUM_GRANT', 'April grant', p_grant_days => 30,
                                       p_max_uses => 3)),
    ('discount', api.create_promo_code('DISCOUNT-APRIL-25', 'PERCENT_DISCOUNT', 'April discount',
                                       p_discount_percent => 25, p_max_uses => 10)),
    ('future',   api.create_promo_code('FUTURE-MAY-07', 'PREMIUM_GRANT', 'May grant', p_grant_days => 7,
                                       p_starts_at => '2030-05-01 00:00:00+00')),
    ('paused',   api.create_promo_code('PAUSED-APRIL-07', 'PREMIUM_GRANT', 'Paused grant', p_grant_days => 7)),
    ('single',   api.create_promo_code('SINGLE-USE-07', 'PREMIUM_GRANT', 'Single use', p_grant_days => 7,
                                       p_max_uses => 1)),
    ('hold',     api.create_promo_code('HOLD-ONE-10', 'PERCENT_DISCOUNT', 'One discount', p_discount_percent => 10,
                                       p_max_uses => 1)),
    ('revoke',   api.create_promo_code('REVOKE-TEST-07', 'PREMIUM_GRANT', 'Revocable', p_grant_days => 7,
                                       p_max_uses => 10)),
    ('reuse',    api.create_promo_code('REUSE-AFTER-10', 'PERCENT_DISCOUNT', 'Reusable hold', p_discount_percent => 10,
                                       p_max_uses => 1));

-- Every answer, by label.

-- APPLIED.
INSERT INTO res SELECT 'applied', * FROM api.redeem_promo_code(3101, 'grant-april-30', 'key-3101-applied');
SELECT results_eq(
    $$ SELECT outcome, promo_code_id, kind, grant_days, discount_percent, reserved_until, premium_until,
              blocked_until, replayed
       FROM res WHERE label = 'applied' $$,
    $$ VALUES ('APPLIED', pg_temp.cid('grant'), 'PREMIUM_GRANT', 30, NULL::integer, NULL::timestamptz,
               '2030-05-01 00:00:00+00'::timestamptz, NULL::timestamptz, false) $$,
    'a premium code is APPLIED: premium_until = now + grant_days');
SELECT results_eq(
    $$ SELECT r.promo_code_id, r.user_id, r.kind, r.status, r.created_at, r.reserved_until
       FROM promo.promo_redemptions AS r
       WHERE r.promo_redemption_id = (SELECT promo_redemption_id FROM res WHERE label = 'applied') $$,
    $$ VALUES (pg_temp.cid('grant'), 3101::bigint, 'PREMIUM_GRANT', 'APPLIED',
               '2030-04-01 00:00:00+00'::timestamptz, NULL::timestamptz) $$,
    'the redemption is stored as APPLIED');
SELECT results_eq(
    $$ SELECT user_id, kind, ref_type, ref_id, premium_days_delta, premium_until_after, actor
       FROM billing.ledger WHERE user_id = 3101 $$,
    $$ VALUES (3101::bigint, 'PROMO_PREMIUM', 'promo_redemption',
               (SELECT promo_redemption_id FROM res WHERE label = 'applied'), 30,
               '2030-05-01 00:00:00+00'::timestamptz, 'promo') $$,
    'the grant is booked as PROMO_PREMIUM referencing the redemption');
SELECT is((SELECT premium_until FROM billing.entitlements WHERE user_id = 3101),
          '2030-05-01 00:00:00+00'::timestamptz, 'the user is premium until now + 30 days');
SELECT results_eq(
    $$ SELECT s.slot_no, s.used, s.held FROM promo.capacity_slots AS s
       WHERE s.promo_code_id = pg_temp.cid('grant') AND (s.used > 0 OR s.held > 0) $$,
    $$ SELECT r.slot_no, 1, 0 FROM promo.promo_redemptions AS r
       WHERE r.promo_redemption_id = (SELECT promo_redemption_id FROM res WHERE label = 'applied') $$,
    'exactly the redemption''s capacity slot has used + 1');

-- RESERVED.
INSERT INTO res SELECT 'reserved', * FROM api.redeem_promo_code(3102, 'Discount April 25', 'key-3102-first');
SELECT results_eq(
    $$ SELECT outcome, promo_code_id, kind, grant_days, discount_percent, reserved_until, premium_until,
              blocked_until, replayed
       FROM res WHERE label = 'reserved' $$,
    $$ VALUES ('RESERVED', pg_temp.cid('discount'), 'PERCENT_DISCOUNT', NULL::integer, 25,
               '2030-04-01 00:15:00+00'::timestamptz, NULL::timestamptz, NULL::timestamptz, false) $$,
    'a discount code is RESERVED for promo.reservation_ttl (15 minutes)');
SELECT results_eq(
    $$ SELECT r.user_id, r.status, r.reserved_until, s.used, s.held
       FROM promo.promo_redemptions AS r
       JOIN promo.capacity_slots AS s USING (promo_code_id, slot_no)
       WHERE r.promo_redemption_id = (SELECT promo_redemption_id FROM res WHERE label = 'reserved') $$,
    $$ VALUES (3102::bigint, 'RESERVED', '2030-04-01 00:15:00+00'::timestamptz, 0, 1) $$,
    'the reservation holds one unit of its slot');
INSERT INTO res SELECT 'reserved again', * FROM api.redeem_promo_code(3102, 'DISCOUNTAPRIL25', 'key-3102-second');
SELECT results_eq(
    $$ SELECT outcome, promo_redemption_id, reserved_until, replayed FROM res WHERE label = 'reserved again' $$,
    $$ SELECT 'RESERVED', promo_redemption_id, reserved_until, false FROM res WHERE label = 'reserved' $$,
    'a second call with a new key hands back the live reservation');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM promo.promo_redemptions WHERE user_id = 3102),
              (SELECT sum(held) FROM promo.capacity_slots WHERE promo_code_id = pg_temp.cid('discount')) $$,
    $$ VALUES (1::bigint, 1::bigint) $$,
    'no second redemption was made and still one unit is held');
SELECT is((SELECT changed FROM api.set_setting('promo.reservation_ttl', '20 minutes', 'test', 'longer holds')),
          true, 'the reservation ttl is set to 20 minutes');
INSERT INTO res SELECT 'reserved 20', * FROM api.redeem_promo_code(3103, 'DISCOUNT-APRIL-25', 'key-3103-first');
SELECT is((SELECT reserved_until FROM res WHERE label = 'reserved 20'), '2030-04-01 00:20:00+00'::timestamptz,
          'the hold follows the setting promo.reservation_ttl');
SELECT is((SELECT changed FROM api.set_setting('promo.reservation_ttl', '15 minutes', 'test', 'back to normal')),
          true, 'and back to 15 minutes');

-- Refusals that never reach a campaign.
INSERT INTO res SELECT 'not found', * FROM api.redeem_promo_code(3104, 'NO-SUCH-CODE', 'key-3104-notfound');
SELECT results_eq(
    $$ SELECT outcome, promo_code_id, promo_redemption_id, kind, blocked_until, replayed
       FROM res WHERE label = 'not found' $$,
    $$ VALUES ('NOT_FOUND', NULL::bigint, NULL::bigint, NULL::text, NULL::timestamptz, false) $$,
    'an unknown code is NOT_FOUND');
INSERT INTO res SELECT 'invalid', * FROM api.redeem_promo_code(3104, 'BAD_CODE!', 'key-3104-invalid');
SELECT results_eq(
    $$ SELECT outcome, promo_code_id, promo_redemption_id, replayed FROM res WHERE label = 'invalid' $$,
    $$ VALUES ('INVALID_CODE', NULL::bigint, NULL::bigint, false) $$,
    'input that cannot be a code is INVALID_CODE');
INSERT INTO res SELECT 'invalid null', * FROM api.redeem_promo_code(3104, NULL, 'key-3104-nullcode');
SELECT is((SELECT outcome FROM res WHERE label = 'invalid null'), 'INVALID_CODE', 'a NULL code is INVALID_CODE');

-- Refusals by the campaign.
INSERT INTO res SELECT 'not started', * FROM api.redeem_promo_code(3105, 'FUTURE-MAY-07', 'key-3105-future');
SELECT results_eq(
    $$ SELECT outcome, promo_code_id, kind, grant_days, promo_redemption_id FROM res WHERE label = 'not started' $$,
    $$ VALUES ('NOT_STARTED', pg_temp.cid('future'), 'PREMIUM_GRANT', 7, NULL::bigint) $$,
    'a campaign that starts in the future is NOT_STARTED');
UPDATE promo.promo_codes SET status = 'PAUSED', paused_at = '2030-04-01 00:00:00+00', paused_reason = 'x'
WHERE promo_code_id = pg_temp.cid('paused');
INSERT INTO res SELECT 'paused', * FROM api.redeem_promo_code(3105, 'PAUSED-APRIL-07', 'key-3105-paused');
SELECT results_eq(
    $$ SELECT outcome, promo_code_id, promo_redemption_id FROM res WHERE label = 'paused' $$,
    $$ VALUES ('PAUSED', pg_temp.cid('paused'), NULL::bigint) $$,
    'a paused campaign is PAUSED');

-- DEPLETED.
INSERT INTO res SELECT 'single applied', * FROM api.redeem_promo_code(3106, 'SINGLE-USE-07', 'key-3106-single');
INSERT INTO res SELECT 'single depleted', * FROM api.redeem_promo_code(3107, 'SINGLE-USE-07', 'key-3107-single');
SELECT results_eq(
    $$ SELECT label, outcome, promo_code_id, promo_redemption_id IS NOT NULL FROM res
       WHERE label IN ('single applied', 'single depleted') ORDER BY label $$,
    $$ VALUES ('single applied', 'APPLIED', pg_temp.cid('single'), true),
              ('single depleted', 'DEPLETED', pg_temp.cid('single'), false) $$,
    'once max_uses is reached the next user gets DEPLETED');
INSERT INTO res SELECT 'hold reserved', * FROM api.redeem_promo_code(3108, 'HOLD-ONE-10', 'key-3108-hold');
INSERT INTO res SELECT 'hold depleted', * FROM api.redeem_promo_code(3109, 'HOLD-ONE-10', 'key-3109-hold');
SELECT results_eq(
    $$ SELECT label, outcome, reserved_until FROM res
       WHERE label IN ('hold reserved', 'hold depleted') ORDER BY label $$,
    $$ VALUES ('hold depleted', 'DEPLETED', NULL::timestamptz),
              ('hold reserved', 'RESERVED', '2030-04-01 00:15:00+00'::timestamptz) $$,
    'a live reservation of another user counts against max_uses');

-- ALREADY_REDEEMED.
INSERT INTO res SELECT 'already', * FROM api.redeem_promo_code(3101, 'GRANT-APRIL-30', 'key-3101-again');
SELECT results_eq(
    $$ SELECT outcome, promo_code_id, promo_redemption_id, premium_until FROM res WHERE label = 'already' $$,
    $$ VALUES ('ALREADY_REDEEMED', pg_temp.cid('grant'), NULL::bigint, NULL::timestamptz) $$,
    'a user at per_user_limit gets ALREADY_REDEEMED');
INSERT INTO res SELECT 'revocable', * FROM api.redeem_promo_code(3110, 'REVOKE-TEST-07', 'key-3110-first');
UPDATE promo.promo_redemptions
SET status = 'REVOKED', revoked_at = '2030-04-01 00:00:00+00', revoked_reason = 'refund'
WHERE promo_redemption_id = (SELECT promo_redemption_id FROM res WHERE label = 'revocable');
INSERT INTO res SELECT 'after revoke', * FROM api.redeem_promo_code(3110, 'REVOKE-TEST-07', 'key-3110-second');
SELECT results_eq(
    $$ SELECT label, outcome FROM res WHERE label IN ('revocable', 'after revoke') ORDER BY label $$,
    $$ VALUES ('after revoke', 'ALREADY_REDEEMED'), ('revocable', 'APPLIED') $$,
    'a REVOKED redemption still counts against per_user_limit');
INSERT INTO res SELECT 'reuse first', * FROM api.redeem_promo_code(3111, 'REUSE-AFTER-10', 'key-3111-first');
SELECT is((SELECT outcome FROM res WHERE label = 'reuse first'), 'RESERVED', 'a reservation to let lapse');

-- Replays: same key, same user, same code (any spelling): the first answer, nothing new.
CREATE TEMP TABLE counts_before AS
SELECT (SELECT count(*) FROM promo.promo_redemptions) AS redemptions, (SELECT count(*) FROM billing.ledger) AS ledger,
       (SELECT sum(used) FROM promo.capacity_slots) AS used, (SELECT sum(held) FROM promo.capacity_slots) AS held;
INSERT INTO res SELECT 'replay applied', * FROM api.redeem_promo_code(3101, ' Grant April 30 ', 'key-3101-applied');
SELECT results_eq(
    $$ SELECT outcome, promo_redemption_id, promo_code_id, kind, grant_days, discount_percent, reserved_until,
              premium_until, blocked_until, replayed
       FROM res WHERE label = 'replay applied' $$,
    $$ SELECT outcome, promo_redemption_id, promo_code_id, kind, grant_days, discount_percent, reserved_until,
              premium_until, blocked_until, true
       FROM res WHERE label = 'applied' $$,
    'a replay returns the first answer, marked replayed');
INSERT INTO res SELECT 'replay reserved', * FROM api.redeem_promo_code(3102, 'ｄｉｓｃｏｕｎｔａｐｒｉｌ２５', 'key-3102-first');
SELECT results_eq(
    $$ SELECT outcome, promo_redemption_id, reserved_until, replayed FROM res WHERE label = 'replay reserved' $$,
    $$ SELECT outcome, promo_redemption_id, reserved_until, true FROM res WHERE label = 'reserved' $$,
    'a reservation replays too (full-width spelling of the same code)');
INSERT INTO res SELECT 'replay not found', * FROM api.redeem_promo_code(3104, 'no such code', 'key-3104-notfound');
SELECT results_eq(
    $$ SELECT outcome, replayed FROM res WHERE label = 'replay not found' $$,
    $$ VALUES ('NOT_FOUND', true) $$, 'a refusal replays as the same refusal');
INSERT INTO res SELECT 'replay invalid', * FROM api.redeem_promo_code(3104, 'BAD_CODE!', 'key-3104-invalid');
SELECT results_eq(
    $$ SELECT outcome, replayed FROM res WHERE label = 'replay invalid' $$,
    $$ VALUES ('INVALID_CODE', true) $$, 'an invalid input replays by its raw form');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM promo.promo_redemptions), (SELECT count(*) FROM billing.ledger),
              (SELECT sum(used) FROM promo.capacity_slots), (SELECT sum(held) FROM promo.capacity_slots) $$,
    $$ SELECT redemptions, ledger, used, held FROM counts_before $$,
    'replays made no redemption, no ledger entry and used no capacity');

-- IDEMPOTENCY_CONFLICT.
INSERT INTO res SELECT 'conflict user', * FROM api.redeem_promo_code(3112, 'GRANT-APRIL-30', 'key-3101-applied');
SELECT results_eq(
    $$ SELECT outcome, promo_redemption_id, promo_code_id, kind, premium_until, replayed
       FROM res WHERE label = 'conflict user' $$,
    $$ VALUES ('IDEMPOTENCY_CONFLICT', NULL::bigint, NULL::bigint, NULL::text, NULL::timestamptz, false) $$,
    'the same key from another user is an IDEMPOTENCY_CONFLICT that reveals nothing');
INSERT INTO res SELECT 'conflict code', * FROM api.redeem_promo_code(3101, 'DISCOUNT-APRIL-25', 'key-3101-applied');
SELECT results_eq(
    $$ SELECT outcome, promo_redemption_id, replayed FROM res WHERE label = 'conflict code' $$,
    $$ VALUES ('IDEMPOTENCY_CONFLICT', NULL::bigint, false) $$,
    'the same key and user with another code is an IDEMPOTENCY_CONFLICT');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM promo.promo_redemptions), (SELECT count(*) FROM billing.ledger),
              (SELECT sum(used) FROM promo.capacity_slots), (SELECT sum(held) FROM promo.capacity_slots) $$,
    $$ SELECT redemptions, ledger, used, held FROM counts_before $$,
    'conflicts made no redemption, no ledger entry and used no capacity');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 3112), 0::bigint,
          'a conflicting request does not create its user');

-- Later: lapsed reservations.
UPDATE ops.clock SET frozen_at = '2030-04-01 00:16:00+00';
INSERT INTO res SELECT 'hold after lapse', * FROM api.redeem_promo_code(3113, 'HOLD-ONE-10', 'key-3113-hold');
SELECT results_eq(
    $$ SELECT outcome, reserved_until FROM res WHERE label = 'hold after lapse' $$,
    $$ VALUES ('RESERVED', '2030-04-01 00:31:00+00'::timestamptz) $$,
    'a reservation whose hold ran out does not count: the next user gets RESERVED');
SELECT results_eq(
    $$ SELECT status, expired_at FROM promo.promo_redemptions
       WHERE promo_redemption_id = (SELECT promo_redemption_id FROM res WHERE label = 'hold reserved') $$,
    $$ VALUES ('EXPIRED', '2030-04-01 00:16:00+00'::timestamptz) $$,
    'and the lapsed reservation became EXPIRED');
SELECT results_eq(
    $$ SELECT sum(used), sum(held), sum(capacity) FROM promo.capacity_slots WHERE promo_code_id = pg_temp.cid('hold') $$,
    $$ VALUES (0::bigint, 1::bigint, 1::bigint) $$, 'its unit was handed to the new reservation');
INSERT INTO res SELECT 'reuse again', * FROM api.redeem_promo_code(3111, 'REUSE-AFTER-10', 'key-3111-second');
SELECT results_eq(
    $$ SELECT outcome, reserved_until, promo_redemption_id <> (SELECT promo_redemption_id FROM res WHERE label = 'reuse first')
       FROM res WHERE label = 'reuse again' $$,
    $$ VALUES ('RESERVED', '2030-04-01 00:31:00+00'::timestamptz, true) $$,
    'a user whose own reservation lapsed may reserve again (an EXPIRED reservation does not count)');
SELECT results_eq(
    $$ SELECT status FROM promo.promo_redemptions WHERE user_id = 3111 ORDER BY promo_redemption_id $$,
    $$ VALUES ('EXPIRED'), ('RESERVED') $$, 'the old reservation is EXPIRED, the new one RESERVED');

-- The attempt log: every call that got an answer, in order.
SELECT results_eq(
    $$ SELECT user_id, outcome, counted, replayed, promo_code_id, promo_redemption_id IS NOT NULL,
              binding
       FROM promo.promo_attempts ORDER BY attempt_id $$,
    $$ VALUES (3101::bigint, 'APPLIED', false, false, pg_temp.cid('grant'), true, true),
              (3102::bigint, 'RESERVED', false, false, pg_temp.cid('discount'), true, true),
              (3102::bigint, 'RESERVED', false, false, pg_temp.cid('discount'), true, true),
              (3103::bigint, 'RESERVED', false, false, pg_temp.cid('discount'), true, true),
              (3104::bigint, 'NOT_FOUND', true, false, NULL::bigint, false, true),
              (3104::bigint, 'INVALID_CODE', true, false, NULL::bigint, false, true),
              (3104::bigint, 'INVALID_CODE', true, false, NULL::bigint, false, true),
              (3105::bigint, 'NOT_STARTED', true, false, pg_temp.cid('future'), false, true),
              (3105::bigint, 'PAUSED', true, false, pg_temp.cid('paused'), false, true),
              (3106::bigint, 'APPLIED', false, false, pg_temp.cid('single'), true, true),
              (3107::bigint, 'DEPLETED', true, false, pg_temp.cid('single'), false, true),
              (3108::bigint, 'RESERVED', false, false, pg_temp.cid('hold'), true, true),
              (3109::bigint, 'DEPLETED', true, false, pg_temp.cid('hold'), false, true),
              (3101::bigint, 'ALREADY_REDEEMED', true, false, pg_temp.cid('grant'), false, true),
              (3110::bigint, 'APPLIED', false, false, pg_temp.cid('revoke'), true, true),
              (3110::bigint, 'ALREADY_REDEEMED', true, false, pg_temp.cid('revoke'), false, true),
              (3111::bigint, 'RESERVED', false, false, pg_temp.cid('reuse'), true, true),
              (3101::bigint, 'APPLIED', false, true, pg_temp.cid('grant'), true, false),
              (3102::bigint, 'RESERVED', false, true, pg_temp.cid('discount'), true, false),
              (3104::bigint, 'NOT_FOUND', false, true, NULL::bigint, false, false),
              (3104::bigint, 'INVALID_CODE', false, true, NULL::bigint, false, false),
              (3112::bigint, 'IDEMPOTENCY_CONFLICT', true, false, NULL::bigint, false, false),
              (3101::bigint, 'IDEMPOTENCY_CONFLICT', true, false, NULL::bigint, false, false),
              (3113::bigint, 'RESERVED', false, false, pg_temp.cid('hold'), true, true),
              (3111::bigint, 'RESERVED', false, false, pg_temp.cid('reuse'), true, true) $$,
    'every attempt is logged with its outcome, counted flag and campaign; only first answers are binding');
SELECT results_eq(
    $$ SELECT a.idempotency_key::text, k.result->>'outcome', (k.result->>'replayed')::boolean
       FROM promo.promo_attempts AS a
       JOIN ops.idempotency_keys AS k ON k.scope = 'promo.redeem' AND k.idempotency_key = a.idempotency_key
       WHERE a.binding AND a.user_id = 3101 ORDER BY a.attempt_id $$,
    $$ VALUES ('key-3101-applied', 'APPLIED', false), ('key-3101-again', 'ALREADY_REDEEMED', false) $$,
    'a binding attempt stores the answer for its key');
SELECT is_empty(
    $$ SELECT a.attempt_id, v.code
       FROM promo.promo_attempts AS a
       CROSS JOIN (VALUES ('GRANTAPRIL30'), ('DISCOUNTAPRIL25'), ('FUTUREMAY07'),
                          ('PAUSEDAPRIL07'), ('SINGLEUSE07'), ('HOLDONE10'), ('REVOKETEST07'),
                          ('REUSEAFTER10'), ('NOSUCHCODE'), ('BADCODE')) AS v (code)
       WHERE regexp_replace(upper(row_to_json(a)::text), '[^A-Z0-9]', '', 'g') LIKE '%' || v.code || '%' $$,
    'no attempt row stores a code, in any spelling');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the scenario');

SELECT * FROM finish();
ROLLBACK;
