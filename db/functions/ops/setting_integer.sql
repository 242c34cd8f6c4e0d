CREATE OR REPLACE FUNCTION ops.setting_integer(p_key text)
RETURNS integer
LANGUAGE sql STABLE
AS $$ SELECT ops.setting_value(p_key, 'integer')::integer $$;
COMMENT ON FUNCTION ops.setting_integer(text) IS 'An integer setting.';
