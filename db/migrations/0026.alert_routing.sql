-- depends: 0024.redeem_idempotency
-- Alert routing (docs/alerts.md): each alert of ops.alert_outbox is routed by the dispatcher to
-- one or more targets (generic webhook, Slack webhooks, PagerDuty routing keys); each
-- (alert, target) pair is a delivery with its own lease, attempts, backoff and dead letter, so a
-- retry towards one target never sends again to another. A target sends one message at a time,
-- spaced by its provider's interval (the rate limits, held in the database so that several
-- dispatchers together keep them); what waits beyond ops.alert_overflow_after goes out as one
-- summary. Flood control per event, maintenance windows for pages, resolve alerts.

-- Vocabularies, stated once (as in 0019).
CREATE DOMAIN ops.alert_severity AS text
    CONSTRAINT alert_severity_check CHECK (VALUE IN ('critical', 'error', 'warning', 'info'));
CREATE DOMAIN ops.alert_state AS text
    CONSTRAINT alert_state_check CHECK (VALUE IN ('pending', 'delivered', 'dead'));
CREATE DOMAIN ops.alert_action AS text
    CONSTRAINT alert_action_check CHECK (VALUE IN ('trigger', 'resolve'));
CREATE DOMAIN ops.alert_provider AS text
    CONSTRAINT alert_provider_check CHECK (VALUE IN ('generic', 'slack', 'pagerduty'));
COMMENT ON DOMAIN ops.alert_severity IS 'How bad an alert is (PagerDuty''s four severities).';
COMMENT ON DOMAIN ops.alert_state IS 'An alert''s or a delivery''s state.';
COMMENT ON DOMAIN ops.alert_action IS 'A trigger opens a condition, a resolve closes it (same dedup key at the provider).';
COMMENT ON DOMAIN ops.alert_provider IS 'Where a target delivers: the generic JSON webhook, a Slack incoming webhook, PagerDuty Events API v2.';

-- Settings may be timestamps (the maintenance window): ISO 8601 with an explicit offset, so a
-- value means the same instant whatever the session's time zone, or -infinity/infinity.
CREATE OR REPLACE FUNCTION ops.is_valid_setting_value(p_value_type text, p_value text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    CASE p_value_type
        WHEN 'integer'  THEN PERFORM p_value::integer;
        WHEN 'interval' THEN PERFORM p_value::interval;
        WHEN 'boolean'  THEN PERFORM p_value::boolean;
        WHEN 'text'     THEN NULL;
        WHEN 'timestamptz' THEN
            IF p_value IN ('-infinity', 'infinity') THEN
                RETURN true;
            END IF;
            IF p_value !~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)? ?(Z|[+-]\d{2}(:?\d{2})?)$' THEN
                RETURN false;
            END IF;
            RETURN ops.timestamp_range() @> p_value::timestamptz;
        ELSE RETURN false;
    END CASE;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;
COMMENT ON FUNCTION ops.is_valid_setting_value(text, text) IS
    'Whether a setting value parses as its declared type (used by CHECK constraints); a timestamptz is ISO 8601 with an offset, or -infinity/infinity.';
ALTER TABLE ops.settings
    DROP CONSTRAINT settings_value_type_check,
    ADD CONSTRAINT settings_value_type_check
        CHECK (value_type IN ('integer', 'interval', 'boolean', 'text', 'timestamptz'));

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('ops.alert_maintenance_until', 'timestamptz', '-infinity', '-infinity',
     'Maintenance window: until this time (ISO 8601 with an offset) PagerDuty deliveries are held (recorded, sent after it); other targets deliver as usual. -infinity: no window.'),
    ('ops.alert_overflow_after', 'integer', '10', '10',
     'When more alerts than this wait for one target at a send, they go out as one summary message instead (none dropped).'),
    ('ops.alert_flood_limit', 'integer', '5', '5',
     'Alerts of one event sent individually per repeat interval; the rest are held to its end and summarized (the policy may override per event).'),
    ('ops.alert_repeat_interval', 'interval', '10 minutes', '10 minutes',
     'The flood-control window per event (the policy may override per event).'),
    ('ops.alert_generic_interval', 'interval', '0 seconds', '0 seconds',
     'Least time between two sends to the generic webhook (one in flight at a time).'),
    ('ops.alert_slack_interval', 'interval', '1 second', '1 second',
     'Least time between two sends to one Slack webhook (Slack allows about one message a second).'),
    ('ops.alert_pagerduty_interval', 'interval', '500 milliseconds', '500 milliseconds',
     'Least time between two events to one PagerDuty routing key (at most 120 a minute).');

