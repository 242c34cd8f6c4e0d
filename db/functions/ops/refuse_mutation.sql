CREATE OR REPLACE FUNCTION ops.refuse_mutation()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'SP409',
        CONSTRAINT = 'append_only',
        MESSAGE = format('%s.%s is append-only', TG_TABLE_SCHEMA, TG_TABLE_NAME),
        DETAIL  = format('%s refused', TG_OP),
        HINT    = 'Correct a row by appending a compensating row.';
END
$$;
COMMENT ON FUNCTION ops.refuse_mutation() IS
    'Trigger: keeps a table append-only.';
