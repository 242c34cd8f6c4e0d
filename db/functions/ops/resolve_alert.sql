CREATE OR REPLACE FUNCTION ops.resolve_alert(
    p_event    text,
    p_subject  jsonb,
    p_summary  text
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_trigger  ops.alert_outbox;
BEGIN
    -- The condition behind the newest trigger of this event for this subject (its details
    -- contain p_subject, e.g. {"promo_code_id": 7}) has cleared: raise its resolve, once. The
    -- resolve carries the trigger's dedup key, which the providers use to close the incident
    -- (PagerDuty: event_action resolve with the same dedup_key and routing key).
    SELECT * INTO v_trigger FROM ops.alert_outbox AS a
    WHERE a.event = p_event AND a.action = 'trigger' AND a.details @> p_subject
    ORDER BY a.alert_id DESC
    LIMIT 1;
    IF NOT FOUND OR EXISTS (SELECT FROM ops.alert_outbox AS r
                            WHERE r.action = 'resolve' AND r.resolves = v_trigger.dedup_key
                              AND r.alert_id > v_trigger.alert_id) THEN
        RETURN NULL;  -- nothing open
    END IF;
    RETURN ops.raise_alert(p_event, v_trigger.severity, p_summary, p_subject || jsonb_build_object('resolves_alert_id', v_trigger.alert_id),
                           'resolve:' || v_trigger.alert_id, v_trigger.dedup_key);
END
$$;
COMMENT ON FUNCTION ops.resolve_alert(text, jsonb, text) IS
    'Raises the resolve of the newest unresolved trigger of p_event whose details contain p_subject (in the caller''s transaction); NULL when none is open.';
