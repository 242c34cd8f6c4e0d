-- api.set_promo_campaign_status (operator pause/resume) and the job api.run_promo_bruteforce_guard
-- with the injectable clock: thresholds, distinct users, the window, prefix attribution, resume,
-- and the deduplicated global NOT_FOUND alert.
BEGIN;
SELECT plan(68);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-10-01 00:00:00+00';

CREATE FUNCTION pg_temp.cstatus(p_name text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT status FROM promo.promo_codes WHERE promo_code_id = pg_temp.cid(p_name) $$;
CREATE FUNCTION pg_temp.audits(p_name text, p_action text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM ops.audit_log
    WHERE target_type = 'promo_code' AND target_id = pg_temp.cid(p_name)::text AND action = p_action
$$;
CREATE FUNCTION pg_temp.try(p_user bigint, p_code text, p_label text) RETURNS text
LANGUAGE sql AS $$
    INSERT INTO res SELECT p_label, * FROM api.redeem_promo_code(p_user, p_code, 'guard-key-' || p_label)
    RETURNING outcome
$$;

-- =============================================================================================
-- api.set_promo_campaign_status
INSERT INTO camp VALUES
    ('s1',   api.create_promo_code('GUARD-STATUS-01', 'PREMIUM_GRANT', 'status one', p_grant_days => 1,
                                   p_ends_at => '2030-10-02 00:00:00+00')),
    ('ends', api.create_promo_code('GUARD-STATUS-EXP', 'PREMIUM_GRANT', 'status ends', p_grant_days => 1,
                                   p_ends_at => '2030-10-01 00:10:00+00')),
    ('full', api.create_promo_code('GUARD-STATUS-DEP', 'PREMIUM_GRANT', 'status full', p_grant_days => 1,
                                   p_max_uses => 1)),
    ('late', api.create_promo_code('GUARD-STATUS-LATE', 'PREMIUM_GRANT', 'status late', p_grant_days => 1,
                                   p_ends_at => '2030-10-01 00:20:00+00'));

SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), 'PAUSED', 'ops-dana') $$,
                 'SP422', 'invalid argument p_reason', 'a pause without a reason is refused');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), 'PAUSED', 'ops-dana', '   ') $$,
                 'SP422', 'invalid argument p_reason', 'a blank reason is refused');
SELECT results_eq(
    $$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), 'PAUSED', 'ops-dana', ' abuse review ') $$,
    $$ VALUES (pg_temp.cid('s1'), 'PAUSED', true) $$, 'ACTIVE -> PAUSED changes the campaign');
SELECT results_eq(
    $$ SELECT status, paused_at, paused_reason FROM promo.promo_codes WHERE promo_code_id = pg_temp.cid('s1') $$,
    $$ VALUES ('PAUSED', '2030-10-01 00:00:00+00'::timestamptz, 'abuse review') $$,
    'paused at now with the trimmed reason');
SELECT results_eq(
    $$ SELECT actor, details FROM ops.audit_log
       WHERE target_type = 'promo_code' AND target_id = pg_temp.cid('s1')::text AND action = 'promo.campaign_paused' $$,
    $$ VALUES ('ops-dana', '{"from": "ACTIVE", "to": "PAUSED"}'::jsonb) $$, 'the pause is audited');
SELECT results_eq(
    $$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), 'PAUSED', 'ops-dana', 'again') $$,
    $$ VALUES (pg_temp.cid('s1'), 'PAUSED', false) $$, 'pausing a paused campaign changes nothing');
SELECT is(pg_temp.audits('s1', 'promo.campaign_paused'), 1::bigint, 'and writes no audit row');

UPDATE ops.clock SET frozen_at = '2030-10-01 00:05:00+00';
SELECT results_eq(
    $$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), 'ACTIVE', 'ops-dana') $$,
    $$ VALUES (pg_temp.cid('s1'), 'ACTIVE', true) $$, 'PAUSED -> ACTIVE resumes the campaign');
SELECT results_eq(
    $$ SELECT status, paused_at, paused_reason, guard_counting_since FROM promo.promo_codes
       WHERE promo_code_id = pg_temp.cid('s1') $$,
    $$ VALUES ('ACTIVE', NULL::timestamptz, NULL::text, '2030-10-01 00:05:00+00'::timestamptz) $$,
    'the pause fields are cleared and the guard counts from the resume');
