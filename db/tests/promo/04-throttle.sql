-- The redemption throttle: counted failures in a sliding window block a user; blocked attempts
-- are THROTTLED and not counted; api.get_promo_throttle / api.reset_promo_throttle; settings.
BEGIN;
SELECT plan(55);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-05-01 00:00:00+00';

INSERT INTO camp VALUES
    ('grant',    api.create_promo_code('THROTTLE-GRANT-30', 'PREMIUM_GRANT', 'Throttle grant', p_grant_days => 30)),
    ('discount', api.create_promo_code('THROTTLE-DISC-20', 'PERCENT_DISCOUNT', 'Throttle discount',
                                       p_discount_percent => 20));

-- Four counted failures: not blocked yet.
INSERT INTO res SELECT 'fail 1', * FROM api.redeem_promo_code(4101, 'WRONG-CODE-1', 'key-4101-fail-1');
INSERT INTO res SELECT 'fail 2', * FROM api.redeem_promo_code(4101, 'WRONG_CODE', 'key-4101-fail-2');
INSERT INTO res SELECT 'fail 3', * FROM api.redeem_promo_code(4101, 'WRONG-CODE-3', 'key-4101-fail-3');
INSERT INTO res SELECT 'fail 4', * FROM api.redeem_promo_code(4101, 'WRONG-CODE-4', 'key-4101-fail-4');
SELECT results_eq(
    $$ SELECT label, outcome, blocked_until FROM res WHERE label LIKE 'fail _' ORDER BY label $$,
    $$ VALUES ('fail 1', 'NOT_FOUND', NULL::timestamptz), ('fail 2', 'INVALID_CODE', NULL),
              ('fail 3', 'NOT_FOUND', NULL), ('fail 4', 'NOT_FOUND', NULL) $$,
    'four failures in the window do not block');
SELECT results_eq(
    $$ SELECT user_id, is_blocked, blocked_until, failures_in_window, max_failures, window_length, counting_since
       FROM api.get_promo_throttle(4101) $$,
    $$ VALUES (4101::bigint, false, NULL::timestamptz, 4::bigint, 5, interval '24 hours', NULL::timestamptz) $$,
    'get_promo_throttle shows 4 of 5 failures, not blocked');

-- The fifth blocks, and still answers with its own outcome.
INSERT INTO res SELECT 'fail 5', * FROM api.redeem_promo_code(4101, 'WRONG-CODE-5', 'key-4101-fail-5');
SELECT results_eq(
    $$ SELECT outcome, blocked_until, replayed FROM res WHERE label = 'fail 5' $$,
    $$ VALUES ('NOT_FOUND', '2030-05-01 01:00:00+00'::timestamptz, false) $$,
    'the 5th failure returns its own outcome with blocked_until = now + 60 minutes');
SELECT results_eq(
    $$ SELECT is_blocked, blocked_until, failures_in_window, max_failures FROM api.get_promo_throttle(4101) $$,
    $$ VALUES (true, '2030-05-01 01:00:00+00'::timestamptz, 5::bigint, 5) $$,
    'get_promo_throttle shows the block');
SELECT results_eq(
    $$ SELECT blocked_until, blocked_at FROM promo.user_throttle WHERE user_id = 4101 $$,
    $$ VALUES ('2030-05-01 01:00:00+00'::timestamptz, '2030-05-01 00:00:00+00'::timestamptz) $$,
    'the block is stored with when it began');

-- While blocked: THROTTLED, not counted, nothing consumed.
UPDATE ops.clock SET frozen_at = '2030-05-01 00:30:00+00';
INSERT INTO res SELECT 'throttled', * FROM api.redeem_promo_code(4101, 'THROTTLE-GRANT-30', 'key-4101-valid');
SELECT results_eq(
    $$ SELECT outcome, blocked_until, promo_code_id, promo_redemption_id, kind, premium_until, replayed
       FROM res WHERE label = 'throttled' $$,
    $$ VALUES ('THROTTLED', '2030-05-01 01:00:00+00'::timestamptz, NULL::bigint, NULL::bigint, NULL::text,
               NULL::timestamptz, false) $$,
    'a blocked user is THROTTLED even with a valid code, and learns nothing about it');
