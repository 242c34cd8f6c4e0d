CREATE OR REPLACE FUNCTION api.get_promo_campaign(p_promo_code_id bigint)
RETURNS TABLE (
    promo_code_id        bigint,
    campaign             text,
    kind                 text,
    grant_days           integer,
    discount_percent     integer,
    max_uses             integer,
    per_user_limit       integer,
    starts_at            timestamptz,
    ends_at              timestamptz,
    prefix               text,
    status               text,
    effective_status     text,
    paused_reason        text,
    created_at           timestamptz,
    created_by           text,
    used_total           bigint,
    applied              bigint,
    live_reservations    bigint,
    consumed             bigint,
    revoked              bigint,
    capacity_left        bigint,
    failed_attempts_24h  bigint
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    RETURN QUERY
    SELECT c.promo_code_id, c.campaign, c.kind, c.grant_days, c.discount_percent, c.max_uses,
           c.per_user_limit, c.starts_at, c.ends_at, c.prefix, c.status,
           -- Time and capacity decide before the rollover job writes EXPIRED or DEPLETED.
           CASE WHEN c.ends_at <= v_now THEN 'EXPIRED'
                WHEN c.status = 'ACTIVE' AND c.max_uses - s.used - r.live <= 0 THEN 'DEPLETED'
                ELSE c.status END,
           c.paused_reason, c.created_at, c.created_by,
           s.used, r.applied, r.live, r.consumed, r.revoked,
           c.max_uses - s.used - r.live,
           (SELECT count(*) FROM promo.promo_attempts AS a
            WHERE a.promo_code_id = c.promo_code_id AND a.counted
              AND a.created_at > v_now - interval '24 hours')
    FROM promo.promo_codes AS c
    CROSS JOIN LATERAL (SELECT coalesce(sum(cs.used), 0)::bigint AS used
                        FROM promo.capacity_slots AS cs
                        WHERE cs.promo_code_id = c.promo_code_id) AS s
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE x.status = 'APPLIED') AS applied,
               count(*) FILTER (WHERE x.status = 'RESERVED' AND x.reserved_until > v_now) AS live,
               count(*) FILTER (WHERE x.status = 'CONSUMED') AS consumed,
               count(*) FILTER (WHERE x.status = 'REVOKED') AS revoked
        FROM promo.promo_redemptions AS x WHERE x.promo_code_id = c.promo_code_id) AS r
    WHERE c.promo_code_id = p_promo_code_id
      AND NOT c.internal;  -- the code-less referral campaign is not an admin's: as if absent
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'campaign_not_found', MESSAGE = 'promo campaign not found',
            DETAIL = format('no campaign with id %s', p_promo_code_id);
    END IF;
END
$$;
COMMENT ON FUNCTION api.get_promo_campaign(bigint) IS
    'A campaign (never its code) with live figures: used_total, applied, live reservations, consumed, revoked, capacity left, failed attempts in 24 h.';
