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
    v_alert_ids  bigint[];
    v_alert_id   bigint;
    v_count      integer := 0;
BEGIN
    PERFORM ops.check_argument(p_attempt >= 1, 'p_attempt', 'the attempt a claim returned (1 or more)', NULL);
    SELECT * INTO v_delivery FROM ops.alert_deliveries AS d WHERE d.delivery_id = p_delivery_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'delivery_not_found', MESSAGE = 'alert delivery not found',
            DETAIL = format('no alert delivery %s', p_delivery_id);
    END IF;
    -- Lock order: the alerts (by id), the deliveries, the target.
    SELECT array_agg(m.alert_id ORDER BY m.alert_id) INTO v_alert_ids FROM ops.alert_deliveries AS m
    WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.alert_id IS NOT NULL;
    PERFORM FROM ops.alert_outbox AS a WHERE a.alert_id = ANY (v_alert_ids) ORDER BY a.alert_id FOR UPDATE;
    SELECT * INTO v_delivery FROM ops.alert_deliveries AS d WHERE d.delivery_id = p_delivery_id FOR UPDATE;

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
        FOREACH v_alert_id IN ARRAY coalesce(v_alert_ids, '{}') LOOP
            PERFORM ops.settle_alert(v_alert_id);
        END LOOP;
    END IF;
    RETURN QUERY SELECT p_delivery_id, 'delivered'::text, v_delivery.state = 'pending',
                        ops.release_alert_target(v_delivery.target, p_delivery_id, p_attempt, NULL);
END
$$;
COMMENT ON FUNCTION api.ack_alert_delivery(bigint, integer) IS
    'For dispatchers: the provider accepted the send of this claim (attempt): the delivery (a summary with its alerts) is delivered, the alerts settle, the target''s send slot is freed; returns the seconds until the target may send again.';
