-- Cluster- and database-level preconditions for the migrations, applied by `starpass db migrate`
-- as the admin role before yoyo runs. Idempotent; reports each change with a NOTICE
-- starting with 'bootstrap:'.

DO $bootstrap$
DECLARE
    v_role    text;
    v_logins  text[] := ARRAY['starpass_app', 'starpass_admin', 'starpass_jobs', 'starpass_alerts'];
    v_limit   record;
BEGIN
    -- One login role per surface (docs/architecture.md, "Roles"); the owner never logs in.
    FOREACH v_role IN ARRAY ARRAY['starpass_owner', 'starpass_app', 'starpass_admin',
                                  'starpass_jobs', 'starpass_alerts'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            BEGIN
                -- Roles are cluster-wide: a migration of another database may create them first.
                EXECUTE format('CREATE ROLE %I %s', v_role,
                               CASE v_role WHEN 'starpass_owner' THEN 'NOLOGIN' ELSE 'LOGIN' END);
                RAISE NOTICE 'bootstrap: created role %', v_role;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;

    -- A managed server's admin is not a superuser: it needs membership to act as the owner.
    IF NOT pg_catalog.pg_has_role(current_user, 'starpass_owner', 'MEMBER') THEN
        EXECUTE format('GRANT starpass_owner TO %I', current_user);
        RAISE NOTICE 'bootstrap: granted starpass_owner to %', current_user;
    END IF;

    IF pg_catalog.has_database_privilege('public', current_database(), 'CONNECT')
       OR EXISTS (SELECT FROM unnest(v_logins) AS l(r)
                  WHERE NOT pg_catalog.has_database_privilege(l.r, current_database(), 'CONNECT'))
       OR NOT pg_catalog.has_database_privilege('starpass_owner', current_database(), 'CREATE')
       OR NOT pg_catalog.has_database_privilege('starpass_owner', current_database(), 'TEMPORARY') THEN
        EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
        FOREACH v_role IN ARRAY v_logins LOOP
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), v_role);
        END LOOP;
        -- TEMPORARY: api.open_promo_import stages a batch in a temporary table the owner owns
        -- (the login roles themselves may not create temporary tables).
        EXECUTE format('GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %I TO starpass_owner', current_database());
        RAISE NOTICE 'bootstrap: database privileges set (PUBLIC revoked, login roles CONNECT, owner CREATE and TEMPORARY)';
    END IF;

    -- Each login role gets its statement and idle-in-transaction limits in this database, once:
    -- a DBA's own ALTER ROLE ... IN DATABASE ... SET is kept on later runs.
    FOR v_limit IN
        SELECT * FROM (VALUES
            ('starpass_app',    'statement_timeout',                   '10s'),
            ('starpass_app',    'idle_in_transaction_session_timeout', '10s'),
            ('starpass_admin',  'statement_timeout',                   '60s'),
            ('starpass_admin',  'idle_in_transaction_session_timeout', '60s'),
            ('starpass_jobs',   'statement_timeout',                   '10min'),
            ('starpass_jobs',   'idle_in_transaction_session_timeout', '60s'),
            ('starpass_alerts', 'statement_timeout',                   '15s'),
            ('starpass_alerts', 'idle_in_transaction_session_timeout', '30s')
        ) AS l(role_name, setting, value)
    LOOP
        IF NOT EXISTS (
            SELECT FROM pg_catalog.pg_db_role_setting AS s
            JOIN pg_catalog.pg_database AS d ON d.oid = s.setdatabase
            WHERE d.datname = current_database() AND s.setrole = v_limit.role_name::regrole
              AND EXISTS (SELECT FROM unnest(s.setconfig) AS c WHERE c LIKE v_limit.setting || '=%')
        ) THEN
            EXECUTE format('ALTER ROLE %I IN DATABASE %I SET %I = %L', v_limit.role_name,
                           current_database(), v_limit.setting, v_limit.value);
            RAISE NOTICE 'bootstrap: % % = % in this database', v_limit.role_name,
                v_limit.setting, v_limit.value;
        END IF;
    END LOOP;

    IF pg_catalog.has_schema_privilege('public', 'public', 'USAGE') THEN
        REVOKE ALL ON SCHEMA public FROM PUBLIC;
        RAISE NOTICE 'bootstrap: revoked PUBLIC access to schema public';
    END IF;

    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'extensions') THEN
        CREATE SCHEMA extensions AUTHORIZATION starpass_owner;
        RAISE NOTICE 'bootstrap: created schema extensions';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pgcrypto') THEN
        CREATE EXTENSION pgcrypto WITH SCHEMA extensions;
        RAISE NOTICE 'bootstrap: created extension pgcrypto';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'yoyo') THEN
        CREATE SCHEMA yoyo AUTHORIZATION starpass_owner;
        RAISE NOTICE 'bootstrap: created schema yoyo (migration bookkeeping)';
    END IF;

    -- A failed statement is not logged: a DBA's literal promo code would end up in the server
    -- log. Needs a superuser; on a managed server set it in the server's parameters instead.
    IF current_setting('log_min_error_statement') <> 'panic'
       AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('ALTER DATABASE %I SET log_min_error_statement = panic', current_database());
        RAISE NOTICE 'bootstrap: failed statements are no longer logged in this database';
    END IF;

    -- api.import_promo_codes inserts a batch's capacity slots in replica mode, skipping the
    -- foreign-key check of slots that reference the campaigns its own INSERT returned (a third
    -- of a large import). Only a superuser can grant it; without it the check runs, slower.
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
       AND NOT pg_catalog.has_parameter_privilege('starpass_owner', 'session_replication_role', 'SET') THEN
        GRANT SET ON PARAMETER session_replication_role TO starpass_owner;
        RAISE NOTICE 'bootstrap: starpass_owner may set session_replication_role (bulk slot inserts)';
    END IF;

    -- Functions the owner creates are not executable by PUBLIC unless granted.
    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_default_acl d
        WHERE d.defaclrole = 'starpass_owner'::regrole AND d.defaclnamespace = 0
          AND d.defaclobjtype = 'f'
    ) THEN
        ALTER DEFAULT PRIVILEGES FOR ROLE starpass_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
        RAISE NOTICE 'bootstrap: default privileges: no EXECUTE for PUBLIC on owner functions';
    END IF;
END
$bootstrap$;
