CREATE OR REPLACE FUNCTION ops.setting_interval(p_key text)
RETURNS interval
LANGUAGE sql STABLE
AS $$ SELECT ops.setting_value(p_key, 'interval')::interval $$;
COMMENT ON FUNCTION ops.setting_interval(text) IS 'An interval setting.';
