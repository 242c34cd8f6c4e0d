CREATE OR REPLACE FUNCTION ops.notify_alert()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('ops_alerts', NEW.alert_id::text);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ops.notify_alert() IS
    'Trigger: wakes dispatchers listening on channel ops_alerts (sent at commit).';
