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

CREATE OR REPLACE FUNCTION ops.setting_interval(p_key text)
RETURNS interval
LANGUAGE sql STABLE
AS $$ SELECT ops.setting_value(p_key, 'interval')::interval $$;
COMMENT ON FUNCTION ops.setting_interval(text) IS 'An interval setting.';

CREATE OR REPLACE FUNCTION ops.setting_integer(p_key text)
RETURNS integer
LANGUAGE sql STABLE
AS $$ SELECT ops.setting_value(p_key, 'integer')::integer $$;
COMMENT ON FUNCTION ops.setting_integer(text) IS 'An integer setting.';

CREATE OR REPLACE FUNCTION ops.setting_boolean(p_key text)
RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT ops.setting_value(p_key, 'boolean')::boolean $$;
COMMENT ON FUNCTION ops.setting_boolean(text) IS 'A boolean setting.';

CREATE OR REPLACE FUNCTION ops.setting_timestamptz(p_key text)
RETURNS timestamptz
LANGUAGE sql STABLE
AS $$ SELECT ops.setting_value(p_key, 'timestamptz')::timestamptz $$;
COMMENT ON FUNCTION ops.setting_timestamptz(text) IS 'A timestamptz setting (ISO 8601 with an offset, or -infinity/infinity).';
