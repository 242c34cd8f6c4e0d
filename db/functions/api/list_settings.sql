CREATE OR REPLACE FUNCTION api.list_settings()
RETURNS TABLE (
    key            text,
    value_type     text,
    value          text,
    default_value  text,
    description    text,
    updated_at     timestamptz,
    updated_by     text
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.key, s.value_type, s.value, s.default_value, s.description, s.updated_at, s.updated_by
    FROM ops.settings AS s
    ORDER BY s.key
$$;
COMMENT ON FUNCTION api.list_settings() IS 'Every tunable with its type, current value, default and meaning.';
