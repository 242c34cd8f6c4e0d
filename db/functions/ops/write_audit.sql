CREATE OR REPLACE FUNCTION ops.write_audit(
    p_actor        text,
    p_action       text,
    p_target_type  text,
    p_target_id    text,
    p_reason       text DEFAULT NULL,
    p_details      jsonb DEFAULT '{}'::jsonb
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_audit_id bigint;
BEGIN
    PERFORM ops.check_actor(p_actor);
    -- session_user, not current_user: inside SECURITY DEFINER current_user is the owner.
    INSERT INTO ops.audit_log (occurred_at, actor, db_role, action, target_type, target_id, reason,
                               details)
    VALUES (ops.now(), p_actor, session_user, p_action, p_target_type, p_target_id, p_reason,
            coalesce(p_details, '{}'::jsonb))
    RETURNING audit_id INTO v_audit_id;
    RETURN v_audit_id;
END
$$;
COMMENT ON FUNCTION ops.write_audit(text, text, text, text, text, jsonb) IS
    'Appends one audit row in the caller''s transaction, with the session''s login role; returns its id.';
