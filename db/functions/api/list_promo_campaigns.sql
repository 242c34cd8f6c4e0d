CREATE OR REPLACE FUNCTION api.list_promo_campaigns(
    p_status          text[] DEFAULT NULL,
    p_kind            text DEFAULT NULL,
    p_q               text DEFAULT NULL,
    p_limit           integer DEFAULT 50,
    p_before_id       bigint DEFAULT NULL
)
RETURNS TABLE (
    promo_code_id     bigint,
    campaign          text,
    kind              text,
    grant_days        integer,
    discount_percent  integer,
    max_uses          integer,
    per_user_limit    integer,
    starts_at         timestamptz,
    ends_at           timestamptz,
    prefix            text,
    status            text,
    paused_reason     text,
    created_at        timestamptz,
    created_by        text
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 200, 'p_limit', 'a page is 1 to 200 campaigns', NULL);
    IF p_status IS NOT NULL THEN
        PERFORM ops.check_value(p_status, 'promo.campaign_status', 'p_status');
    END IF;
    IF p_kind IS NOT NULL THEN
        PERFORM ops.check_value(p_kind, 'promo.campaign_kind', 'p_kind');
    END IF;
    PERFORM ops.check_argument(p_q IS NULL OR char_length(p_q) BETWEEN 1 AND 100, 'p_q',
        'a search is 1 to 100 characters', NULL);
    -- Newest first, keyset-paged by id: rows created while a client pages appear before its
    -- cursor, so no page repeats or skips a campaign.
    RETURN QUERY
    SELECT c.promo_code_id, c.campaign, c.kind, c.grant_days, c.discount_percent, c.max_uses,
           c.per_user_limit, c.starts_at, c.ends_at, c.prefix, c.status, c.paused_reason,
           c.created_at, c.created_by
    FROM promo.promo_codes AS c
    WHERE (p_status IS NULL OR c.status = ANY (p_status))
      AND (p_kind IS NULL OR c.kind = p_kind)
      AND (p_q IS NULL OR c.campaign ILIKE '%' || replace(replace(p_q, '%', '\%'), '_', '\_') || '%'
           OR c.prefix = upper(p_q))
      AND (p_before_id IS NULL OR c.promo_code_id < p_before_id)
      AND NOT c.internal  -- the code-less referral campaign is not an admin's
    ORDER BY c.promo_code_id DESC
    LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_promo_campaigns(text[], text, text, integer, bigint) IS
    'Campaigns newest first, filtered by status (any of), kind and a search on name or prefix; keyset pages of up to 200 before p_before_id.';
