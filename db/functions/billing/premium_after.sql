CREATE OR REPLACE FUNCTION billing.premium_after(
    p_before  timestamptz,
    p_days    integer,
    p_at      timestamptz
)
RETURNS timestamptz
LANGUAGE sql STABLE
AS $$
    -- Days are 24-hour units so the result never depends on the session's time zone.
    SELECT CASE
        WHEN p_days > 0 THEN greatest(p_at, coalesce(p_before, p_at)) + p_days * interval '24 hours'
        WHEN p_days < 0 THEN p_before + p_days * interval '24 hours'
        ELSE p_before
    END
$$;
COMMENT ON FUNCTION billing.premium_after(timestamptz, integer, timestamptz) IS
    'premium_until after moving p_days at p_at: a grant extends from max(p_at, premium_until), a removal shortens premium_until. The ledger and the invariant check share it.';
