-- api.list_audit (filters, keyset pages, refusals, who may call it), ops.record_job_run, and the
-- actor the two auditing jobs take when an operator runs them by hand.
BEGIN;
SELECT plan(39);

-- Rows of our own, far in the future so the shared database's rows never fall in the range.
UPDATE ops.clock SET frozen_at = '2031-03-01 10:00:00+00';
SELECT ops.write_audit('ops:anna', 'promo.campaign_paused', 'promo_code', '11', 'by hand');
SELECT ops.write_audit('ops:anna', 'promo.campaign_resumed', 'promo_code', '11');
SELECT ops.write_audit('ops:ben', 'ops.setting_changed', 'setting', 'promo.reservation_ttl');
UPDATE ops.clock SET frozen_at = '2031-03-01 11:00:00+00';
SELECT ops.write_audit('ops:ben', 'promo.campaign_paused', 'promo_code', '12', 'abuse');
SELECT ops.write_audit('job:promo_bruteforce_guard', 'promo.campaign_paused', 'promo_code', '13', 'BRUTE_FORCE_GUARD');
UPDATE ops.clock SET frozen_at = '2031-03-01 12:00:00+00';
SELECT ops.write_audit('ops:anna', 'billing.premium_adjusted', 'user', '4601', 'goodwill', '{"days": 3}');

CREATE FUNCTION pg_temp.page(p_limit integer, p_cursor text DEFAULT NULL, p_actor text DEFAULT NULL,
                             p_action text DEFAULT NULL)
RETURNS TABLE (label text, cursor text)
LANGUAGE sql AS $$
    SELECT a.actor || ' ' || a.action || ' ' || coalesce(a.target_id, '-'), a.cursor
    FROM api.list_audit(p_actor => p_actor, p_action => p_action, p_since => '2031-03-01',
                        p_until => '2031-03-02', p_limit => p_limit, p_cursor => p_cursor) AS a
$$;

SELECT results_eq(
    $$ SELECT label FROM pg_temp.page(10) $$,
    $$ VALUES ('ops:anna billing.premium_adjusted 4601'),
              ('job:promo_bruteforce_guard promo.campaign_paused 13'),
              ('ops:ben promo.campaign_paused 12'),
              ('ops:ben ops.setting_changed promo.reservation_ttl'),
              ('ops:anna promo.campaign_resumed 11'),
              ('ops:anna promo.campaign_paused 11') $$,
    'newest first; rows of one instant in the order they were written, newest first');
SELECT results_eq(
    $$ SELECT label FROM pg_temp.page(2) $$,
    $$ VALUES ('ops:anna billing.premium_adjusted 4601'), ('job:promo_bruteforce_guard promo.campaign_paused 13') $$,
    'a page holds at most p_limit rows');
SELECT results_eq(
    $$ SELECT label FROM pg_temp.page(2, (SELECT cursor FROM pg_temp.page(2) OFFSET 1)) $$,
    $$ VALUES ('ops:ben promo.campaign_paused 12'), ('ops:ben ops.setting_changed promo.reservation_ttl') $$,
    'the next page starts after the last row''s cursor, across instants');
SELECT results_eq(
    $$ SELECT label FROM pg_temp.page(10, (SELECT cursor FROM pg_temp.page(5) OFFSET 4)) $$,
    $$ VALUES ('ops:anna promo.campaign_paused 11') $$,
    'a cursor inside an instant: the page goes on with the same instant''s older rows');
SELECT is_empty($$ SELECT * FROM pg_temp.page(10, (SELECT cursor FROM pg_temp.page(6) OFFSET 5)) $$,
                'after the oldest row: an empty page');

