-- Applied by `starpass db migrate` after the function files, in the same transaction, as the
-- owner. The rule in one place: the app may execute every `api` function and nothing else;
-- PUBLIC executes nothing of ours; the app sees no schema but api and no table at all.
DO $grants$
DECLARE
    v_schema text;
BEGIN
    FOREACH v_schema IN ARRAY ARRAY['core', 'billing', 'promo', 'referral', 'ops', 'extensions', 'yoyo'] LOOP
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC, starpass_app', v_schema);
    END LOOP;
    GRANT USAGE ON SCHEMA api TO starpass_app;
    FOREACH v_schema IN ARRAY ARRAY['api', 'core', 'billing', 'promo', 'referral', 'ops'] LOOP
        EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA %I FROM PUBLIC, starpass_app', v_schema);
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC, starpass_app', v_schema);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM PUBLIC, starpass_app', v_schema);
    END LOOP;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO starpass_app;
END
$grants$;
