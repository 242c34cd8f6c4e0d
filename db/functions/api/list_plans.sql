CREATE OR REPLACE FUNCTION api.list_plans(p_include_inactive boolean DEFAULT false)
RETURNS TABLE (
    plan_code     text,
    title         text,
    description   text,
    premium_days  integer,
    price_stars   integer,
    currency      text,
    is_active     boolean
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.plan_code, p.title, p.description, p.premium_days, p.price_stars, p.currency, p.is_active
    FROM billing.plans AS p
    WHERE p.is_active OR p_include_inactive
    ORDER BY p.sort_order, p.plan_code
$$;
COMMENT ON FUNCTION api.list_plans(boolean) IS
    'The plans on sale (all plans with p_include_inactive), in display order, with German titles for the invoice.';
