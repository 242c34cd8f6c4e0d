CREATE OR REPLACE FUNCTION api.raise_test_alert(p_event text, p_severity text, p_actor text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id  bigint;
BEGIN
    PERFORM ops.check_argument(p_event ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$' AND char_length(p_event) <= 100, 'p_event',
        format('%L is not an event name', left(p_event, 100)), 'Name an event of the catalog (docs/alerts.md), e.g. jobs.failed.');
    PERFORM ops.check_value(p_severity, 'ops.alert_severity', 'p_severity');
    PERFORM ops.check_actor(p_actor);
    -- Routed like the event itself; marked as a test in its details, never flood-controlled,
    -- and its own dedup key, so each call sends.
    v_id := ops.raise_alert(p_event, p_severity, format('TEST: %s (sent by %s)', p_event, p_actor),
                            jsonb_build_object('test', true, 'actor', p_actor),
                            'test:' || p_event || ':' || pg_catalog.gen_random_uuid());
    PERFORM ops.write_audit(p_actor, 'ops.alert_test_raised', 'alert', v_id::text, NULL,
                            jsonb_build_object('event', p_event));
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION api.raise_test_alert(text, text, text) IS
    'Operator: raises a test alert of an event (details.test = true, its own dedup key), routed and delivered like the event; audited. Returns its id.';