-- A row written while a reader pages appears before its cursor, never on a later page.
UPDATE ops.clock SET frozen_at = '2031-03-01 12:30:00+00';
SELECT ops.write_audit('ops:carl', 'promo.campaign_created', 'promo_code', '14');
SELECT results_eq(
    $$ SELECT label FROM pg_temp.page(10, (SELECT cursor FROM pg_temp.page(3) OFFSET 2 LIMIT 1)) $$,
    $$ VALUES ('ops:ben promo.campaign_paused 12'),
              ('ops:ben ops.setting_changed promo.reservation_ttl'),
              ('ops:anna promo.campaign_resumed 11'),
              ('ops:anna promo.campaign_paused 11') $$,
    'pages after a cursor are the same when newer rows arrive');

-- Filters.
SELECT results_eq($$ SELECT label FROM pg_temp.page(10, p_actor => 'ops:ben') $$,
    $$ VALUES ('ops:ben promo.campaign_paused 12'), ('ops:ben ops.setting_changed promo.reservation_ttl') $$,
    'by actor');
SELECT results_eq($$ SELECT label FROM pg_temp.page(10, p_action => 'promo.campaign_paused') $$,
    $$ VALUES ('job:promo_bruteforce_guard promo.campaign_paused 13'), ('ops:ben promo.campaign_paused 12'),
              ('ops:anna promo.campaign_paused 11') $$,
    'by action');
SELECT results_eq($$ SELECT label FROM pg_temp.page(10, p_action => 'promo.', p_actor => 'ops:anna') $$,
    $$ VALUES ('ops:anna promo.campaign_resumed 11'), ('ops:anna promo.campaign_paused 11') $$,
    'by an action prefix ending in a dot, and by actor at once');
SELECT is_empty($$ SELECT * FROM pg_temp.page(10, p_action => 'promo') $$,
                'an action without the dot is an exact match, not a prefix');
SELECT results_eq(
    $$ SELECT action, reason FROM api.list_audit(p_target_type => 'promo_code', p_target_id => '11',
                                                  p_since => '2031-03-01') $$,
    $$ VALUES ('promo.campaign_resumed', NULL), ('promo.campaign_paused', 'by hand') $$,
    'by target');
SELECT is((SELECT count(*) FROM api.list_audit(p_target_type => 'setting', p_since => '2031-03-01')), 1::bigint,
          'by target type alone');
SELECT results_eq(
    $$ SELECT target_id FROM api.list_audit(p_since => '2031-03-01 11:00', p_until => '2031-03-01 12:00') $$,
    $$ VALUES ('13'), ('12') $$,
    'a time range includes its start and excludes its end');
SELECT results_eq(
    $$ SELECT actor, db_role, details FROM api.list_audit(p_target_type => 'user', p_target_id => '4601') $$,
    $$ VALUES ('ops:anna', session_user::text COLLATE "default", '{"days": 3}'::jsonb) $$,
    'a row carries the login role that wrote it and its details');

-- Refusals.
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_limit => 0) $$, 'SP422', 'invalid argument p_limit', 'a page of 0 rows');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_limit => 501) $$, 'SP422', 'invalid argument p_limit', 'a page over 500 rows');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_limit => NULL) $$, 'SP422', 'invalid argument p_limit', 'no page size');
SELECT lives_ok($$ SELECT * FROM api.list_audit(p_limit => 500) $$, 'a page of 500 rows');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_since => '2031-03-02', p_until => '2031-03-01') $$,
                 'SP422', 'invalid argument p_until', 'a range that ends before it starts');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_since => '2031-03-01', p_until => '2031-03-01') $$,
                 'SP422', 'invalid argument p_until', 'an empty range');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_since => '1999-12-31') $$,
                 'SP422', 'invalid argument p_since', 'a start outside the supported range');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_until => 'infinity') $$,
                 'SP422', 'invalid argument p_until', 'an end outside the supported range');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_target_id => '11') $$,
                 'SP422', 'invalid argument p_target_id', 'a target id without its type');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_actor => '') $$, 'SP422', 'invalid argument p_actor', 'an empty actor');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_action => repeat('a', 129)) $$,
                 'SP422', 'invalid argument p_action', 'an action over 128 characters');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_cursor => 'not-a-cursor') $$,
                 'SP422', 'invalid cursor', 'a cursor that is not one');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_cursor => '1.2.3') $$, 'SP422', 'invalid cursor', 'a cursor of three parts');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_cursor => '300000000000000000.1') $$,
                 'SP422', 'invalid cursor', 'a cursor after the supported time range');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_cursor => '0.1') $$, 'SP422', 'invalid cursor',
                 'a cursor before the supported time range');
