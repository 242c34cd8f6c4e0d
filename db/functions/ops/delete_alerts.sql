CREATE OR REPLACE FUNCTION ops.delete_alerts(p_alert_ids bigint[])
RETURNS integer
LANGUAGE sql VOLATILE
-- One statement, so the deliveries and the alerts they reference go together (the foreign key
-- is checked at its end).
AS $$
    WITH deliveries AS (
        DELETE FROM ops.alert_deliveries AS d WHERE d.alert_id = ANY (p_alert_ids)
    ), deleted AS (
        DELETE FROM ops.alert_outbox AS o WHERE o.alert_id = ANY (p_alert_ids)
        RETURNING o.alert_id
    )
    SELECT count(*)::integer FROM deleted
$$;
COMMENT ON FUNCTION ops.delete_alerts(bigint[]) IS
    'Deletes these alerts with all their deliveries; how many alerts. For api.prune_history, which chose and locked them.';
