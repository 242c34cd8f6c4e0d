CREATE OR REPLACE FUNCTION ops.idempotent_answer(
    p_row    anyelement,
    p_prior  ops.idempotent_prior
)
RETURNS anyelement
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- p_row is a NULL of the function's result type (NULL::api.<fn>_result): the stored row is
    -- read back through that type's own column list, never one typed again.
    IF p_prior.conflict THEN
        RETURN jsonb_populate_record(p_row, '{"outcome": "IDEMPOTENCY_CONFLICT", "replayed": false}');
    ELSIF p_prior.result IS NOT NULL THEN
        RETURN jsonb_populate_record(p_row, p_prior.result || '{"replayed": true}');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ops.idempotent_answer(anyelement, ops.idempotent_prior) IS
    'The answer ops.find_idempotent''s verdict calls for, as a row of the given result type: IDEMPOTENCY_CONFLICT (other columns NULL, replayed false), the stored row whole with replayed true, or NULL for a new key (decide and record it).';
