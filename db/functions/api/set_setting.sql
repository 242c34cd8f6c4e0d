CREATE OR REPLACE FUNCTION api.set_setting(
    p_key     text,
    p_value   text,
    p_actor   text,
    p_reason  text DEFAULT NULL
)
RETURNS TABLE (
    key             text,
    value           text,
    previous_value  text,
    changed         boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_setting  ops.settings;
BEGIN
    PERFORM ops.check_actor(p_actor);
    SELECT * INTO v_setting FROM ops.settings AS s WHERE s.key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'setting_not_found', MESSAGE = 'setting not found',
            DETAIL = format('no setting %L', p_key), HINT = 'api.list_settings() lists them.';
    END IF;
    PERFORM ops.check_argument(p_value IS NOT NULL AND ops.is_valid_setting_value(v_setting.value_type, p_value), 'p_value',
        format('%L is not a valid %s', p_value, v_setting.value_type),
        format('%s takes a %s, e.g. %s', p_key, v_setting.value_type, v_setting.default_value));

    IF v_setting.value = p_value THEN
        RETURN QUERY SELECT p_key, p_value, v_setting.value, false;
        RETURN;
    END IF;
    PERFORM ops.write_audit(p_actor, 'ops.setting_changed', 'setting', p_key, p_reason,
                            jsonb_build_object('from', v_setting.value, 'to', p_value));
    UPDATE ops.settings AS s
    SET value = p_value, updated_at = ops.now(), updated_by = p_actor
    WHERE s.key = p_key;
    RETURN QUERY SELECT p_key, p_value, v_setting.value, true;
END
$$;
COMMENT ON FUNCTION api.set_setting(text, text, text, text) IS
    'Changes a tunable (validated against its type, audited); the same value again changes nothing.';
