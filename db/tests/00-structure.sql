-- The api surface, ownership and privileges (DESIGN §3).
BEGIN;
SELECT plan(24);

SELECT has_schema(s, format('schema %s exists', s))
FROM unnest(ARRAY['api', 'core', 'billing', 'promo', 'referral', 'ops']) AS s;

SELECT functions_are('api', ARRAY[
    'accept_terms',
    'ack_alert_delivery',
    'adjust_premium_days',
    'block_promo_user',
    'cancel_abandoned_purchases',
    'check_invariants',
    'check_job_health',
    'check_pepper',
    'choose_referral_reward',
    'claim_alert_deliveries',
    'claim_alerts',
    'claim_telegram_update',
    'complete_purchase',
    'create_promo_code',
    'delete_user_data',
    'expire_promo_reservations',
    'fail_alert_delivery',
    'finish_telegram_update',
    'get_alert_metrics',
    'get_ops_metrics',
    'get_premium_status',
    'get_promo_campaign',
    'get_promo_throttle',
    'get_referral_code',
    'get_terms_status',
    'greet_user',
    'import_promo_codes',
    'init_purchase',
    'list_alerts',
    'list_audit',
    'list_plans',
    'list_promo_campaigns',
    'list_settings',
    'mark_purchase_refunded',
    'open_payment_support',
    'open_promo_import',
    'precheckout_purchase',
    'prune_history',
    'quote_discount',
    'raise_test_alert',
    'reconcile_star_payment',
    'redeem_promo_code',
    'register_referral',
    'release_telegram_update',
    'request_purchase_refund',
    'reset_promo_throttle',
    'retry_alert',
    'rollback_refunded_promo',
    'rollover_promo_campaigns',
    'route_alert',
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

-- The role map of db/grants.sql, pinned: a change there must change this list too.
SELECT results_eq($$
    SELECT p.proname::text COLLATE "C", r.rolname::text COLLATE "C"
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    CROSS JOIN pg_roles r
    WHERE n.nspname = 'api'
      AND r.rolname IN ('starpass_app', 'starpass_admin', 'starpass_jobs', 'starpass_alerts')
      AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
    ORDER BY 1, 2
$$, $$
    SELECT f COLLATE "C", r COLLATE "C" FROM (VALUES
        ('accept_terms', 'starpass_app'),
        ('ack_alert_delivery', 'starpass_alerts'),
        ('adjust_premium_days', 'starpass_admin'),
        ('block_promo_user', 'starpass_admin'),
        ('cancel_abandoned_purchases', 'starpass_jobs'),
        ('check_invariants', 'starpass_admin'),
        ('check_job_health', 'starpass_jobs'),
        ('check_pepper', 'starpass_admin'),
        ('check_pepper', 'starpass_app'),
        ('choose_referral_reward', 'starpass_app'),
        ('claim_alert_deliveries', 'starpass_alerts'),
        ('claim_alerts', 'starpass_alerts'),
        ('claim_telegram_update', 'starpass_app'),
        ('complete_purchase', 'starpass_app'),
        ('create_promo_code', 'starpass_admin'),
        ('delete_user_data', 'starpass_app'),
        ('expire_promo_reservations', 'starpass_jobs'),
        ('fail_alert_delivery', 'starpass_alerts'),
        ('finish_telegram_update', 'starpass_app'),
        ('get_alert_metrics', 'starpass_admin'),
        ('get_alert_metrics', 'starpass_app'),
        ('get_ops_metrics', 'starpass_admin'),
        ('get_ops_metrics', 'starpass_app'),
        ('get_premium_status', 'starpass_admin'),
        ('get_premium_status', 'starpass_app'),
        ('get_promo_campaign', 'starpass_admin'),
        ('get_promo_throttle', 'starpass_admin'),
        ('get_referral_code', 'starpass_app'),
        ('get_terms_status', 'starpass_app'),
        ('greet_user', 'starpass_app'),
        ('import_promo_codes', 'starpass_admin'),
        ('init_purchase', 'starpass_app'),
        ('list_alerts', 'starpass_admin'),
        ('list_plans', 'starpass_admin'),
        ('list_plans', 'starpass_app'),
        ('list_audit', 'starpass_admin'),
        ('list_promo_campaigns', 'starpass_admin'),
        ('list_settings', 'starpass_admin'),
        ('mark_purchase_refunded', 'starpass_admin'),
        ('mark_purchase_refunded', 'starpass_app'),
        ('open_payment_support', 'starpass_app'),
        ('open_promo_import', 'starpass_admin'),
        ('precheckout_purchase', 'starpass_app'),
        ('prune_history', 'starpass_jobs'),
        ('quote_discount', 'starpass_app'),
        ('raise_test_alert', 'starpass_admin'),
        ('reconcile_star_payment', 'starpass_admin'),
        ('redeem_promo_code', 'starpass_app'),
        ('register_referral', 'starpass_app'),
        ('release_telegram_update', 'starpass_app'),
        ('request_purchase_refund', 'starpass_admin'),
        ('reset_promo_throttle', 'starpass_admin'),
        ('retry_alert', 'starpass_admin'),
        ('rollback_refunded_promo', 'starpass_admin'),
        ('rollover_promo_campaigns', 'starpass_jobs'),
        ('route_alert', 'starpass_alerts'),
        ('run_promo_bruteforce_guard', 'starpass_jobs'),
        ('run_refund_promo_rollback', 'starpass_jobs'),
        ('set_promo_campaign_status', 'starpass_admin'),
        ('set_setting', 'starpass_admin'),
        ('touch_user', 'starpass_app')
    ) AS g(f, r) ORDER BY 1, 2
$$, 'each login role executes exactly the api functions db/grants.sql lists for it');

SELECT is_empty($$
    SELECT r.rolname || ': ' || c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN pg_roles r
    WHERE r.rolname IN ('starpass_admin', 'starpass_jobs', 'starpass_alerts')
      AND n.nspname IN ('api', 'core', 'billing', 'promo', 'referral', 'ops', 'yoyo', 'extensions')
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND has_table_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
    UNION ALL
    SELECT r.rolname || ': ' || p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    CROSS JOIN pg_roles r
    WHERE r.rolname IN ('starpass_admin', 'starpass_jobs', 'starpass_alerts')
      AND n.nspname IN ('core', 'billing', 'promo', 'referral', 'ops')
      AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
$$, 'the admin, jobs and alerts roles have no table privilege and no internal helper either');

SELECT is(
    (SELECT array_agg((r.rolname || ' ' || s.c) COLLATE "C" ORDER BY r.rolname, s.c)
     FROM pg_db_role_setting d JOIN pg_roles r ON r.oid = d.setrole
     CROSS JOIN LATERAL unnest(d.setconfig) AS s(c)
     WHERE d.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND r.rolname LIKE 'starpass\_%'),
    ARRAY['starpass_admin idle_in_transaction_session_timeout=60s', 'starpass_admin statement_timeout=60s',
          'starpass_alerts idle_in_transaction_session_timeout=30s', 'starpass_alerts statement_timeout=15s',
          'starpass_app idle_in_transaction_session_timeout=10s', 'starpass_app statement_timeout=10s',
          'starpass_jobs idle_in_transaction_session_timeout=60s', 'starpass_jobs statement_timeout=10min'],
    'every login role has its statement and idle-in-transaction timeouts in this database');

SELECT is((SELECT array_agg(DISTINCT n.nspname::text COLLATE "default") FROM pg_namespace n
           CROSS JOIN pg_roles r
           WHERE r.rolname IN ('starpass_app', 'starpass_admin', 'starpass_jobs', 'starpass_alerts')
             AND n.nspname !~ '^(pg_|information_schema$)'
             AND (has_schema_privilege(r.oid, n.oid, 'USAGE')
                  OR has_schema_privilege(r.oid, n.oid, 'CREATE'))),
          ARRAY['api'], 'the login roles may use the api schema and no other, and create in none');

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
          AND (SELECT bool_and(rolcanlogin AND NOT rolsuper AND NOT rolcreaterole AND NOT rolcreatedb
                               AND NOT rolbypassrls AND NOT pg_has_role(oid, 'starpass_owner', 'MEMBER'))
               FROM pg_roles
               WHERE rolname IN ('starpass_app', 'starpass_admin', 'starpass_jobs', 'starpass_alerts'))
          AND (SELECT count(*) FROM pg_roles
               WHERE rolname IN ('starpass_app', 'starpass_admin', 'starpass_jobs', 'starpass_alerts')) = 4,
          'starpass_owner cannot log in; the four login roles can, without any special attribute or the owner''s rights');

SELECT is_empty($$
    SELECT r.rolname FROM pg_roles r
    WHERE r.rolname IN ('starpass_admin', 'starpass_jobs', 'starpass_alerts')
      AND (NOT has_database_privilege(r.oid, current_database(), 'CONNECT')
           OR has_database_privilege(r.oid, current_database(), 'TEMPORARY')
           OR has_database_privilege(r.oid, current_database(), 'CREATE'))
$$, 'the admin, jobs and alerts roles may connect, not create or use temp tables');

SELECT col_default_is('ops', 'audit_log', 'db_role', 'SESSION_USER',
                      'the audit log records the session''s login role by default');

-- A real login as starpass_app (reading core.users refused, api.list_plans() allowed) is
-- tested in tests/test_privileges.py: pgTAP itself cannot run under that role.

SELECT * FROM finish();
ROLLBACK;
