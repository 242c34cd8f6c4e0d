CREATE OR REPLACE FUNCTION api.list_alerts(
    p_state      text DEFAULT NULL,
    p_limit      integer DEFAULT 50,
    p_before_id  bigint DEFAULT NULL
)
RETURNS TABLE (
    alert_id      bigint,
    event         text,
    severity      text,
    action        text,
    state         text,
    summary       text,
    dedup_key     text,
    created_at    timestamptz,
    routed_at     timestamptz,
    settled_at    timestamptz,
    deliveries    jsonb
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_state IS NOT NULL THEN
        PERFORM ops.check_value(p_state, 'ops.alert_state', 'p_state');
    END IF;
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 1000, 'p_limit', 'list 1 to 1000 alerts', NULL);
    -- Newest first, in keyset pages (before p_before_id); each with its deliveries per target.
    RETURN QUERY
    SELECT a.alert_id, a.event, a.severity, a.action, a.state, a.summary, a.dedup_key, a.created_at,
           a.routed_at, coalesce(a.delivered_at, a.dead_at),
           coalesce((SELECT jsonb_agg(jsonb_build_object(
                               'delivery_id', d.delivery_id, 'target', d.target, 'state', d.state,
                               'attempts', d.attempts, 'failures', d.failures, 'hold_reason', d.hold_reason,
                               'summary_id', d.summary_id, 'fallback_for', d.fallback_for,
                               'next_attempt_at', d.next_attempt_at, 'last_error', d.last_error)
                           ORDER BY d.delivery_id)
                     FROM ops.alert_deliveries AS d WHERE d.alert_id = a.alert_id), '[]'::jsonb)
    FROM ops.alert_outbox AS a
    WHERE (p_state IS NULL OR a.state = p_state) AND (p_before_id IS NULL OR a.alert_id < p_before_id)
    ORDER BY a.alert_id DESC
    LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_alerts(text, integer, bigint) IS
    'Operator: alerts newest first (optionally of one state, keyset pages before p_before_id), each with its deliveries per target.';
