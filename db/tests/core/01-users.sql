-- api.touch_user: create, update, and every refusal (which changes nothing).
BEGIN;
SELECT plan(22);

UPDATE ops.clock SET frozen_at = '2030-01-01 00:00:00+00';
SELECT results_eq(
    $$ SELECT user_id, username, first_name, language_code, created_at, updated_at, created
       FROM api.touch_user(1001, 'anna_b', 'Anna', 'de') $$,
    $$ VALUES (1001::bigint, 'anna_b', 'Anna', 'de', '2030-01-01 00:00:00+00'::timestamptz,
               '2030-01-01 00:00:00+00'::timestamptz, true) $$,
    'a new user is created');

UPDATE ops.clock SET frozen_at = '2030-01-02 00:00:00+00';
SELECT results_eq(
    $$ SELECT created, updated_at FROM api.touch_user(1001, 'anna_b', 'Anna', 'de') $$,
    $$ VALUES (false, '2030-01-01 00:00:00+00'::timestamptz) $$,
    'the same profile again is no change');
SELECT is((SELECT last_seen_at FROM core.users WHERE user_id = 1001),
          '2030-01-02 00:00:00+00'::timestamptz, 'but the user was seen again');

SELECT results_eq(
    $$ SELECT username, first_name, language_code, updated_at, created
       FROM api.touch_user(1001, NULL, 'Anna B.', 'en') $$,
    $$ VALUES (NULL::text, 'Anna B.', 'en', '2030-01-02 00:00:00+00'::timestamptz, false) $$,
    'a changed profile replaces the stored one (a removed username is removed)');

SELECT results_eq($$ SELECT created FROM api.touch_user(1002) $$, $$ VALUES (true) $$,
                  'only the id is needed');
SELECT results_eq($$ SELECT language_code FROM api.touch_user(1003, p_language_code => 'pt-br') $$,
                  $$ VALUES ('pt-br') $$, 'a regional language tag is accepted');

SELECT throws_ok($$ SELECT * FROM api.touch_user(0) $$, 'SP422', 'invalid argument p_user_id',
                 'user id 0 is refused');
SELECT throws_ok($$ SELECT * FROM api.touch_user(-5) $$, 'SP422', 'invalid argument p_user_id',
                 'a negative user id is refused');
SELECT throws_ok($$ SELECT * FROM api.touch_user(NULL) $$, 'SP422', 'invalid argument p_user_id',
                 'a missing user id is refused');
SELECT throws_ok($$ SELECT * FROM api.touch_user(1004, '@anna') $$, 'SP422',
                 'invalid argument p_username', 'a username with @ is refused');
SELECT throws_ok($$ SELECT * FROM api.touch_user(1004, repeat('a', 33)) $$, 'SP422',
                 'invalid argument p_username', 'a 33-character username is refused');
SELECT throws_ok($$ SELECT * FROM api.touch_user(1004, 'anna', '') $$, 'SP422',
                 'invalid argument p_first_name', 'an empty first name is refused');
SELECT throws_ok($$ SELECT * FROM api.touch_user(1004, 'anna', repeat('x', 65)) $$, 'SP422',
                 'invalid argument p_first_name', 'a 65-character first name is refused');
SELECT lives_ok($$ SELECT * FROM api.touch_user(1005, 'anna', repeat('ß', 64)) $$,
                'a 64-character first name is accepted');
SELECT throws_ok($$ SELECT * FROM api.touch_user(1004, 'anna', 'Anna', 'deutsch!') $$, 'SP422',
                 'invalid argument p_language_code', 'a malformed language code is refused');
SELECT is((SELECT count(*) FROM core.users WHERE user_id = 1004), 0::bigint,
          'refused calls created nothing');
SELECT throws_ok($$ SELECT * FROM api.touch_user(1001, 'x', repeat('x', 65)) $$, 'SP422', NULL,
                 'a refused update of a known user raises');
SELECT is((SELECT first_name FROM core.users WHERE user_id = 1001), 'Anna B.',
          'and leaves the stored profile alone');

-- core.ensure_user: a bare row for callers that know only the id; never a profile change.
SELECT core.ensure_user(1006);
SELECT results_eq($$ SELECT username, first_name, created_at FROM core.users WHERE user_id = 1006 $$,
                  $$ VALUES (NULL::text, NULL::text, '2030-01-02 00:00:00+00'::timestamptz) $$,
                  'ensure_user creates a bare user');
SELECT core.ensure_user(1001);
SELECT is((SELECT first_name FROM core.users WHERE user_id = 1001), 'Anna B.',
          'ensure_user leaves a known user''s profile alone');
SELECT throws_ok($$ SELECT core.ensure_user(0) $$, 'SP422', 'invalid argument p_user_id',
                 'ensure_user refuses a bad id');
SELECT throws_ok($$ SELECT core.ensure_user(NULL) $$, 'SP422', 'invalid argument p_user_id',
                 'ensure_user refuses a missing id');

SELECT * FROM finish();
ROLLBACK;
