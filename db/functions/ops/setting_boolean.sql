CREATE OR REPLACE FUNCTION ops.setting_boolean(p_key text)
RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT ops.setting_value(p_key, 'boolean')::boolean $$;
COMMENT ON FUNCTION ops.setting_boolean(text) IS 'A boolean setting.';
