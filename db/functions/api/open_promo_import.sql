CREATE OR REPLACE FUNCTION api.open_promo_import()
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_batch_id  uuid := gen_random_uuid();
BEGIN
    IF to_regclass('pg_temp.promo_import') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'import_already_open',
            MESSAGE = 'a promo import is already open in this transaction',
            HINT = 'Finish it with api.import_promo_codes, or roll the transaction back.';
    END IF;
    -- The staging table: temporary (this session only, never WAL-logged), owned by the owner,
    -- dropped at the end of the transaction at the latest (api.import_promo_codes drops it as
    -- soon as it has read it). The caller may only insert into it (COPY): its raw codes cannot
    -- be read back, and the login roles get no table privilege that outlives the transaction.
    CREATE TEMPORARY TABLE pg_temp.promo_import (
        line     bigint PRIMARY KEY CHECK (line >= 1),
        code     text,
        problem  text CHECK (problem IN ('not_utf8', 'malformed_csv', 'wrong_field_count', 'line_too_long'))
    ) ON COMMIT DROP;
    EXECUTE format('GRANT INSERT ON pg_temp.promo_import TO %I', session_user);
    PERFORM set_config('promo.import_batch', v_batch_id::text, true);
    RETURN v_batch_id;
END
$$;
COMMENT ON FUNCTION api.open_promo_import() IS
    'Opens a promo code import in the caller''s transaction: creates the temporary staging table pg_temp.promo_import (line, code, problem) that the caller fills with COPY, and returns the batch id for api.import_promo_codes.';
