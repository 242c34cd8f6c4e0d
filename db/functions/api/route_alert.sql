CREATE OR REPLACE FUNCTION api.route_alert(
    p_alert_id         bigint,
    p_targets          text[],
    p_flood_limit      integer DEFAULT NULL,
    p_repeat_interval  interval DEFAULT NULL
)
RETURNS TABLE (
    alert_id    bigint,
    deliveries  integer,
    held_until  timestamptz,
    changed     boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now          timestamptz := ops.now();
    v_alert        ops.alert_outbox;
    v_limit        integer;
    v_every        interval;
    v_flood        ops.alert_floods;
    v_held         timestamptz;
    v_maintenance  boolean;
    v_count        integer;
BEGIN
    PERFORM ops.check_argument(cardinality(p_targets) BETWEEN 1 AND 20
                               AND array_position(p_targets, NULL) IS NULL, 'p_targets',
        'route to 1 to 20 targets', 'Name targets as generic, slack, slack:<channel>, pagerduty or pagerduty:<name>.');
    PERFORM ops.check_argument(
        (SELECT bool_and(t ~ '^(generic|slack|pagerduty)(:[A-Za-z0-9#._-]{1,80})?$') FROM unnest(p_targets) AS t),
        'p_targets', 'a target name is generic, slack, slack:<channel>, pagerduty or pagerduty:<name>',
        'A target is a name from the dispatcher''s configuration, never a URL or a key.');
    PERFORM ops.check_argument(p_flood_limit IS NULL OR p_flood_limit BETWEEN 1 AND 100000, 'p_flood_limit',
        'a flood limit is 1 to 100000 alerts per repeat interval', NULL);
    PERFORM ops.check_argument(p_repeat_interval IS NULL
                               OR (p_repeat_interval > interval '0' AND p_repeat_interval <= interval '7 days'),
        'p_repeat_interval', 'a repeat interval is more than 0 and at most 7 days', NULL);

    -- Lock order: the alert, its event's flood window, then the new deliveries.
    SELECT * INTO v_alert FROM ops.alert_outbox AS a WHERE a.alert_id = p_alert_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'alert_not_found', MESSAGE = 'alert not found',
            DETAIL = format('no alert %s', p_alert_id);
    END IF;
    IF v_alert.routed_at IS NOT NULL OR v_alert.state <> 'pending' THEN
        -- Routed already (by another dispatcher whose lease ran out), or settled by hand.
        RETURN QUERY SELECT p_alert_id, (SELECT count(*)::integer FROM ops.alert_deliveries AS d
                                         WHERE d.alert_id = p_alert_id AND d.fallback_for IS NULL),
                            NULL::timestamptz, false;
        RETURN;
    END IF;

    -- Flood control: per event, at most v_limit alerts per repeat interval go out at once; the
    -- rest wait for the end of the interval and then go out together, as one summary per
    -- target. Resolves and test alerts are never held.
    IF v_alert.action = 'trigger' AND NOT coalesce(v_alert.details -> 'test' = 'true'::jsonb, false) THEN
        v_limit := coalesce(p_flood_limit, ops.setting_integer('ops.alert_flood_limit'));
        v_every := coalesce(p_repeat_interval, ops.setting_interval('ops.alert_repeat_interval'));
        INSERT INTO ops.alert_floods AS f (event, window_start, routed) VALUES (v_alert.event, v_now, 0)
        ON CONFLICT (event) DO NOTHING;
        SELECT * INTO v_flood FROM ops.alert_floods AS f WHERE f.event = v_alert.event FOR UPDATE;
        IF v_flood.window_start + v_every <= v_now THEN
            v_flood.window_start := v_now;
            v_flood.routed := 0;
        END IF;
        v_flood.routed := v_flood.routed + 1;
        UPDATE ops.alert_floods AS f SET window_start = v_flood.window_start, routed = v_flood.routed
        WHERE f.event = v_alert.event;
        IF v_flood.routed > v_limit THEN
            v_held := v_flood.window_start + v_every;
        END IF;
    END IF;

    -- A page raised during a maintenance window is held while the window lasts (api.claim_alert_deliveries
    -- reads the window each time, so ending it early releases the pages).
    v_maintenance := v_now < ops.setting_timestamptz('ops.alert_maintenance_until');
    INSERT INTO ops.alert_targets AS t (target) SELECT DISTINCT x FROM unnest(p_targets) AS x
    ON CONFLICT (target) DO NOTHING;
    INSERT INTO ops.alert_deliveries (alert_id, target, action, dedup_key, hold_reason, created_at, next_attempt_at)
    SELECT p_alert_id, x.t, v_alert.action, coalesce(v_alert.resolves, v_alert.dedup_key),
           CASE WHEN v_held IS NOT NULL THEN 'flood'
                WHEN v_maintenance AND split_part(x.t, ':', 1) = 'pagerduty' THEN 'maintenance' END,
           v_now, coalesce(v_held, v_now)
    FROM (SELECT DISTINCT t FROM unnest(p_targets) AS t) AS x;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    UPDATE ops.alert_outbox AS a SET routed_at = v_now, claimed_until = NULL WHERE a.alert_id = p_alert_id;
    RETURN QUERY SELECT p_alert_id, v_count, v_held, true;
END
$$;
COMMENT ON FUNCTION api.route_alert(bigint, text[], integer, interval) IS
    'For dispatchers: routes an alert to its targets (one delivery each), applying flood control per event and the maintenance window for pages; again, nothing changes.';
