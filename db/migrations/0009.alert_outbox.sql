-- depends: 0008.purchases_referrals
-- The alert outbox grows delivery state: leases for claims, retries, dead letters; a NOTIFY
-- wakes dispatchers.

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('ops.alert_dedup_window', 'interval', '10 minutes', '10 minutes',
     'An alert with the same dedup key raised within this window (or still pending) is not raised again.');

ALTER TABLE ops.alert_outbox
    ADD COLUMN attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN next_attempt_at  timestamptz,
    ADD COLUMN claimed_until    timestamptz,
    ADD COLUMN last_error       text CHECK (char_length(last_error) <= 2000),
    ADD COLUMN delivered_at     timestamptz,
    ADD COLUMN dead_at          timestamptz;
UPDATE ops.alert_outbox SET next_attempt_at = created_at;
ALTER TABLE ops.alert_outbox
    ALTER COLUMN next_attempt_at SET NOT NULL,
    ADD CONSTRAINT alert_outbox_state_fields CHECK (
        CASE state
            WHEN 'pending' THEN delivered_at IS NULL AND dead_at IS NULL
            WHEN 'delivered' THEN delivered_at IS NOT NULL AND dead_at IS NULL AND claimed_until IS NULL
            WHEN 'dead' THEN dead_at IS NOT NULL AND delivered_at IS NULL AND claimed_until IS NULL
        END);
CREATE INDEX alert_outbox_due_idx ON ops.alert_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX alert_outbox_dedup_idx ON ops.alert_outbox (dedup_key, created_at);

CREATE FUNCTION ops.notify_alert() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('ops_alerts', NEW.alert_id::text);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ops.notify_alert() IS 'Trigger: wakes dispatchers listening on channel ops_alerts (sent at commit).';
CREATE TRIGGER alert_outbox_notify AFTER INSERT ON ops.alert_outbox
    FOR EACH ROW EXECUTE FUNCTION ops.notify_alert();
