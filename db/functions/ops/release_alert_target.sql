CREATE OR REPLACE FUNCTION ops.release_alert_target(
    p_target       text,
    p_delivery_id  bigint,
    p_attempt      integer,
    p_wait_until   timestamptz
)
RETURNS double precision
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_now   timestamptz := ops.now();
    v_next  timestamptz;
BEGIN
    -- The send of this attempt is over: the target may send again after its provider's interval
    -- (or p_wait_until, a Retry-After, if later). Only the attempt that holds the slot frees it: a
    -- dispatcher that answers after its lease ran out, while another attempt holds the slot,
    -- leaves that one alone (but a Retry-After still pushes the next send back). Returns the
    -- seconds until the next send, so the dispatcher knows when to claim again.
    UPDATE ops.alert_targets AS t
    SET next_send_at = CASE
            WHEN t.busy_with = p_delivery_id AND t.busy_attempt = p_attempt
                THEN greatest(v_now + ops.alert_send_interval(t.provider), coalesce(p_wait_until, '-infinity'))
            ELSE greatest(t.next_send_at, coalesce(p_wait_until, '-infinity')) END,
        busy_with = CASE WHEN t.busy_with = p_delivery_id AND t.busy_attempt = p_attempt THEN NULL ELSE t.busy_with END,
        busy_attempt = CASE WHEN t.busy_with = p_delivery_id AND t.busy_attempt = p_attempt THEN NULL ELSE t.busy_attempt END
    WHERE t.target = p_target
    RETURNING t.next_send_at INTO v_next;
    RETURN greatest(extract(epoch FROM v_next - v_now), 0)::double precision;
END
$$;
COMMENT ON FUNCTION ops.release_alert_target(text, bigint, integer, timestamptz) IS
    'Frees a target''s send slot held by this delivery attempt (next send after the provider''s interval, or p_wait_until); returns the seconds until its next send.';
