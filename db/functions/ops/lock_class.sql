CREATE OR REPLACE FUNCTION ops.lock_class(p_name text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    -- The advisory lock classes, in the one lock order (docs/architecture.md, "Lock order").
    -- The key is derived from the namespaced name, so no magic number stands in a function; an
    -- inlined call with a constant name folds to that number when the statement is planned.
    SELECT CASE p_name
        WHEN 'ops.idempotency_key'    THEN pg_catalog.hashtext('starpass:ops.idempotency_key')
        WHEN 'referral.registration'  THEN pg_catalog.hashtext('starpass:referral.registration')
        ELSE ops.unknown_lock_class(p_name)
    END
$$;
COMMENT ON FUNCTION ops.lock_class(text) IS
    'The first key of the two-key advisory locks of a named class (ops.idempotency_key, referral.registration); users are locked in the one-bigint key space by id (promo.lock_user).';
