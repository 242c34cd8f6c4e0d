CREATE OR REPLACE FUNCTION api.accept_terms(p_user_id bigint, p_terms_version text)
RETURNS TABLE (
    outcome        text,
    terms_version  text,
    accepted_at    timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_current  text := ops.setting_value('billing.terms_version', 'text');
    v_user     core.users;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    -- Accepting another text than the current one would record consent to something else.
    IF p_terms_version IS DISTINCT FROM v_current THEN
        RETURN QUERY SELECT 'OUTDATED'::text, v_current, NULL::timestamptz;
        RETURN;
    END IF;
    PERFORM core.ensure_user(p_user_id);
    SELECT * INTO v_user FROM core.users AS u WHERE u.user_id = p_user_id FOR UPDATE;
    IF v_user.terms_version = v_current THEN  -- a double tap keeps the first acceptance
        RETURN QUERY SELECT 'ALREADY_ACCEPTED'::text, v_current, v_user.terms_accepted_at;
        RETURN;
    END IF;
    UPDATE core.users AS u SET terms_version = v_current, terms_accepted_at = ops.now(), updated_at = ops.now()
    WHERE u.user_id = p_user_id;
    RETURN QUERY SELECT 'ACCEPTED'::text, v_current, ops.now();
END
$$;
COMMENT ON FUNCTION api.accept_terms(bigint, text) IS
    'Records that a user accepted the current terms (billing.terms_version): ACCEPTED, ALREADY_ACCEPTED (the first acceptance time is kept), or OUTDATED when another version was shown.';
