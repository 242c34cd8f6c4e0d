CREATE OR REPLACE FUNCTION api.ack_alert_delivery(p_delivery_id bigint, p_attempt integer)
RETURNS TABLE (
    delivery_id    bigint,
    state          text,
    changed        boolean,
    send_again_in  double precision
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now        timestamptz := ops.now();
    v_delivery   ops.alert_deliveries;
    v_count      integer := 0;
BEGIN
    PERFORM ops.check_argument(p_attempt >= 1, 'p_attempt', 'the attempt a claim returned (1 or more)', NULL);
    v_delivery := ops.lock_alert_delivery(p_delivery_id);

    -- The provider took it: delivered, whichever attempt this was (one whose lease ran out
    -- was still delivered; at least once). Delivered twice is still delivered.
    IF v_delivery.state = 'pending' THEN
        UPDATE ops.alert_deliveries AS m SET state = 'delivered', delivered_at = v_now, claimed_until = NULL
        WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.state = 'pending'
          AND (m.delivery_id = p_delivery_id OR m.kind = 'alert');
        GET DIAGNOSTICS v_count = ROW_COUNT;
        UPDATE ops.alert_targets AS t
        SET delivered = t.delivered + CASE WHEN v_delivery.kind = 'summary' THEN v_count - 1 ELSE v_count END
        WHERE t.target = v_delivery.target;
        PERFORM ops.settle_alert(m.alert_id) FROM ops.alert_deliveries AS m
        WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.alert_id IS NOT NULL;
    END IF;
    RETURN QUERY SELECT p_delivery_id, 'delivered'::text, v_delivery.state = 'pending',
                        ops.release_alert_target(v_delivery.target, p_delivery_id, p_attempt, NULL);
END
$$;
COMMENT ON FUNCTION api.ack_alert_delivery(bigint, integer) IS
    'For dispatchers: the provider accepted the send of this claim (attempt): the delivery (a summary with its alerts) is delivered, the alerts settle, the target''s send slot is freed; returns the seconds until the target may send again.';