SELECT results_eq(
    $$ SELECT outcome, counted, binding,
              NOT EXISTS (SELECT FROM ops.idempotency_keys AS k
                          WHERE k.scope = 'promo.redeem' AND k.idempotency_key = 'key-4101-valid')
       FROM promo.promo_attempts WHERE idempotency_key = 'key-4101-valid' $$,
    $$ VALUES ('THROTTLED', false, false, true) $$,
    'the THROTTLED attempt is logged, not counted and not binding');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM promo.promo_redemptions WHERE user_id = 4101),
              (SELECT count(*) FROM billing.ledger WHERE user_id = 4101),
              (SELECT sum(used) + sum(held) FROM promo.capacity_slots) $$,
    $$ VALUES (0::bigint, 0::bigint, 0::bigint) $$,
    'a THROTTLED attempt consumes nothing');
INSERT INTO res SELECT 'replay fail 2', * FROM api.redeem_promo_code(4101, 'WRONG_CODE', 'key-4101-fail-2');
SELECT results_eq(
    $$ SELECT outcome, blocked_until, replayed FROM res WHERE label = 'replay fail 2' $$,
    $$ VALUES ('INVALID_CODE', NULL::timestamptz, true) $$,
    'during the block a replay of an earlier refused key returns the original result');
INSERT INTO res SELECT 'replay fail 5', * FROM api.redeem_promo_code(4101, 'wrong code 5', 'key-4101-fail-5');
SELECT results_eq(
    $$ SELECT outcome, blocked_until, replayed FROM res WHERE label = 'replay fail 5' $$,
    $$ VALUES ('NOT_FOUND', '2030-05-01 01:00:00+00'::timestamptz, true) $$,
    'the replay of the blocking attempt returns its original answer, block included');
SELECT results_eq(
    $$ SELECT count(*) FILTER (WHERE replayed), count(*) FILTER (WHERE replayed AND counted)
       FROM promo.promo_attempts WHERE user_id = 4101 $$,
    $$ VALUES (2::bigint, 0::bigint) $$, 'replays are logged and not counted');
SELECT results_eq(
    $$ SELECT is_blocked, blocked_until, failures_in_window FROM api.get_promo_throttle(4101) $$,
    $$ VALUES (true, '2030-05-01 01:00:00+00'::timestamptz, 5::bigint) $$,
    'neither the THROTTLED attempt nor the replays counted or extended the block');

-- After the block: the failures are still in the window, so one more blocks again.
UPDATE ops.clock SET frozen_at = '2030-05-01 01:01:00+00';
SELECT results_eq(
    $$ SELECT is_blocked, blocked_until, failures_in_window FROM api.get_promo_throttle(4101) $$,
    $$ VALUES (false, NULL::timestamptz, 5::bigint) $$,
    'the block has run out but the failures remain in the window');
INSERT INTO res SELECT 'fail 6', * FROM api.redeem_promo_code(4101, 'WRONG-CODE-6', 'key-4101-fail-6');
SELECT results_eq(
    $$ SELECT outcome, blocked_until FROM res WHERE label = 'fail 6' $$,
    $$ VALUES ('NOT_FOUND', '2030-05-01 02:01:00+00'::timestamptz) $$,
    'one more failure after the block blocks again at once');

-- APPLIED and RESERVED do not count (and a THROTTLED key is free to be used again).
UPDATE ops.clock SET frozen_at = '2030-05-01 02:02:00+00';
INSERT INTO res SELECT 'applied', * FROM api.redeem_promo_code(4101, 'THROTTLE-GRANT-30', 'key-4101-valid');
INSERT INTO res SELECT 'reserved', * FROM api.redeem_promo_code(4101, 'THROTTLE-DISC-20', 'key-4101-disc');
SELECT results_eq(
    $$ SELECT label, outcome, blocked_until, replayed FROM res WHERE label IN ('applied', 'reserved') ORDER BY label $$,
    $$ VALUES ('applied', 'APPLIED', NULL::timestamptz, false), ('reserved', 'RESERVED', NULL, false) $$,
    'after the block the key that was THROTTLED is processed afresh');
