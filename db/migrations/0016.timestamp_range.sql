-- depends: 0012.rollback_reason
-- Timestamps a caller supplies lie in one supported range (issue 14, item 1): from
-- 2000-01-01 00:00 UTC (inclusive) to 9000-01-01 00:00 UTC (exclusive). Outside it, a value
-- such as 9999-12-31T23:00:00-12:00 is year 10000 in UTC, and 0001-01-01T00:00:00+14:00 is
-- 1 BC; PostgreSQL stores both (and 'infinity') but clients such as Python's datetime cannot
-- hold them. The range is stated once, here: ops.check_timestamp (the SP422 refusal in every
-- api function that takes a timestamp) and the CHECK constraints below read it.

CREATE FUNCTION ops.timestamp_range() RETURNS tstzrange
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN tstzrange('2000-01-01 00:00:00+00'::timestamptz, '9000-01-01 00:00:00+00'::timestamptz, '[)');
COMMENT ON FUNCTION ops.timestamp_range() IS
    'The supported range of caller-supplied timestamps: [2000-01-01, 9000-01-01) UTC (used by CHECK constraints and ops.check_timestamp).';

-- Campaigns stored before this range existed: a start before it has already begun, an end at
-- or after it (or infinity) never comes, so the clamped values behave exactly as before.
DO $$
DECLARE
    v_ids  text;
BEGIN
    WITH clamped AS (
        UPDATE promo.promo_codes AS c
        SET starts_at = greatest(c.starts_at, lower(ops.timestamp_range())),
            ends_at = CASE WHEN c.ends_at >= upper(ops.timestamp_range()) THEN NULL ELSE c.ends_at END
        WHERE c.starts_at < lower(ops.timestamp_range()) OR c.ends_at >= upper(ops.timestamp_range())
        RETURNING c.promo_code_id
    )
    SELECT string_agg(promo_code_id::text, ', ' ORDER BY promo_code_id) INTO v_ids FROM clamped;
    IF v_ids IS NOT NULL THEN
        RAISE WARNING 'campaigns % had a start before 2000 (now 2000-01-01 UTC) or an end after 9000 (now none)', v_ids;
    END IF;
END
$$;

ALTER TABLE promo.promo_codes
    ADD CONSTRAINT promo_codes_starts_at_range CHECK (ops.timestamp_range() @> starts_at),
    ADD CONSTRAINT promo_codes_ends_at_range CHECK (ends_at IS NULL OR ops.timestamp_range() @> ends_at);
