-- SQL, so that it is inlined where called: on the redemption path the lock costs one
-- statement, not a statement plus a PL/pgSQL call that runs another.
CREATE OR REPLACE FUNCTION promo.lock_user(p_user_id bigint)
RETURNS void
LANGUAGE sql VOLATILE
AS $$ SELECT pg_catalog.pg_advisory_xact_lock(p_user_id) $$;
COMMENT ON FUNCTION promo.lock_user(bigint) IS
    'Serializes one user''s redemption attempts and throttle changes (until the transaction ends).';