SELECT results_eq(
    $$ SELECT outcome, counted FROM promo.promo_attempts
       WHERE user_id = 4101 AND outcome IN ('APPLIED', 'RESERVED') ORDER BY attempt_id $$,
    $$ VALUES ('APPLIED', false), ('RESERVED', false) $$, 'APPLIED and RESERVED are not counted');
SELECT results_eq(
    $$ SELECT is_blocked, failures_in_window FROM api.get_promo_throttle(4101) $$,
    $$ VALUES (false, 6::bigint) $$, 'successes neither count nor block');

-- After 24 hours the first failures drop out of the window.
UPDATE ops.clock SET frozen_at = '2030-05-02 00:01:00+00';
SELECT results_eq(
    $$ SELECT is_blocked, failures_in_window FROM api.get_promo_throttle(4101) $$,
    $$ VALUES (false, 1::bigint) $$, 'after 24 h only the failure of 01:01 remains in the window');
INSERT INTO res SELECT 'fail 7', * FROM api.redeem_promo_code(4101, 'WRONG-CODE-7', 'key-4101-fail-7');
SELECT results_eq(
    $$ SELECT outcome, blocked_until FROM res WHERE label = 'fail 7' $$,
    $$ VALUES ('NOT_FOUND', NULL::timestamptz) $$, 'so one more failure no longer blocks');
SELECT is((SELECT failures_in_window FROM api.get_promo_throttle(4101)), 2::bigint,
          'two failures in the window now');

-- api.reset_promo_throttle.
UPDATE ops.clock SET frozen_at = '2030-05-03 00:00:00+00';
INSERT INTO res SELECT 'u2 fail ' || i, r.*
FROM generate_series(1, 5) AS i,
     LATERAL api.redeem_promo_code(4102, 'NOPE-CODE-' || i, 'key-4102-fail-' || i) AS r;
SELECT results_eq(
    $$ SELECT is_blocked, blocked_until, failures_in_window FROM api.get_promo_throttle(4102) $$,
    $$ VALUES (true, '2030-05-03 01:00:00+00'::timestamptz, 5::bigint) $$, 'a second user is blocked');
SELECT is((SELECT promo_blocked_until FROM core.users WHERE user_id = 4102), '2030-05-03 01:00:00+00'::timestamptz,
          'the block is mirrored on the user row the redemption reads');
SELECT throws_ok($$ SELECT * FROM api.reset_promo_throttle(4102, 'support-bob', NULL) $$,
                 'SP422', 'invalid argument p_reason', 'a reset without a reason is refused');
SELECT throws_ok($$ SELECT * FROM api.reset_promo_throttle(4102, 'support-bob', '  ') $$,
                 'SP422', 'invalid argument p_reason', 'a reset with a blank reason is refused');
SELECT throws_ok($$ SELECT * FROM api.reset_promo_throttle(0, 'support-bob', 'ticket') $$,
                 'SP422', 'invalid argument p_user_id', 'a reset of user id 0 is refused');
SELECT throws_ok($$ SELECT * FROM api.reset_promo_throttle(4102, '', 'ticket') $$,
                 'SP422', 'invalid argument p_actor', 'a reset without an actor is refused');
SELECT is((SELECT count(*) FROM ops.audit_log WHERE action = 'promo.throttle_reset'), 0::bigint,
          'refused resets wrote no audit row');
SELECT results_eq(
    $$ SELECT user_id, is_blocked, blocked_until, failures_in_window, max_failures, counting_since, changed
       FROM api.reset_promo_throttle(4102, 'support-bob', 'ticket #42') $$,
    $$ VALUES (4102::bigint, false, NULL::timestamptz, 0::bigint, 5, '2030-05-03 00:00:00+00'::timestamptz, true) $$,
    'a reset unblocks, restarts the count and reports changed');
