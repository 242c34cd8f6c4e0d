-- api.redeem_promo_code at its edges: contract violations (raised, nothing written), a campaign
-- past its end, a pepper rotation (a code hashed under the previous pepper is still found, a key
-- bound before it replays).
BEGIN;
SELECT plan(18);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-04-01 00:00:00+00';
INSERT INTO camp VALUES
    ('ending', api.create_promo_code('ENDING-SOON-01', 'PREMIUM_GRANT', 'One hour only', p_grant_days => 1,
                                     p_ends_at => '2030-04-01 01:00:00+00'));

-- Contract violations raise and write nothing.
CREATE TEMP TABLE attempts_before AS
SELECT (SELECT count(*) FROM promo.promo_attempts) AS attempts, (SELECT count(*) FROM core.users) AS users;
SELECT throws_ok($$ SELECT * FROM api.redeem_promo_code(0, 'GRANT-APRIL-30', 'key-0000-zero') $$,
                 'SP422', 'invalid argument p_user_id', 'user id 0 is refused');
SELECT throws_ok($$ SELECT * FROM api.redeem_promo_code(NULL, 'GRANT-APRIL-30', 'key-null-user') $$,
                 'SP422', 'invalid argument p_user_id', 'a missing user id is refused');
SELECT throws_ok($$ SELECT * FROM api.redeem_promo_code(3199, 'GRANT-APRIL-30', 'key-319') $$,
                 'SP422', 'invalid argument p_idempotency_key', 'a 7-character idempotency key is refused');
SELECT lives_ok($$ SELECT * FROM api.redeem_promo_code(3198, 'NOT-A-CODE-XY', 'key-3198') $$,
                'an 8-character idempotency key is accepted');
SELECT throws_ok(format('SELECT * FROM api.redeem_promo_code(3199, %L, %L)', 'GRANT-APRIL-30', repeat('k', 129)),
                 'SP422', 'invalid argument p_idempotency_key', 'a 129-character idempotency key is refused');
SELECT throws_ok($$ SELECT * FROM api.redeem_promo_code(3199, 'GRANT-APRIL-30', 'key 3199 with space') $$,
                 'SP422', 'invalid argument p_idempotency_key', 'an idempotency key with a space is refused');
SELECT throws_ok($$ SELECT * FROM api.redeem_promo_code(3199, 'GRANT-APRIL-30', NULL) $$,
                 'SP422', 'invalid argument p_idempotency_key', 'a missing idempotency key is refused');
SET LOCAL promo.pepper = '';
SELECT throws_ok($$ SELECT * FROM api.redeem_promo_code(3199, 'GRANT-APRIL-30', 'key-3199-nopepper') $$,
                 'SP500', 'promo.pepper is not set', 'without a pepper nothing is redeemed');
SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM promo.promo_attempts), (SELECT count(*) FROM core.users) $$,
    $$ SELECT attempts + 1, users + 1 FROM attempts_before $$,
    'contract violations logged no attempt and created no user (only the accepted call did)');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 3199), 0::bigint, 'the refused user does not exist');

-- EXPIRED: ends_at passed while the status is still ACTIVE.
UPDATE ops.clock SET frozen_at = '2030-04-01 02:00:00+00';
INSERT INTO res SELECT 'expired', * FROM api.redeem_promo_code(3114, 'ENDING-SOON-01', 'key-3114-ending');
SELECT results_eq(
    $$ SELECT outcome, promo_code_id, promo_redemption_id FROM res WHERE label = 'expired' $$,
    $$ VALUES ('EXPIRED', pg_temp.cid('ending'), NULL::bigint) $$,
    'a campaign past ends_at is EXPIRED');
SELECT is((SELECT status FROM promo.promo_codes WHERE promo_code_id = pg_temp.cid('ending')), 'ACTIVE',
          'even though its status still says ACTIVE');
SELECT is((SELECT count(*) FROM promo.promo_redemptions WHERE promo_code_id = pg_temp.cid('ending')), 0::bigint,
          'and nothing was redeemed');

-- Pepper rotation: a code hashed under the previous pepper is still found, and a key bound
-- before the rotation still replays.
INSERT INTO camp VALUES ('rotate', api.create_promo_code('ROTATE-OLD-30', 'PREMIUM_GRANT', 'Before rotation',
                                                         p_grant_days => 30, p_max_uses => 5));
INSERT INTO res SELECT 'before rotation', * FROM api.redeem_promo_code(3115, 'ROTATE-OLD-30', 'key-3115-before');
SET LOCAL promo.pepper_previous = 'test-pepper-0123456789-0123456789-abcdef';
SET LOCAL promo.pepper = 'rotated-pepper-9876543210-9876543210-zyxw';
INSERT INTO res SELECT 'after rotation', * FROM api.redeem_promo_code(3116, 'ROTATE-OLD-30', 'key-3116-after');
SELECT results_eq(
    $$ SELECT label, outcome, promo_code_id, premium_until FROM res
       WHERE label IN ('before rotation', 'after rotation') ORDER BY label $$,
    $$ VALUES ('after rotation', 'APPLIED', pg_temp.cid('rotate'), '2030-05-01 02:00:00+00'::timestamptz),
              ('before rotation', 'APPLIED', pg_temp.cid('rotate'), '2030-05-01 02:00:00+00'::timestamptz) $$,
    'after a pepper rotation a code hashed under the previous pepper is still redeemed');
INSERT INTO res SELECT 'rotation replay', * FROM api.redeem_promo_code(3115, 'rotate old 30', 'key-3115-before');
SELECT results_eq(
    $$ SELECT outcome, promo_redemption_id, replayed FROM res WHERE label = 'rotation replay' $$,
    $$ SELECT 'APPLIED', promo_redemption_id, true FROM res WHERE label = 'before rotation' $$,
    'a key bound before the rotation replays after it');
INSERT INTO res SELECT 'rotation again', * FROM api.redeem_promo_code(3115, 'ROTATE-OLD-30', 'key-3115-again');
SELECT is((SELECT outcome FROM res WHERE label = 'rotation again'), 'ALREADY_REDEEMED',
          'and the per-user limit still holds across the rotation');

SELECT is_empty(
    $$ SELECT a.attempt_id FROM promo.promo_attempts AS a
       WHERE regexp_replace(upper(row_to_json(a)::text), '[^A-Z0-9]', '', 'g') ~ 'ROTATEOLD30|NOTACODEXY|GRANTAPRIL30|ENDINGSOON01' $$,
    'no attempt row stores a code, in any spelling');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after these calls');

SELECT * FROM finish();
ROLLBACK;
