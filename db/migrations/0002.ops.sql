-- depends: 0001.schemas
-- Operational plumbing every context uses: the injectable clock, typed settings, the audit log.

-- The clock. ops.now() reads it; tests pin or shift it. A table, not a session setting, so
-- that the app role cannot move time: only the owner (or a superuser) may write it.
CREATE TABLE ops.clock (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    frozen_at  timestamptz,
    shift      interval NOT NULL DEFAULT interval '0'
);
COMMENT ON TABLE ops.clock IS
    'Test clock: ops.now() = coalesce(frozen_at, now()) + shift. Leave NULL/0 in production.';
INSERT INTO ops.clock DEFAULT VALUES;

-- Refuses UPDATE, DELETE and TRUNCATE on append-only tables.
CREATE FUNCTION ops.refuse_mutation() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'SP409',
        MESSAGE = format('%s.%s is append-only', TG_TABLE_SCHEMA, TG_TABLE_NAME),
        DETAIL  = format('%s refused', TG_OP),
        HINT    = 'Correct a row by appending a compensating row.';
END
$$;
COMMENT ON FUNCTION ops.refuse_mutation() IS 'Trigger: keeps a table append-only.';

CREATE FUNCTION ops.is_valid_setting_value(p_value_type text, p_value text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    CASE p_value_type
        WHEN 'integer'  THEN PERFORM p_value::integer;
        WHEN 'interval' THEN PERFORM p_value::interval;
        WHEN 'boolean'  THEN PERFORM p_value::boolean;
        WHEN 'text'     THEN NULL;
        ELSE RETURN false;
    END CASE;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;
COMMENT ON FUNCTION ops.is_valid_setting_value(text, text) IS
    'Whether a setting value parses as its declared type (used by CHECK constraints).';

CREATE TABLE ops.settings (
    key            text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    value_type     text NOT NULL CHECK (value_type IN ('integer', 'interval', 'boolean', 'text')),
    value          text NOT NULL,
    default_value  text NOT NULL,
    description    text NOT NULL CHECK (char_length(description) BETWEEN 10 AND 500),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     text NOT NULL DEFAULT 'migration',
    CONSTRAINT settings_value_has_type CHECK (ops.is_valid_setting_value(value_type, value)),
    CONSTRAINT settings_default_has_type CHECK (ops.is_valid_setting_value(value_type, default_value))
);
COMMENT ON TABLE ops.settings IS 'Every tunable, typed, with its documented default.';

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('promo.reservation_ttl', 'interval', '15 minutes', '15 minutes',
     'How long a PERCENT_DISCOUNT reservation holds one unit of campaign capacity.'),
    ('billing.precheckout_grace', 'interval', '5 minutes', '5 minutes',
     'Extra hold a reservation gets at pre-checkout so expiry cannot release it before payment.');

CREATE TABLE ops.audit_log (
    audit_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL,
    actor        text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 128),
    action       text NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    target_type  text NOT NULL CHECK (target_type ~ '^[a-z][a-z_]*$'),
    target_id    text CHECK (char_length(target_id) <= 128),
    reason       text CHECK (char_length(reason) <= 1000),
    details      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(details) = 'object')
);
COMMENT ON TABLE ops.audit_log IS 'Who did what to which object, when and why. Append-only.';
CREATE INDEX audit_log_target_idx ON ops.audit_log (target_type, target_id, occurred_at);
CREATE INDEX audit_log_occurred_at_idx ON ops.audit_log (occurred_at);

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON ops.audit_log
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON ops.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_mutation();