SELECT results_eq(
    $$ SELECT actor, action, target_type, target_id, reason, (details->>'blocked_until')::timestamptz,
              (details->>'failures_in_window')::int
       FROM ops.audit_log WHERE action = 'promo.throttle_reset' $$,
    $$ VALUES ('support-bob', 'promo.throttle_reset', 'user', '4102', 'ticket #42',
               '2030-05-03 01:00:00+00'::timestamptz, 5) $$,
    'the reset is audited with what it lifted');
SELECT results_eq(
    $$ SELECT blocked_until, blocked_at, counting_since FROM promo.user_throttle WHERE user_id = 4102 $$,
    $$ VALUES (NULL::timestamptz, NULL::timestamptz, '2030-05-03 00:00:00+00'::timestamptz) $$,
    'the stored state is cleared and counts from the reset');
SELECT is((SELECT promo_blocked_until FROM core.users WHERE user_id = 4102), NULL::timestamptz,
          'and the mirror is cleared with it');
SELECT results_eq(
    $$ SELECT changed, is_blocked, failures_in_window
       FROM api.reset_promo_throttle(4102, 'support-bob', 'ticket #42 again') $$,
    $$ VALUES (false, false, 0::bigint) $$, 'a second reset changes nothing');
SELECT is((SELECT count(*) FROM ops.audit_log WHERE action = 'promo.throttle_reset'), 1::bigint,
          'and writes no audit row');
SELECT results_eq(
    $$ SELECT changed, is_blocked, failures_in_window FROM api.reset_promo_throttle(4199, 'support-bob', 'unknown') $$,
    $$ VALUES (false, false, 0::bigint) $$, 'resetting a user with nothing to reset changes nothing');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 4199), 0::bigint, 'and creates no user');
SELECT throws_ok($$ SELECT * FROM api.reset_promo_throttle(4199, NULL, 'no actor') $$,
                 'SP422', 'invalid argument p_actor',
                 'a reset without an actor is refused even when there is nothing to reset');
INSERT INTO res SELECT 'u2 after reset', * FROM api.redeem_promo_code(4102, 'THROTTLE-GRANT-30', 'key-4102-valid');
SELECT results_eq(
    $$ SELECT outcome, blocked_until FROM res WHERE label = 'u2 after reset' $$,
    $$ VALUES ('APPLIED', NULL::timestamptz) $$, 'right after the reset the user can redeem');

UPDATE ops.clock SET frozen_at = '2030-05-03 00:01:00+00';
INSERT INTO res SELECT 'u2 fail after ' || i, r.*
FROM generate_series(1, 4) AS i,
     LATERAL api.redeem_promo_code(4102, 'AGAIN-NOPE-' || i, 'key-4102-again-' || i) AS r;
SELECT results_eq(
    $$ SELECT is_blocked, failures_in_window FROM api.get_promo_throttle(4102) $$,
    $$ VALUES (false, 4::bigint) $$,
    'failures before the reset no longer count: 4 new ones do not block');
INSERT INTO res SELECT 'u2 fail after 5', * FROM api.redeem_promo_code(4102, 'AGAIN-NOPE-5', 'key-4102-again-5');
SELECT is((SELECT blocked_until FROM res WHERE label = 'u2 fail after 5'), '2030-05-03 01:01:00+00'::timestamptz,
          'the 5th failure after the reset blocks');

-- get_promo_throttle for a user it knows nothing about, and its refusal.
SELECT results_eq(
    $$ SELECT user_id, is_blocked, blocked_until, failures_in_window, max_failures, counting_since
       FROM api.get_promo_throttle(4198) $$,
    $$ VALUES (4198::bigint, false, NULL::timestamptz, 0::bigint, 5, NULL::timestamptz) $$,
    'an unknown user is not blocked and has no failures');
SELECT throws_ok($$ SELECT * FROM api.get_promo_throttle(-1) $$, 'SP422', 'invalid argument p_user_id',
                 'get_promo_throttle refuses a bad user id');

