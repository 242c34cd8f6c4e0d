CREATE OR REPLACE FUNCTION ops.save_idempotent(
    p_scope         text,
    p_key           text,
    p_request_hash  bytea,
    p_result        jsonb
)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    -- Under the lock ops.find_idempotent took: no concurrent binding of this key can exist, so a
    -- unique violation here is a caller's bug (no find first), and it should fail loudly.
    INSERT INTO ops.idempotency_keys (scope, idempotency_key, request_hash, result, created_at)
    VALUES (p_scope, p_key, p_request_hash, p_result, ops.now());
END
$$;
COMMENT ON FUNCTION ops.save_idempotent(text, text, bytea, jsonb) IS
    'Binds an idempotency key of a scope to its request hash and result row (call after ops.find_idempotent answered a new key, in the same transaction).';
