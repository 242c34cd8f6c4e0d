CREATE OR REPLACE FUNCTION ops.settle_alert(p_alert_id bigint)
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_now    timestamptz := ops.now();
    v_state  text;
BEGIN
    -- The caller holds the alert's row lock (taken before its deliveries'), so two dispatchers
    -- finishing the last two deliveries of one alert settle it once. A routed alert is settled
    -- when none of its deliveries is pending: delivered when each target it was routed to
    -- delivered it, directly or through the fallback that target fell back to; dead otherwise.
    IF EXISTS (SELECT FROM ops.alert_deliveries AS d WHERE d.alert_id = p_alert_id AND d.state = 'pending') THEN
        RETURN 'pending';
    END IF;
    v_state := CASE WHEN EXISTS (
                   SELECT FROM ops.alert_deliveries AS d
                   WHERE d.alert_id = p_alert_id AND d.fallback_for IS NULL AND d.state = 'dead'
                     AND NOT EXISTS (SELECT FROM ops.alert_deliveries AS f
                                     WHERE f.alert_id = p_alert_id AND f.target = d.fallback_target
                                       AND f.state = 'delivered'))
               THEN 'dead' ELSE 'delivered' END;
    UPDATE ops.alert_outbox AS a
    SET state = v_state, claimed_until = NULL,
        delivered_at = CASE WHEN v_state = 'delivered' THEN v_now END,
        dead_at = CASE WHEN v_state = 'dead' THEN v_now END
    WHERE a.alert_id = p_alert_id AND a.state = 'pending' AND a.routed_at IS NOT NULL;
    RETURN v_state;
END
$$;
COMMENT ON FUNCTION ops.settle_alert(bigint) IS
    'Sets a routed alert delivered or dead once none of its deliveries is pending (the caller holds its row lock); returns its state.';
