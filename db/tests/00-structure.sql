-- The api surface, ownership and privileges (DESIGN §3).
BEGIN;
SELECT plan(20);

SELECT has_schema(s, format('schema %s exists', s))
FROM unnest(ARRAY['api', 'core', 'billing', 'promo', 'referral', 'ops']) AS s;

SELECT functions_are('api', ARRAY[
    'ack_alert',
    'adjust_premium_days',
    'block_promo_user',
    'cancel_abandoned_purchases',
    'check_invariants',
    'check_job_health',
    'check_pepper',
    'choose_referral_reward',
    'claim_alerts',
    'complete_purchase',
    'create_promo_code',
    'expire_promo_reservations',
    'fail_alert',
    'get_ops_metrics',
    'get_premium_status',
    'get_promo_campaign',
    'get_promo_throttle',
    'get_referral_code',
    'init_purchase',
    'list_plans',
    'list_promo_campaigns',
    'list_settings',
    'mark_purchase_refunded',
    'precheckout_purchase',
    'redeem_promo_code',
    'register_referral',
    'reset_promo_throttle',
    'rollback_refunded_promo',
    'rollover_promo_campaigns',
    'run_promo_bruteforce_guard',
    'run_refund_promo_rollback',
    'set_promo_campaign_status',
    'set_setting',
    'touch_user'
], 'the api surface is exactly these functions');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'api'
      AND NOT (p.prosecdef AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'])
$$, 'every api function is SECURITY DEFINER with search_path pinned to pg_catalog, pg_temp');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'api' AND obj_description(p.oid, 'pg_proc') IS NULL
$$, 'every api function has a COMMENT');

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('api', 'core', 'billing', 'promo', 'referral', 'ops', 'yoyo')
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> 'starpass_owner'::regrole
    UNION ALL
    SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('api', 'core', 'billing', 'promo', 'referral', 'ops')
      AND p.proowner <> 'starpass_owner'::regrole
$$, 'starpass_owner owns every table, sequence and function');

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('api', 'core', 'billing', 'promo', 'referral', 'ops', 'yoyo', 'extensions')
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND has_table_privilege('starpass_app', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
$$, 'starpass_app has no privilege on any table, view or sequence');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('api', 'core', 'billing', 'promo', 'referral', 'ops')
      AND has_function_privilege('public', p.oid, 'EXECUTE')
$$, 'PUBLIC cannot execute any function of ours');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('core', 'billing', 'promo', 'referral', 'ops') AND p.prosecdef
$$, 'only api functions are SECURITY DEFINER');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('core', 'billing', 'promo', 'referral', 'ops')
      AND has_function_privilege('starpass_app', p.oid, 'EXECUTE')
$$, 'starpass_app cannot execute internal helpers');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'api' AND NOT has_function_privilege('starpass_app', p.oid, 'EXECUTE')
$$, 'starpass_app can execute every api function');

SELECT is((SELECT array_agg(n.nspname::text COLLATE "default") FROM pg_namespace n
           WHERE n.nspname !~ '^(pg_|information_schema$)'
             AND (has_schema_privilege('starpass_app', n.oid, 'USAGE')
                  OR has_schema_privilege('starpass_app', n.oid, 'CREATE'))),
          ARRAY['api'], 'starpass_app may use the api schema and no other, and create in none');

SELECT ok(has_database_privilege('starpass_app', current_database(), 'CONNECT')
          AND NOT has_database_privilege('starpass_app', current_database(), 'TEMPORARY')
          AND NOT has_database_privilege('starpass_app', current_database(), 'CREATE')
          AND NOT has_database_privilege('public', current_database(), 'CONNECT'),
          'the app may connect, not create or use temp tables; PUBLIC may not connect');

SELECT ok(NOT pg_has_role('starpass_app', 'starpass_owner', 'MEMBER'),
          'starpass_app is not a member of starpass_owner');

SELECT is((SELECT extnamespace::regnamespace::text COLLATE "default" FROM pg_extension
           WHERE extname = 'pgcrypto'), 'extensions', 'pgcrypto lives in schema extensions');

SELECT ok((SELECT NOT rolcanlogin FROM pg_roles WHERE rolname = 'starpass_owner')
          AND (SELECT rolcanlogin AND NOT rolsuper AND NOT rolcreaterole AND NOT rolcreatedb
               FROM pg_roles WHERE rolname = 'starpass_app'),
          'starpass_owner cannot log in; starpass_app can, without any special attribute');

-- A real login as starpass_app (reading core.users refused, api.list_plans() allowed) is
-- tested in tests/test_privileges.py: pgTAP itself cannot run under that role.

SELECT * FROM finish();
ROLLBACK;
