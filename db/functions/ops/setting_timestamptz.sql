CREATE OR REPLACE FUNCTION ops.setting_timestamptz(p_key text)
RETURNS timestamptz
LANGUAGE sql STABLE
AS $$ SELECT ops.setting_value(p_key, 'timestamptz')::timestamptz $$;
COMMENT ON FUNCTION ops.setting_timestamptz(text) IS 'A timestamptz setting (ISO 8601 with an offset, or -infinity/infinity).';
