-- Applied by `starpass db migrate` after the function files, in the same transaction, as the
-- owner. Who may execute what, stated once: each login role executes exactly the `api`
-- functions listed for it below and nothing else; PUBLIC executes nothing of ours; no login role
-- sees a schema but `api` or any table. A new `api` function must be added here, or the deploy
-- fails (docs/architecture.md, "Roles", has the same table for readers; db/tests/00-structure.sql
-- pins it).
DO $grants$
DECLARE
    v_logins   text[] := ARRAY['starpass_app', 'starpass_admin', 'starpass_jobs', 'starpass_alerts'];
    v_schema   text;
    v_role     text;
    v_grant    record;
    v_map      jsonb;
    v_missing  text;
BEGIN
    SELECT jsonb_object_agg(g.function_name, g.roles) INTO v_map FROM (VALUES
        -- What users trigger (the bot, the redeem endpoint).
        ('redeem_promo_code',          ARRAY['starpass_app']),
        ('init_purchase',              ARRAY['starpass_app']),
        ('precheckout_purchase',       ARRAY['starpass_app']),
        ('complete_purchase',          ARRAY['starpass_app']),
        ('get_referral_code',          ARRAY['starpass_app']),
        ('register_referral',          ARRAY['starpass_app']),
        ('choose_referral_reward',     ARRAY['starpass_app']),
        ('touch_user',                 ARRAY['starpass_app']),
        ('greet_user',                 ARRAY['starpass_app']),
        ('accept_terms',               ARRAY['starpass_app']),
        ('quote_discount',             ARRAY['starpass_app']),
        ('delete_user_data',           ARRAY['starpass_app']),
        ('open_payment_support',       ARRAY['starpass_app']),
        ('get_terms_status',           ARRAY['starpass_app']),
        ('claim_telegram_update',      ARRAY['starpass_app']),
        ('finish_telegram_update',     ARRAY['starpass_app']),
        ('release_telegram_update',    ARRAY['starpass_app']),
        ('get_ops_metrics',            ARRAY['starpass_app', 'starpass_admin']),
        ('get_alert_metrics',          ARRAY['starpass_app', 'starpass_admin']),
        -- The start-up check and /readyz: is the configured pepper the campaigns' pepper?
        ('check_pepper',               ARRAY['starpass_app', 'starpass_admin']),
        ('get_premium_status',         ARRAY['starpass_app', 'starpass_admin']),
        ('list_plans',                 ARRAY['starpass_app', 'starpass_admin']),
        -- Telegram's refunded_payment reaches the bot; support refunds go through the admin.
        ('mark_purchase_refunded',     ARRAY['starpass_app', 'starpass_admin']),
        -- Operators: campaigns, throttle, blocks, premium, settings, rollback, invariants.
        ('create_promo_code',          ARRAY['starpass_admin']),
        -- The batch tool (scripts/promo_batch_tool.py): stage with COPY, then import.
        ('open_promo_import',          ARRAY['starpass_admin']),
        ('import_promo_codes',         ARRAY['starpass_admin']),
        ('list_promo_campaigns',       ARRAY['starpass_admin']),
        ('get_promo_campaign',         ARRAY['starpass_admin']),
        ('set_promo_campaign_status',  ARRAY['starpass_admin']),
        ('get_promo_throttle',         ARRAY['starpass_admin']),
        ('reset_promo_throttle',       ARRAY['starpass_admin']),
        ('block_promo_user',           ARRAY['starpass_admin']),
        ('adjust_premium_days',        ARRAY['starpass_admin']),
        ('list_settings',              ARRAY['starpass_admin']),
        ('set_setting',                ARRAY['starpass_admin']),
        ('rollback_refunded_promo',    ARRAY['starpass_admin']),
        ('request_purchase_refund',    ARRAY['starpass_admin']),
        ('reconcile_star_payment',     ARRAY['starpass_admin']),
        ('check_invariants',           ARRAY['starpass_admin']),
        -- Reading the audit log (`starpass audit`, GET /internal/audit).
        ('list_audit',                 ARRAY['starpass_admin']),
        -- pg_cron's jobs.
        ('expire_promo_reservations',  ARRAY['starpass_jobs']),
        ('rollover_promo_campaigns',   ARRAY['starpass_jobs']),
        ('run_promo_bruteforce_guard', ARRAY['starpass_jobs']),
        ('run_refund_promo_rollback',  ARRAY['starpass_jobs']),
        ('cancel_abandoned_purchases', ARRAY['starpass_jobs']),
        ('prune_history',              ARRAY['starpass_jobs']),
        ('check_job_health',           ARRAY['starpass_jobs']),
        -- The alert dispatcher.
        ('claim_alerts',               ARRAY['starpass_alerts']),
        ('route_alert',                ARRAY['starpass_alerts']),
        ('claim_alert_deliveries',     ARRAY['starpass_alerts']),
        ('ack_alert_delivery',         ARRAY['starpass_alerts']),
        ('fail_alert_delivery',        ARRAY['starpass_alerts']),
        -- Operators: dead alerts, retries, test alerts (`starpass alerts list|retry|test`).
        ('list_alerts',                ARRAY['starpass_admin']),
        ('retry_alert',                ARRAY['starpass_admin']),
        ('raise_test_alert',           ARRAY['starpass_admin'])
    ) AS g(function_name, roles);

    SELECT string_agg(p.proname, ', ' ORDER BY p.proname) INTO v_missing
    FROM pg_catalog.pg_proc AS p
    WHERE p.pronamespace = 'api'::regnamespace
      AND NOT v_map ? p.proname;
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SP500', MESSAGE = 'api functions without a role',
            DETAIL = format('not listed in db/grants.sql: %s', v_missing),
            HINT = 'Add each to the list in db/grants.sql with the roles that may execute it.';
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO v_missing
    FROM jsonb_object_keys(v_map) AS k
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_proc AS p
                      WHERE p.pronamespace = 'api'::regnamespace AND p.proname = k);
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SP500', MESSAGE = 'db/grants.sql lists unknown api functions',
            DETAIL = format('no such api function: %s', v_missing),
            HINT = 'Remove them from the list in db/grants.sql.';
    END IF;

    FOREACH v_schema IN ARRAY ARRAY['core', 'billing', 'promo', 'referral', 'ops', 'extensions', 'yoyo'] LOOP
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC, %s', v_schema,
                       (SELECT string_agg(quote_ident(r), ', ') FROM unnest(v_logins) AS r));
    END LOOP;
    FOREACH v_schema IN ARRAY ARRAY['api', 'core', 'billing', 'promo', 'referral', 'ops'] LOOP
        FOREACH v_role IN ARRAY ARRAY['PUBLIC'] || v_logins LOOP
            EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA %I FROM %s', v_schema, v_role);
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %s', v_schema, v_role);
            EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %s', v_schema, v_role);
        END LOOP;
    END LOOP;
    FOREACH v_role IN ARRAY v_logins LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA api TO %I', v_role);
    END LOOP;
    FOR v_grant IN
        SELECT p.oid::regprocedure AS function_oid, r.role_name
        FROM pg_catalog.pg_proc AS p
        CROSS JOIN LATERAL jsonb_array_elements_text(v_map -> p.proname::text) AS r(role_name)
        WHERE p.pronamespace = 'api'::regnamespace
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', v_grant.function_oid, v_grant.role_name);
    END LOOP;
END
$grants$;