SELECT results_eq(
    $$ SELECT actor, details FROM ops.audit_log
       WHERE target_type = 'promo_code' AND target_id = pg_temp.cid('s1')::text AND action = 'promo.campaign_resumed' $$,
    $$ VALUES ('ops-dana', '{"from": "PAUSED", "to": "ACTIVE"}'::jsonb) $$, 'the resume is audited');
SELECT results_eq(
    $$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), 'ACTIVE', 'ops-dana') $$,
    $$ VALUES (pg_temp.cid('s1'), 'ACTIVE', false) $$, 'resuming an active campaign changes nothing');
SELECT is(pg_temp.audits('s1', 'promo.campaign_resumed'), 1::bigint, 'and writes no audit row');

-- Ended campaigns (by the rollover job).
SELECT is((api.redeem_promo_code(9101, 'GUARD-STATUS-DEP', 'guard-key-9101-dep')).outcome, 'APPLIED',
          'the single use of the full campaign');
SELECT is((SELECT changed FROM api.set_promo_campaign_status(pg_temp.cid('late'), 'PAUSED', 'ops-dana', 'later')),
          true, 'the late campaign is paused');
UPDATE ops.clock SET frozen_at = '2030-10-01 00:10:00+00';
SELECT is(api.rollover_promo_campaigns(), 2, 'the rollover ends two campaigns');
SELECT results_eq($$ SELECT pg_temp.cstatus('ends'), pg_temp.cstatus('full') $$, $$ VALUES ('EXPIRED', 'DEPLETED') $$,
                  'one EXPIRED, one DEPLETED');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('ends'), 'ACTIVE', 'ops-dana') $$,
                 'SP409', 'campaign has ended', 'an EXPIRED campaign cannot be resumed');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('ends'), 'PAUSED', 'ops-dana', 'x') $$,
                 'SP409', 'campaign has ended', 'an EXPIRED campaign cannot be paused');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('full'), 'ACTIVE', 'ops-dana') $$,
                 'SP409', 'campaign has ended', 'a DEPLETED campaign cannot be resumed');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('full'), 'PAUSED', 'ops-dana', 'x') $$,
                 'SP409', 'campaign has ended', 'a DEPLETED campaign cannot be paused');
UPDATE ops.clock SET frozen_at = '2030-10-01 00:20:00+00';
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('late'), 'ACTIVE', 'ops-dana') $$,
                 'SP409', 'campaign is past its end', 'a paused campaign cannot be resumed at its ends_at');
SELECT is(pg_temp.cstatus('late'), 'PAUSED', 'it stays PAUSED (until the rollover expires it)');

-- Arguments.
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(-1, 'PAUSED', 'ops-dana', 'x') $$,
                 'SP404', 'promo campaign not found', 'an unknown campaign');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), 'EXPIRED', 'ops-dana', 'x') $$,
                 'SP422', 'invalid argument p_status', 'EXPIRED is not a status an operator sets');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), 'X', 'ops-dana', 'x') $$,
                 'SP422', 'invalid argument p_status', 'an unknown status');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), NULL, 'ops-dana', 'x') $$,
                 'SP422', 'invalid argument p_status', 'a missing status');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), 'PAUSED', NULL, 'x') $$,
                 'SP422', 'invalid argument p_actor', 'a missing actor');
SELECT throws_ok($$ SELECT * FROM api.set_promo_campaign_status(pg_temp.cid('s1'), 'PAUSED', '', 'x') $$,
                 'SP422', 'invalid argument p_actor', 'an empty actor');

-- =============================================================================================
-- api.run_promo_bruteforce_guard: 5 attempts from 3 users within 10 minutes.
SELECT api.set_setting('promo.guard_min_attempts', '5', 'test', 'small test');
SELECT api.set_setting('promo.guard_min_users', '3', 'test', 'small test');
UPDATE ops.clock SET frozen_at = '2030-10-01 01:00:00+00';
INSERT INTO camp VALUES
    ('a', api.create_promo_code('GUARDA-SECRET-01', 'PREMIUM_GRANT', 'guard a', p_grant_days => 1, p_prefix => 'GUARDA')),
    ('b', api.create_promo_code('GUARDB-SECRET-01', 'PREMIUM_GRANT', 'guard b', p_grant_days => 1, p_prefix => 'GUARDB')),
    ('c', api.create_promo_code('GUARDC-SECRET-01', 'PREMIUM_GRANT', 'guard c', p_grant_days => 1, p_prefix => 'GUARDC'));

