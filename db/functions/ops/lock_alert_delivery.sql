CREATE OR REPLACE FUNCTION ops.lock_alert_delivery(p_delivery_id bigint)
RETURNS ops.alert_deliveries
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_delivery  ops.alert_deliveries;
BEGIN
    -- For the answer to a send: the alerts it carries (one, or a summary's), by id, then the
    -- delivery itself: the lock order of every function that settles alerts, so two answers
    -- for deliveries of one alert settle it once and never deadlock.
    PERFORM FROM ops.alert_deliveries AS d WHERE d.delivery_id = p_delivery_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'delivery_not_found', MESSAGE = 'alert delivery not found',
            DETAIL = format('no alert delivery %s', p_delivery_id);
    END IF;
    PERFORM FROM ops.alert_outbox AS a
    WHERE a.alert_id IN (SELECT m.alert_id FROM ops.alert_deliveries AS m
                         WHERE m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id)
    ORDER BY a.alert_id
    FOR UPDATE;
    SELECT * INTO v_delivery FROM ops.alert_deliveries AS d WHERE d.delivery_id = p_delivery_id FOR UPDATE;
    RETURN v_delivery;
END
$$;
COMMENT ON FUNCTION ops.lock_alert_delivery(bigint) IS
    'Locks the alerts a delivery carries (by id), then the delivery, and returns it; SP404 delivery_not_found.';
