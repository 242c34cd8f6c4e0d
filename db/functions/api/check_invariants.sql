CREATE OR REPLACE FUNCTION api.check_invariants()
RETURNS TABLE (
    invariant  text,
    subject    text,
    detail     text
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH chain AS (
        SELECT l.*, lag(l.premium_until_after) OVER (PARTITION BY l.user_id ORDER BY l.ledger_id)
                        AS previous_after,
                    row_number() OVER (PARTITION BY l.user_id ORDER BY l.ledger_id DESC) AS from_end
        FROM billing.ledger AS l
    )
    -- Each entry starts where the user's previous one ended.
    SELECT 'ledger_chain', 'user ' || c.user_id,
           format('ledger %s starts at %s, the previous entry ended at %s',
                  c.ledger_id, c.premium_until_before, c.previous_after)
    FROM chain AS c
    WHERE c.premium_until_before IS DISTINCT FROM c.previous_after
    UNION ALL
    -- Each entry's result is its own arithmetic.
    SELECT 'ledger_arithmetic', 'user ' || c.user_id,
           format('ledger %s: %s %s days at %s gives %s, not %s', c.ledger_id,
                  c.premium_until_before, c.premium_days_delta, c.created_at,
                  billing.premium_after(c.premium_until_before, c.premium_days_delta, c.created_at),
                  c.premium_until_after)
    FROM chain AS c
    WHERE c.premium_until_after IS DISTINCT FROM
          billing.premium_after(c.premium_until_before, c.premium_days_delta, c.created_at)
    UNION ALL
    -- Each entry respects the signs its kind allows.
    SELECT 'ledger_kind_sign', 'user ' || c.user_id,
           format('ledger %s: %s with %s Stars and %s days', c.ledger_id, c.kind,
                  c.stars_delta, c.premium_days_delta)
    FROM chain AS c
    JOIN billing.ledger_kinds AS k USING (kind)
    WHERE sign(c.stars_delta) NOT IN (0, coalesce(k.stars_sign, sign(c.stars_delta)))
       OR sign(c.premium_days_delta) NOT IN (0, coalesce(k.days_sign, sign(c.premium_days_delta)))
    UNION ALL
    -- premium_until is where the user's last ledger entry left it (and nothing without one).
    SELECT 'premium_until_matches_ledger', 'user ' || coalesce(e.user_id, c.user_id),
           format('entitlement says %s, ledger says %s',
                  CASE WHEN e.user_id IS NULL THEN 'no row' ELSE coalesce(e.premium_until::text, 'never') END,
                  CASE WHEN c.user_id IS NULL THEN 'no entries' ELSE coalesce(c.premium_until_after::text, 'never') END)
    FROM billing.entitlements AS e
    FULL JOIN (SELECT * FROM chain WHERE from_end = 1) AS c ON c.user_id = e.user_id
    WHERE e.user_id IS NULL OR c.user_id IS NULL
       OR e.premium_until IS DISTINCT FROM c.premium_until_after
$$;
COMMENT ON FUNCTION api.check_invariants() IS
    'One row per violated invariant (empty when all hold). Tests call it after every scenario; operators after repairs.';
