CREATE OR REPLACE FUNCTION ops.setting_value(p_key text, p_value_type text)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_setting ops.settings;
BEGIN
    SELECT * INTO v_setting FROM ops.settings WHERE key = p_key;
    IF NOT FOUND OR v_setting.value_type <> p_value_type THEN
        RAISE EXCEPTION USING
            ERRCODE = 'SP500',
            CONSTRAINT = 'setting_misconfigured',
            MESSAGE = format('setting %s is not configured as %s', p_key, p_value_type),
            DETAIL  = format('found type %s', coalesce(v_setting.value_type, 'none')),
            HINT    = 'Run `starpass db migrate`; settings are seeded by migrations.';
    END IF;
    RETURN v_setting.value;
END
$$;
COMMENT ON FUNCTION ops.setting_value(text, text) IS
    'A setting''s value as text, checked against the type the caller expects (SP500 otherwise).';
