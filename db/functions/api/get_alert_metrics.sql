CREATE OR REPLACE FUNCTION api.get_alert_metrics()
RETURNS TABLE (
    target      text,
    provider    text,
    delivered   bigint,
    failed      bigint,
    dead        bigint,
    summaries   bigint,
    pending     bigint,
    held        bigint,
    oldest_pending_seconds  double precision
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now          timestamptz := ops.now();
    v_maintenance  boolean := ops.now() < ops.setting_timestamptz('ops.alert_maintenance_until');
BEGIN
    -- Per target: the counters (deliveries of alerts delivered and dead, failed sends, summaries
    -- sent) and the backlog (pending deliveries; held: waiting for a flood window or a
    -- maintenance window to end). Database-wide figures: every instance reports the same.
    RETURN QUERY
    SELECT t.target, t.provider, t.delivered, t.failed, t.dead, t.summaries,
           count(d.delivery_id) FILTER (WHERE d.kind = 'alert'),
           count(d.delivery_id) FILTER (WHERE d.kind = 'alert' AND (
               (d.hold_reason = 'flood' AND d.next_attempt_at > v_now)
               OR (v_maintenance AND t.provider = 'pagerduty'))),
           coalesce(extract(epoch FROM v_now - min(d.created_at)), 0)::double precision
    FROM ops.alert_targets AS t
    LEFT JOIN ops.alert_deliveries AS d ON d.target = t.target AND d.state = 'pending'
    GROUP BY t.target, t.provider, t.delivered, t.failed, t.dead, t.summaries
    ORDER BY t.target;
END
$$;
COMMENT ON FUNCTION api.get_alert_metrics() IS
    'Figures for /metrics per alert target: deliveries delivered, dead, failed sends, summaries, and the pending and held backlog with the age of its oldest delivery.';