-- N - 1 = 4 NOT_FOUND guesses on A's prefix from 4 users.
SELECT pg_temp.try(u, 'guarda-wrong-' || u, 'a-' || u) FROM generate_series(8001, 8004) AS u;
SELECT is(api.run_promo_bruteforce_guard(), 0, 'N - 1 attempts: the guard does nothing');
SELECT is(pg_temp.cstatus('a'), 'ACTIVE', 'the campaign stays ACTIVE');

-- Attribution by prefix: stored on the attempt, never returned.
SELECT is(pg_temp.try(8005, 'GUARDA-WRONG-8005', 'a-8005'), 'NOT_FOUND', 'the N-th guess is NOT_FOUND');
SELECT is((SELECT promo_code_id FROM res WHERE label = 'a-8005'), NULL::bigint,
          'the redeem result does not reveal the campaign');
SELECT is((SELECT promo_code_id FROM promo.promo_attempts WHERE idempotency_key = 'guard-key-a-8005'),
          pg_temp.cid('a'), 'the attempt is attributed to the campaign whose prefix it starts with');
SELECT is((SELECT count(*) FROM promo.promo_attempts WHERE promo_code_id = pg_temp.cid('a') AND counted),
          5::bigint, 'five counted attempts are attributed to A');

-- N attempts: paused, audited, alerted.
SELECT is(api.run_promo_bruteforce_guard(), 1, 'N attempts from enough users: the guard pauses one campaign');
SELECT results_eq(
    $$ SELECT status, paused_reason, paused_at FROM promo.promo_codes WHERE promo_code_id = pg_temp.cid('a') $$,
    $$ VALUES ('PAUSED', 'BRUTE_FORCE_GUARD', '2030-10-01 01:00:00+00'::timestamptz) $$,
    'the campaign is PAUSED by the guard');
SELECT results_eq(
    $$ SELECT actor, reason, details FROM ops.audit_log
       WHERE target_type = 'promo_code' AND target_id = pg_temp.cid('a')::text AND action = 'promo.campaign_paused' $$,
    $$ VALUES ('job:promo_bruteforce_guard', 'BRUTE_FORCE_GUARD', '{"attempts": 5, "users": 5}'::jsonb) $$,
    'the pause is audited by the job');
SELECT results_eq(
    $$ SELECT event, severity, state, dedup_key FROM ops.alert_outbox WHERE event = 'promo.campaign_autopaused' $$,
    $$ VALUES ('promo.campaign_autopaused', 'critical', 'pending', 'promo.campaign_autopaused:' || pg_temp.cid('a') || ':' || ops.now()) $$,
    'an alert promo.campaign_autopaused is raised');
SELECT is(api.run_promo_bruteforce_guard(), 0, 'a second run does not pause it again');

-- Enough attempts, too few users: 5 guesses on B's prefix from 2 users.
SELECT pg_temp.try(8101, 'GUARDB-WRONG-8101-' || i, 'b-8101-' || i) FROM generate_series(1, 3) AS i;
SELECT pg_temp.try(8102, 'GUARDB-WRONG-8102-' || i, 'b-8102-' || i) FROM generate_series(1, 2) AS i;
SELECT is(api.run_promo_bruteforce_guard(), 0, '5 attempts from 2 users: the guard does nothing');
SELECT is(pg_temp.cstatus('b'), 'ACTIVE', 'the campaign with too few distinct users stays ACTIVE');

-- Refusals of a code that exists are not guesses. D (single use): one APPLIED, 6 users DEPLETED;
-- E (unlimited, once per user): 3 users retry their own code twice (ALREADY_REDEEMED).
INSERT INTO camp VALUES
    ('d', api.create_promo_code('GUARDD-SECRET-01', 'PREMIUM_GRANT', 'guard d', p_grant_days => 1,
                                p_max_uses => 1, p_prefix => 'GUARDD')),
    ('e', api.create_promo_code('GUARDE-SECRET-01', 'PREMIUM_GRANT', 'guard e', p_grant_days => 1,
                                p_prefix => 'GUARDE'));
