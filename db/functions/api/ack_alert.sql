CREATE OR REPLACE FUNCTION api.ack_alert(p_id bigint)
RETURNS TABLE (
    alert_id  bigint,
    state     text,
    changed   boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_alert  ops.alert_outbox;
BEGIN
    SELECT * INTO v_alert FROM ops.alert_outbox AS a WHERE a.alert_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'alert_not_found', MESSAGE = 'alert not found', DETAIL = format('no alert %s', p_id);
    END IF;
    IF v_alert.state <> 'pending' THEN
        RETURN QUERY SELECT p_id, v_alert.state, false;  -- delivered twice is still delivered
        RETURN;
    END IF;
    UPDATE ops.alert_outbox AS a
    SET state = 'delivered', delivered_at = ops.now(), claimed_until = NULL
    WHERE a.alert_id = p_id;
    RETURN QUERY SELECT p_id, 'delivered'::text, true;
END
$$;
COMMENT ON FUNCTION api.ack_alert(bigint) IS 'For dispatchers: marks an alert delivered (idempotent).';
