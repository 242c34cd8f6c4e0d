CREATE OR REPLACE FUNCTION ops.request_hash(p_arguments jsonb)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    -- jsonb's text form is canonical (one spelling per value, strings quoted and escaped), so an
    -- array of the arguments hashes the same exactly when the arguments are equal.
    SELECT pg_catalog.sha256(pg_catalog.convert_to(p_arguments::text, 'UTF8'))
$$;
COMMENT ON FUNCTION ops.request_hash(jsonb) IS
    'The request hash an idempotency key binds: sha256 of the binding arguments as a jsonb array (ops.find_idempotent, ops.save_idempotent).';
