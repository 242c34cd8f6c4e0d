CREATE OR REPLACE FUNCTION api.get_premium_status(p_user_id bigint)
RETURNS TABLE (
    user_id        bigint,
    is_premium     boolean,
    premium_until  timestamptz,
    checked_at     timestamptz
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now    timestamptz := ops.now();
    v_until  timestamptz;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    SELECT e.premium_until INTO v_until FROM billing.entitlements AS e WHERE e.user_id = p_user_id;
    RETURN QUERY SELECT p_user_id, coalesce(v_until > v_now, false), v_until, v_now;
END
$$;
COMMENT ON FUNCTION api.get_premium_status(bigint) IS
    'Whether a user has premium now and until when (premium_until may lie in the past; NULL if never).';