SELECT is(pg_temp.try(8401, 'GUARDD-SECRET-01', 'd-8401'), 'APPLIED', 'D''s single use is taken');
SELECT is_empty($$ SELECT * FROM (SELECT pg_temp.try(u, 'GUARDD-SECRET-01', 'd-' || u) AS outcome
                                  FROM generate_series(8402, 8407) AS u) AS t WHERE outcome <> 'DEPLETED' $$,
                'six more users are refused DEPLETED');
SELECT results_eq(
    $$ SELECT outcome, count(*) FROM (SELECT pg_temp.try(u, 'GUARDE-SECRET-01', 'e-' || u || '-' || i) AS outcome
                                     FROM generate_series(8501, 8503) AS u, generate_series(0, 2) AS i) AS t
       GROUP BY outcome ORDER BY outcome $$,
    $$ VALUES ('ALREADY_REDEEMED', 6::bigint), ('APPLIED', 3::bigint) $$,
    'three users redeem E and retry twice: six ALREADY_REDEEMED');
-- 4 guesses on D's prefix: with its refusals, 10 counted attempts from 10 users.
SELECT pg_temp.try(u, 'GUARDD-WRONG-' || u, 'd-' || u) FROM generate_series(8411, 8414) AS u;
SELECT is(api.run_promo_bruteforce_guard(), 0, 'refusals of existing codes do not make a campaign abused');
SELECT results_eq($$ SELECT pg_temp.cstatus('d'), pg_temp.cstatus('e') $$, $$ VALUES ('ACTIVE', 'ACTIVE') $$,
                  'a depleted flash promo and retried codes stay ACTIVE');
SELECT pg_temp.try(8415, 'GUARDD-WRONG-8415', 'd-8415');
SELECT is(api.run_promo_bruteforce_guard(), 1, 'the N-th NOT_FOUND guess on D''s prefix pauses it');
SELECT results_eq(
    $$ SELECT actor, details FROM ops.audit_log
       WHERE target_type = 'promo_code' AND target_id = pg_temp.cid('d')::text AND action = 'promo.campaign_paused' $$,
    $$ VALUES ('job:promo_bruteforce_guard', '{"attempts": 5, "users": 5}'::jsonb) $$,
    'only the five guesses were counted');

-- C: 4 guesses now; one more later.
SELECT pg_temp.try(u, 'GUARDC-WRONG-' || u, 'c-' || u) FROM generate_series(8201, 8204) AS u;

-- A resumed: the old attempts (and refusals while it was paused) do not count again.
UPDATE ops.clock SET frozen_at = '2030-10-01 01:00:30+00';
SELECT is(pg_temp.try(8006, 'GUARDA-SECRET-01', 'a-8006'), 'PAUSED', 'a refusal on the paused code');
SELECT is(pg_temp.try(8007, 'GUARDA-SECRET-01', 'a-8007'), 'PAUSED', 'another refusal on the paused code');
UPDATE ops.clock SET frozen_at = '2030-10-01 01:01:00+00';
SELECT is((SELECT changed FROM api.set_promo_campaign_status(pg_temp.cid('a'), 'ACTIVE', 'ops-dana')), true,
          'an operator resumes A');
SELECT results_eq(
    $$ SELECT event, action, severity, resolves, details ->> 'promo_code_id' FROM ops.alert_outbox
       WHERE event = 'promo.campaign_autopaused' AND details ->> 'promo_code_id' = pg_temp.cid('a')::text ORDER BY alert_id $$,
    $$ VALUES ('promo.campaign_autopaused', 'trigger', 'critical', NULL, pg_temp.cid('a')::text),
              ('promo.campaign_autopaused', 'resolve', 'critical',
               'promo.campaign_autopaused:' || pg_temp.cid('a') || ':' || '2030-10-01 01:00:00+00'::timestamptz, pg_temp.cid('a')::text) $$,
    'resuming the campaign the guard paused resolves its alert, naming the trigger''s dedup key');