-- A request during a block with a key bound to another user is answered before the throttle
-- check (IDEMPOTENCY_CONFLICT); it must not count as a new failure nor extend the block.
INSERT INTO res SELECT 'u5 fail ' || i, r.*
FROM generate_series(1, 5) AS i,
     LATERAL api.redeem_promo_code(4105, 'BLOCK-NOPE-' || i, 'key-4105-fail-' || i) AS r;
SELECT results_eq(
    $$ SELECT is_blocked, blocked_until, failures_in_window FROM api.get_promo_throttle(4105) $$,
    $$ VALUES (true, '2030-05-03 01:01:00+00'::timestamptz, 5::bigint) $$, 'a fourth user is blocked');
UPDATE ops.clock SET frozen_at = '2030-05-03 00:31:00+00';
INSERT INTO res SELECT 'u5 conflict', * FROM api.redeem_promo_code(4105, 'THROTTLE-GRANT-30', 'key-4102-valid');
SELECT results_eq(
    $$ SELECT is_blocked, blocked_until, failures_in_window FROM api.get_promo_throttle(4105) $$,
    $$ VALUES (true, '2030-05-03 01:01:00+00'::timestamptz, 5::bigint) $$,
    'an attempt during the block with another user''s key is not counted and does not extend the block');

-- The thresholds come from settings.
SELECT is((SELECT changed FROM api.set_setting('promo.throttle_max_failures', '2', 'ops-alice', 'stricter')), true,
          'max failures set to 2');
SELECT is((SELECT changed FROM api.set_setting('promo.throttle_block', '10 minutes', 'ops-alice', 'shorter')), true,
          'block set to 10 minutes');
INSERT INTO res SELECT 'u3 fail 1', * FROM api.redeem_promo_code(4103, 'STRICT-NOPE-1', 'key-4103-fail-1');
SELECT is((SELECT blocked_until FROM res WHERE label = 'u3 fail 1'), NULL::timestamptz,
          'with max_failures 2 the first failure does not block');
INSERT INTO res SELECT 'u3 fail 2', * FROM api.redeem_promo_code(4103, 'STRICT-NOPE-2', 'key-4103-fail-2');
SELECT is((SELECT blocked_until FROM res WHERE label = 'u3 fail 2'), '2030-05-03 00:41:00+00'::timestamptz,
          'the 2nd failure blocks, for the configured 10 minutes');
SELECT results_eq(
    $$ SELECT is_blocked, failures_in_window, max_failures FROM api.get_promo_throttle(4103) $$,
    $$ VALUES (true, 2::bigint, 2) $$, 'get_promo_throttle reports the configured threshold');
SELECT is((SELECT changed FROM api.set_setting('promo.throttle_window', '1 minute', 'ops-alice', 'tiny window')), true,
          'window set to 1 minute');
UPDATE ops.clock SET frozen_at = '2030-05-03 00:32:01+00';
SELECT results_eq(
    $$ SELECT is_blocked, failures_in_window, window_length FROM api.get_promo_throttle(4102) $$,
    $$ VALUES (true, 0::bigint, interval '1 minute') $$,
    'the window length comes from the setting too (the block itself stays until it runs out)');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the scenario');

-- An operator block, lifted by a reset.
SELECT results_eq($$ SELECT user_id, blocked_until FROM api.block_promo_user(4199, ops.now() + interval '2 days', 'ops-oncall', 'abuse report') $$,
                  $$ VALUES (4199::bigint, ops.now() + interval '2 days') $$, 'an operator blocks a user');
SELECT is((api.redeem_promo_code(4199, 'ANYCODE99', 'key-4199-blocked')).outcome, 'THROTTLED',
          'a blocked user is THROTTLED');
SELECT throws_ok($$ SELECT * FROM api.block_promo_user(4199, ops.now() - interval '1 minute', 'ops', 'x') $$,
                 'SP422', 'invalid argument p_until', 'a block must end in the future');
SELECT is((SELECT count(*) FROM ops.audit_log WHERE action = 'promo.user_blocked' AND target_id = '4199'), 1::bigint,
          'the block is audited');
SELECT * FROM finish();
ROLLBACK;
