CREATE OR REPLACE FUNCTION api.delete_user_data(p_user_id bigint)
RETURNS TABLE (
    outcome          text,
    data_deleted_at  timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM core.check_user_id(p_user_id);
    -- The profile goes; the Telegram id stays as the key of payments and the ledger, which
    -- German commercial and tax law require us to keep (HGB §257, AO §147: 6 to 10 years).
    UPDATE core.users AS u
    SET username = NULL, first_name = NULL, language_code = NULL, terms_version = NULL,
        terms_accepted_at = NULL, data_deleted_at = v_now, updated_at = v_now
    WHERE u.user_id = p_user_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'NOTHING_STORED'::text, NULL::timestamptz;
        RETURN;
    END IF;
    -- What the user wrote to payment support is personal, not a financial record: it goes too;
    -- that a request was made (and when) stays with the payments it may concern.
    UPDATE billing.support_requests AS s SET message = '(deleted at the user''s request)'
    WHERE s.user_id = p_user_id AND s.message <> '(deleted at the user''s request)';
    PERFORM ops.write_audit('user:' || p_user_id, 'core.user_data_deleted', 'user', p_user_id::text,
                            'request by the user', '{}'::jsonb);
    RETURN QUERY SELECT 'DELETED'::text, v_now;
END
$$;
COMMENT ON FUNCTION api.delete_user_data(bigint) IS
    'A user''s data-deletion request: clears the stored profile (username, first name, language, terms acceptance), keeps financial records and the id they are keyed by; DELETED or NOTHING_STORED; audited.';