SELECT api.set_promo_campaign_status(pg_temp.cid('a'), 'PAUSED', 'ops-dana', 'by hand');
SELECT api.set_promo_campaign_status(pg_temp.cid('a'), 'ACTIVE', 'ops-dana');
SELECT is((SELECT count(*) FROM ops.alert_outbox WHERE event = 'promo.campaign_autopaused'
                                                   AND details ->> 'promo_code_id' = pg_temp.cid('a')::text), 2::bigint,
          'an operator''s own pause and resume resolve nothing');
SELECT is(api.run_promo_bruteforce_guard(), 0, 'attempts before the resume do not pause it again');
SELECT is(pg_temp.cstatus('a'), 'ACTIVE', 'A stays ACTIVE after the resume');
UPDATE ops.clock SET frozen_at = '2030-10-01 01:02:00+00';
SELECT pg_temp.try(u, 'GUARDA-AGAIN-' || u, 'a-' || u) FROM generate_series(8008, 8011) AS u;
SELECT is(api.run_promo_bruteforce_guard(), 0, 'N - 1 attempts after the resume do nothing');
SELECT pg_temp.try(8012, 'GUARDA-AGAIN-8012', 'a-8012');
SELECT is(api.run_promo_bruteforce_guard(), 1, 'N attempts after the resume pause it again');
SELECT results_eq(
    $$ SELECT status, paused_reason FROM promo.promo_codes WHERE promo_code_id = pg_temp.cid('a') $$,
    $$ VALUES ('PAUSED', 'BRUTE_FORCE_GUARD') $$, 'A is PAUSED by the guard again');
SELECT is((SELECT count(*) FROM ops.audit_log
           WHERE target_type = 'promo_code' AND target_id = pg_temp.cid('a')::text
             AND action = 'promo.campaign_paused' AND actor = 'job:promo_bruteforce_guard'),
          2::bigint, 'both automatic pauses are audited');

-- The window: C's first 4 attempts are exactly 10 minutes old when the 5th one is counted.
UPDATE ops.clock SET frozen_at = '2030-10-01 01:05:00+00';
SELECT pg_temp.try(8205, 'GUARDC-WRONG-8205', 'c-8205');
UPDATE ops.clock SET frozen_at = '2030-10-01 01:10:00+00';
SELECT is(api.run_promo_bruteforce_guard(), 0, 'attempts older than the window do not count');
SELECT is(pg_temp.cstatus('c'), 'ACTIVE', 'C, with 5 attempts from 5 users but only 1 in the window, stays ACTIVE');

-- The global NOT_FOUND threshold: more than 3 in the window, one alert per dedup window.
UPDATE ops.clock SET frozen_at = '2030-10-01 01:30:00+00';
SELECT is((SELECT count(*) FROM ops.alert_outbox WHERE event = 'promo.bruteforce_suspected'), 0::bigint,
          'no global alert under the default threshold');
SELECT api.set_setting('promo.guard_global_not_found', '3', 'test', 'small test');
SELECT pg_temp.try(u, 'ZZ-NOPE-' || u, 'z-' || u) FROM generate_series(8301, 8303) AS u;
SELECT is(api.run_promo_bruteforce_guard(), 0, 'the guard pauses nothing');
SELECT is((SELECT count(*) FROM ops.alert_outbox WHERE event = 'promo.bruteforce_suspected'), 0::bigint,
          '3 NOT_FOUND attempts do not exceed a threshold of 3');
SELECT pg_temp.try(8304, 'ZZ-NOPE-8304', 'z-8304');
SELECT is(api.run_promo_bruteforce_guard(), 0, 'the guard runs over the threshold');
UPDATE ops.clock SET frozen_at = '2030-10-01 01:31:00+00';
SELECT pg_temp.try(8305, 'ZZ-NOPE-8305', 'z-8305');
SELECT is(api.run_promo_bruteforce_guard(), 0, 'and runs again a minute later');
SELECT results_eq(
    $$ SELECT event, severity, dedup_key, (details ->> 'not_found')::integer FROM ops.alert_outbox
       WHERE event = 'promo.bruteforce_suspected' $$,
    $$ VALUES ('promo.bruteforce_suspected', 'warning', 'promo.bruteforce_suspected', 4) $$,
    'promo.bruteforce_suspected is raised once within the dedup window');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the guard ran');
SELECT * FROM finish();
ROLLBACK;