-- The outbox: vocabularies by domain, resolve alerts, routing.
ALTER TABLE ops.alert_outbox
    DROP CONSTRAINT alert_outbox_severity_check,
    ADD CONSTRAINT alert_outbox_severity_check CHECK (severity = severity::ops.alert_severity),
    DROP CONSTRAINT alert_outbox_state_check,
    ADD CONSTRAINT alert_outbox_state_check CHECK (state = state::ops.alert_state),
    ADD COLUMN action text NOT NULL DEFAULT 'trigger'
        CONSTRAINT alert_outbox_action_check CHECK (action = action::ops.alert_action),
    -- A resolve names the dedup key of the trigger it closes (the provider's incident key).
    ADD COLUMN resolves text CHECK (char_length(resolves) BETWEEN 1 AND 200),
    ADD COLUMN routed_at timestamptz,
    ADD CONSTRAINT alert_outbox_resolve_names_trigger CHECK ((action = 'resolve') = (resolves IS NOT NULL));
COMMENT ON COLUMN ops.alert_outbox.routed_at IS
    'When a dispatcher routed the alert to its targets (ops.alert_deliveries); NULL: waiting to be routed.';
DROP INDEX ops.alert_outbox_due_idx;
CREATE INDEX alert_outbox_unrouted_idx ON ops.alert_outbox (next_attempt_at)
    WHERE state = 'pending' AND routed_at IS NULL;
CREATE INDEX alert_outbox_trigger_idx ON ops.alert_outbox (event, alert_id) WHERE action = 'trigger';
CREATE INDEX alert_outbox_resolves_idx ON ops.alert_outbox (resolves) WHERE action = 'resolve';

-- A target is a name the dispatcher's configuration resolves (never a URL or key: those are
-- secrets): `generic`, `slack`, `slack:<channel>`, `pagerduty`, `pagerduty:<name>`. Its row holds
-- the rate limit: one send in flight (busy_with), the next no earlier than next_send_at.
CREATE TABLE ops.alert_targets (
    target          text PRIMARY KEY
                    CHECK (target ~ '^(generic|slack|pagerduty)(:[A-Za-z0-9#._-]{1,80})?$'),
    provider        text GENERATED ALWAYS AS (split_part(target, ':', 1)) STORED,
    next_send_at    timestamptz NOT NULL DEFAULT '-infinity',
    busy_with       bigint,
    busy_attempt    integer,
    delivered       bigint NOT NULL DEFAULT 0 CHECK (delivered >= 0),
    failed          bigint NOT NULL DEFAULT 0 CHECK (failed >= 0),
    dead            bigint NOT NULL DEFAULT 0 CHECK (dead >= 0),
    summaries       bigint NOT NULL DEFAULT 0 CHECK (summaries >= 0),
    CHECK ((busy_with IS NULL) = (busy_attempt IS NULL))
);
COMMENT ON TABLE ops.alert_targets IS
    'Alert targets by name: the send slot (one in flight, spaced by the provider''s interval) and delivery counters for /metrics.';

