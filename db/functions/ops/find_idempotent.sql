CREATE OR REPLACE FUNCTION ops.find_idempotent(
    p_scope             text,
    p_key               text,
    p_request_hash      bytea,
    p_request_hash_alt  bytea DEFAULT NULL
)
RETURNS ops.idempotent_prior
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_prior  ops.idempotent_prior;
    v_hash   bytea;
BEGIN
    -- On the redemption hot path: plain IFs (a PERFORM of a check that passes costs a query),
    -- one lock, one SELECT.
    IF ops.is_idempotency_key(p_key) IS NOT TRUE THEN
        PERFORM ops.check_idempotency_key(p_key);
    END IF;
    -- Taken first, before any row: requests with one key queue here, and each sees what the
    -- one before it committed (READ COMMITTED: a fresh snapshot for the SELECT below).
    PERFORM pg_catalog.pg_advisory_xact_lock(ops.lock_class('ops.idempotency_key'),
                                             pg_catalog.hashtext(p_scope || ':' || p_key));
    SELECT k.request_hash, k.result INTO v_hash, v_prior.result
    FROM ops.idempotency_keys AS k
    WHERE k.scope = p_scope AND k.idempotency_key = p_key;
    -- The alternative hash: the same request under a previous secret (a pepper rotation).
    v_prior.conflict := FOUND AND v_hash IS DISTINCT FROM p_request_hash
                        AND v_hash IS DISTINCT FROM p_request_hash_alt;
    IF v_prior.conflict THEN
        v_prior.result := NULL;
    END IF;
    RETURN v_prior;
END
$$;
COMMENT ON FUNCTION ops.find_idempotent(text, text, bytea, bytea) IS
    'Locks an idempotency key of a scope (SP422 for a malformed key) and answers (false, NULL) for a new key, (false, stored result) when it was bound to this request hash (or the alternative), (true, NULL) when bound to another request.';
