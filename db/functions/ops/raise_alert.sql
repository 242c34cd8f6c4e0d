CREATE OR REPLACE FUNCTION ops.raise_alert(
    p_event      text,
    p_severity   text,
    p_summary    text,
    p_details    jsonb,
    p_dedup_key  text,
    p_resolves   text DEFAULT NULL
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_now       timestamptz := ops.now();
    v_alert_id  bigint;
BEGIN
    -- In the caller's transaction: the alert exists exactly when the change that caused it
    -- committed. The same dedup key within the window, or while one is pending, is not raised
    -- again (the partial unique index settles concurrent raises). With p_resolves the alert is a
    -- resolve of the trigger raised with that dedup key (ops.resolve_alert).
    IF EXISTS (SELECT FROM ops.alert_outbox AS a
               WHERE a.dedup_key = p_dedup_key
                 AND (a.state = 'pending' OR a.created_at > v_now - ops.setting_interval('ops.alert_dedup_window'))) THEN
        RETURN NULL;
    END IF;
    INSERT INTO ops.alert_outbox (event, severity, summary, details, dedup_key, created_at, next_attempt_at,
                                  action, resolves)
    VALUES (p_event, p_severity, left(p_summary, 500), coalesce(p_details, '{}'::jsonb), p_dedup_key, v_now, v_now,
            CASE WHEN p_resolves IS NULL THEN 'trigger' ELSE 'resolve' END, p_resolves)
    ON CONFLICT (dedup_key) WHERE state = 'pending' DO NOTHING
    RETURNING alert_id INTO v_alert_id;
    RETURN v_alert_id;
END
$$;
COMMENT ON FUNCTION ops.raise_alert(text, text, text, jsonb, text, text) IS
    'Raises an operational alert in the caller''s transaction (a resolve of the trigger with dedup key p_resolves when given); returns its id, or NULL when the same dedup key is pending or was raised within ops.alert_dedup_window.';