SELECT throws_ok($$ SELECT * FROM api.list_audit(p_cursor => repeat('9', 19) || '.1') $$,
                 'SP422', 'invalid cursor', 'a cursor whose time does not fit');
DO $$
DECLARE
    v_reason text;
BEGIN
    PERFORM * FROM api.list_audit(p_cursor => 'x');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_reason = CONSTRAINT_NAME;
    CREATE TEMP TABLE cursor_reason AS SELECT v_reason AS reason;
END
$$;
SELECT is((SELECT reason FROM cursor_reason), 'invalid_cursor', 'a bad cursor''s reason is invalid_cursor');

-- Who may read it (db/grants.sql): the admin role only.
SELECT ok(has_function_privilege('starpass_admin', 'api.list_audit(text, text, text, text, timestamptz, timestamptz, integer, text)', 'EXECUTE'),
          'starpass_admin reads the audit log');
SELECT ok(NOT has_function_privilege('starpass_app', 'api.list_audit(text, text, text, text, timestamptz, timestamptz, integer, text)', 'EXECUTE')
          AND NOT has_function_privilege('starpass_jobs', 'api.list_audit(text, text, text, text, timestamptz, timestamptz, integer, text)', 'EXECUTE')
          AND NOT has_function_privilege('starpass_alerts', 'api.list_audit(text, text, text, text, timestamptz, timestamptz, integer, text)', 'EXECUTE'),
          'no other login role does');

-- ops.record_job_run: a run by hand, in ops.job_runs and audited as the operator.
SELECT ok(ops.record_job_run('expire_promo_reservations', 'ops:dana', clock_timestamp(), 7) IS NOT NULL,
          'a successful run is recorded');
SELECT results_eq(
    $$ SELECT actor, status, result, error IS NULL, finished_at >= started_at FROM ops.job_runs
       WHERE job_name = 'expire_promo_reservations' ORDER BY job_run_id DESC LIMIT 1 $$,
    $$ VALUES ('ops:dana', 'succeeded', 7, true, true) $$,
    'with the operator, the outcome and the count');
SELECT ops.record_job_run('cancel_abandoned_purchases', 'ops:dana', clock_timestamp(), NULL, 'SP422: invalid argument p_limit');
SELECT results_eq(
    $$ SELECT actor, action, target_type, target_id, details - 'job_run_id' FROM ops.audit_log
       WHERE action = 'ops.job_run' AND actor = 'ops:dana' ORDER BY audit_id $$,
    $$ VALUES ('ops:dana', 'ops.job_run', 'job', 'expire_promo_reservations', '{"status": "succeeded", "result": 7}'::jsonb),
              ('ops:dana', 'ops.job_run', 'job', 'cancel_abandoned_purchases', '{"status": "failed"}'::jsonb) $$,
    'each run is audited as the operator, a failed one with its status');
SELECT throws_ok($$ SELECT ops.record_job_run('expire_promo_reservations', '', clock_timestamp(), 1) $$,
                 'SP422', 'invalid argument p_actor', 'a run without an operator is refused');

-- The auditing jobs take the operator as their actor.
SELECT throws_ok($$ SELECT api.run_refund_promo_rollback(10, '') $$, 'SP422', 'invalid argument p_actor',
                 'the rollback job refuses an empty actor');
SELECT throws_ok($$ SELECT api.run_promo_bruteforce_guard(NULL) $$, 'SP422', 'invalid argument p_actor',
                 'the guard refuses a missing actor');

SELECT * FROM finish();
ROLLBACK;
