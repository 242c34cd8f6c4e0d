CREATE OR REPLACE FUNCTION promo.lock_user(p_user_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    -- A transaction-scoped advisory lock keyed by the user id (single-bigint form) serializes a
    -- user's redemptions and throttle changes without writing a row.
    PERFORM pg_catalog.pg_advisory_xact_lock(p_user_id);
END
$$;
COMMENT ON FUNCTION promo.lock_user(bigint) IS
    'Serializes one user''s redemption attempts and throttle changes (until the transaction ends).';
