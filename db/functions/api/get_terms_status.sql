CREATE OR REPLACE FUNCTION api.get_terms_status(p_user_id bigint)
RETURNS TABLE (
    terms_version   text,
    terms_accepted  boolean,
    accepted_at     timestamptz
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_current  text := ops.setting_value('billing.terms_version', 'text');
BEGIN
    PERFORM core.check_user_id(p_user_id);
    RETURN QUERY
    SELECT v_current, coalesce(u.terms_version = v_current, false),
           CASE WHEN u.terms_version = v_current THEN u.terms_accepted_at END
    FROM (SELECT 1) AS one
    LEFT JOIN core.users AS u ON u.user_id = p_user_id;
END
$$;
COMMENT ON FUNCTION api.get_terms_status(bigint) IS
    'The current terms version (billing.terms_version) and whether and when the user accepted it.';
