CREATE OR REPLACE FUNCTION api.claim_alerts(p_limit integer DEFAULT 10, p_lease_seconds integer DEFAULT 60)
RETURNS TABLE (
    alert_id    bigint,
    event       text,
    severity    text,
    summary     text,
    details     jsonb,
    dedup_key   text,
    created_at  timestamptz,
    attempts    integer,
    action      text,
    resolves    text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 1000, 'p_limit', 'claim 1 to 1000 alerts', NULL);
    PERFORM ops.check_argument(p_lease_seconds BETWEEN 1 AND 3600, 'p_lease_seconds',
        'a lease is 1 to 3600 seconds', NULL);
    -- Alerts waiting to be routed (api.route_alert) that nobody holds a live lease on, oldest
    -- first (a trigger is routed before its resolve); a crashed dispatcher's lease runs out and
    -- its claims come back.
    RETURN QUERY
    WITH due AS (
        SELECT a.alert_id FROM ops.alert_outbox AS a
        WHERE a.state = 'pending' AND a.routed_at IS NULL AND a.next_attempt_at <= v_now
          AND (a.claimed_until IS NULL OR a.claimed_until <= v_now)
        ORDER BY a.next_attempt_at, a.alert_id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE ops.alert_outbox AS a
    SET claimed_until = v_now + p_lease_seconds * interval '1 second', attempts = a.attempts + 1
    FROM due WHERE a.alert_id = due.alert_id
    RETURNING a.alert_id, a.event, a.severity, a.summary, a.details, a.dedup_key, a.created_at, a.attempts,
              a.action, a.resolves;
END
$$;
COMMENT ON FUNCTION api.claim_alerts(integer, integer) IS
    'For dispatchers: leases up to p_limit pending alerts that are not routed yet (SKIP LOCKED) for p_lease_seconds, to route them with api.route_alert; an expired lease makes an alert claimable again.';
