CREATE OR REPLACE FUNCTION ops.raise_alert(
    p_event      text,
    p_severity   text,
    p_summary    text,
    p_details    jsonb,
    p_dedup_key  text
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_alert_id  bigint;
BEGIN
    -- In the caller's transaction: the alert exists exactly when the change that caused it
    -- committed. A pending alert with the same dedup key is not raised twice.
    INSERT INTO ops.alert_outbox (event, severity, summary, details, dedup_key, created_at)
    VALUES (p_event, p_severity, p_summary, coalesce(p_details, '{}'::jsonb), p_dedup_key, ops.now())
    ON CONFLICT (dedup_key) WHERE state = 'pending' DO NOTHING
    RETURNING alert_id INTO v_alert_id;
    RETURN v_alert_id;
END
$$;
COMMENT ON FUNCTION ops.raise_alert(text, text, text, jsonb, text) IS
    'Raises an operational alert in the caller''s transaction; returns its id, or NULL when a pending alert has the same dedup key.';