CREATE TABLE ops.alert_deliveries (
    delivery_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id         bigint REFERENCES ops.alert_outbox (alert_id),
    target           text NOT NULL REFERENCES ops.alert_targets (target),
    kind             text NOT NULL DEFAULT 'alert' CHECK (kind IN ('alert', 'summary')),
    action           text NOT NULL DEFAULT 'trigger' CHECK (action = action::ops.alert_action),
    -- The provider's dedup key: the alert's (a trigger) or the one it resolves; a summary's is
    -- derived from its id.
    dedup_key        text CHECK (char_length(dedup_key) BETWEEN 1 AND 200),
    state            text NOT NULL DEFAULT 'pending' CHECK (state = state::ops.alert_state),
    -- Why it was not sent at once: flood control (due at the end of the event's window) or a
    -- maintenance window (a page, held while the window lasts).
    hold_reason      text CHECK (hold_reason IN ('flood', 'maintenance')),
    -- Sent as part of this summary (a delivery of kind summary to the same target).
    summary_id       bigint REFERENCES ops.alert_deliveries (delivery_id),
    -- A delivery made because another one failed for good, and where a dead one fell back to.
    fallback_for     bigint REFERENCES ops.alert_deliveries (delivery_id),
    fallback_target  text,
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    failures         integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    created_at       timestamptz NOT NULL,
    next_attempt_at  timestamptz NOT NULL,
    claimed_until    timestamptz,
    last_error       text CHECK (char_length(last_error) <= 2000),
    delivered_at     timestamptz,
    dead_at          timestamptz,
    UNIQUE (alert_id, target),
    CONSTRAINT alert_deliveries_kind_fields CHECK (
        CASE kind
            WHEN 'alert' THEN alert_id IS NOT NULL AND dedup_key IS NOT NULL
            WHEN 'summary' THEN alert_id IS NULL AND dedup_key IS NULL AND summary_id IS NULL
                                AND action = 'trigger' AND fallback_for IS NULL
        END),
    CONSTRAINT alert_deliveries_state_fields CHECK (
        CASE state
            WHEN 'pending' THEN delivered_at IS NULL AND dead_at IS NULL
            WHEN 'delivered' THEN delivered_at IS NOT NULL AND dead_at IS NULL AND claimed_until IS NULL
            WHEN 'dead' THEN dead_at IS NOT NULL AND delivered_at IS NULL AND claimed_until IS NULL
        END)
);
COMMENT ON TABLE ops.alert_deliveries IS
    'One alert towards one target (or a summary of several towards one target): lease, attempts, backoff, dead letter.';
CREATE INDEX alert_deliveries_due_idx ON ops.alert_deliveries (target, next_attempt_at)
    WHERE state = 'pending' AND summary_id IS NULL;
CREATE INDEX alert_deliveries_trigger_idx ON ops.alert_deliveries (target, dedup_key)
    WHERE state = 'pending' AND action = 'trigger';
CREATE INDEX alert_deliveries_summary_idx ON ops.alert_deliveries (summary_id) WHERE summary_id IS NOT NULL;
CREATE INDEX alert_deliveries_fallback_idx ON ops.alert_deliveries (fallback_for) WHERE fallback_for IS NOT NULL;
CREATE INDEX alert_deliveries_pending_idx ON ops.alert_deliveries (target) WHERE state = 'pending';

-- Flood control: per event, the current window and how many alerts it routed.
CREATE TABLE ops.alert_floods (
    event         text PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    routed        integer NOT NULL CHECK (routed >= 0)
);
COMMENT ON TABLE ops.alert_floods IS
    'Flood control: per event, the start of its current repeat interval and how many alerts were routed in it.';

-- Signatures that change: claim_alerts returns the routing fields; deliveries replace the
-- per-alert ack and fail; raise_alert takes the key a resolve closes.
DROP FUNCTION IF EXISTS api.claim_alerts(integer, integer);
DROP FUNCTION IF EXISTS api.ack_alert(bigint);
DROP FUNCTION IF EXISTS api.fail_alert(bigint, text, timestamptz);
DROP FUNCTION IF EXISTS ops.raise_alert(text, text, text, jsonb, text);
