CREATE OR REPLACE FUNCTION ops.alert_send_interval(p_provider text)
RETURNS interval
LANGUAGE sql STABLE
AS $$ SELECT ops.setting_interval('ops.alert_' || p_provider || '_interval') $$;
COMMENT ON FUNCTION ops.alert_send_interval(text) IS
    'The least time between two sends to one target of the provider (settings ops.alert_<provider>_interval).';
