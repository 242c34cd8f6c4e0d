CREATE OR REPLACE FUNCTION api.import_promo_codes(
    p_batch_id          uuid,
    p_kind              text,
    p_campaign          text,
    p_grant_days        integer DEFAULT NULL,
    p_discount_percent  integer DEFAULT NULL,
    p_max_uses          integer DEFAULT 1,
    p_per_user_limit    integer DEFAULT 1,
    p_starts_at         timestamptz DEFAULT NULL,
    p_ends_at           timestamptz DEFAULT NULL,
    p_prefix            text DEFAULT NULL,
    p_actor             text DEFAULT NULL,
    p_mode              text DEFAULT 'ALL_OR_NOTHING'
)
RETURNS TABLE (
    line           bigint,
    promo_code_id  bigint,
    status         text,
    reason         text,
    code           text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Sorts of a million hashes in memory rather than in temporary files; no JIT, whose
-- compilation of these statements cost more than it saved (docs/benchmarks.md).
SET work_mem = '64MB'
SET jit = off
AS $$
DECLARE
    v_now        timestamptz := ops.now();
    v_starts_at  timestamptz := coalesce(p_starts_at, v_now);
    v_actor      text := coalesce(p_actor, 'db:' || session_user);
    v_letters    text := upper(regexp_replace(p_campaign, '[^A-Za-z0-9]', '', 'g'));
    v_prefix     text;
    v_pepper     bytea := promo.pepper();
    v_pepper_id  bytea := promo.pepper_id(v_pepper);
    v_previous   bytea := promo.pepper(p_previous => true);
    v_lines      bigint;
    v_refused    bigint;
    v_inserted   bigint;
    v_ids        int8range;
    v_sequence   regclass := pg_catalog.pg_get_serial_sequence('promo.promo_codes', 'promo_code_id')::regclass;
    v_replica    boolean;
    v_grows      boolean;
BEGIN
    IF p_batch_id IS NULL OR current_setting('promo.import_batch', true) IS DISTINCT FROM p_batch_id::text
       OR to_regclass('pg_temp.promo_import') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'import_not_open', MESSAGE = 'no promo import is open',
            DETAIL = 'the lines are read from the staging table api.open_promo_import created in this transaction, under the batch id it returned',
            HINT = 'In one transaction: SELECT api.open_promo_import(); COPY pg_temp.promo_import (line, code) FROM STDIN; then this call with that id.';
    END IF;
    v_prefix := promo.check_campaign_terms(p_kind, p_campaign, p_grant_days, p_discount_percent,
        p_max_uses, p_per_user_limit, p_starts_at, p_ends_at, p_prefix, v_actor, v_now);
    PERFORM ops.check_value(p_mode, 'promo.import_mode', 'p_mode');
    IF v_previous IS NULL THEN
        PERFORM promo.check_rotation(v_pepper_id);
    END IF;
    PERFORM set_config('promo.import_batch', '', true);  -- one import per opening

    -- 1. Every line: normalized, checked without a lookup, hashed; then duplicates within the
    --    batch (the first line of a code counts) and among all campaigns (either pepper, ended
    --    ones included: that campaign's id), in hash order, so the probes walk the unique index
    --    from left to right. One statement over the staged lines, which go right after it.
    --    Input that is canonical once ASCII hyphens and spaces are gone (a generated code,
    --    printed or not) skips promo.normalize_code_or_null, whose answer for it is exactly that
    --    (NFKC leaves ASCII alone, hyphens and spaces go, nothing is left to uppercase): a
    --    million calls cost seconds.
    --    A line to insert draws its campaign id here, in hash order (the order it is inserted
    --    in, so the primary key is written from left to right too): the answer then needs no
    --    join back from the inserted rows. A batch that inserts nothing leaves those ids unused,
    --    as any rolled-back insert does.
    --    The canonical code stays beside its line until the answer, which hands it to the
    --    caller's report, as the staging table held it until here (both are dropped at the end
    --    of the transaction at the latest; nothing else keeps a code).
    CREATE TEMPORARY TABLE pg_temp.promo_import_result ON COMMIT DROP AS
    SELECT l.line, l.code_hash, l.code,
           CASE WHEN l.reason IS NOT NULL THEN 'INVALID'
                WHEN l.first_line < l.line OR l.existing_id IS NOT NULL THEN 'DUPLICATE' END AS status,
           coalesce(l.reason, CASE WHEN l.first_line < l.line THEN 'duplicate_in_file'
                                   WHEN l.existing_id IS NOT NULL THEN 'duplicate_code' END) AS reason,
           l.existing_id AS promo_code_id,
           CASE WHEN l.first_line = l.line THEN l.drawn_id END AS new_id,  -- the row to insert
           l.code_id  -- the campaign the code gets, for its later lines too
    FROM (SELECT d.*, min(d.line) OVER w AS first_line, min(d.drawn_id) OVER w AS code_id
          FROM (SELECT p.*,
                       CASE WHEN p.reason IS NULL AND p.existing_id IS NULL AND p_mode <> 'DRY_RUN'
                            THEN nextval(v_sequence) END AS drawn_id
                FROM (SELECT h.line, h.reason, h.code, h.code_hash, e.promo_code_id AS existing_id
                      FROM (SELECT * FROM (SELECT k.line, k.reason, k.code,
                                   CASE WHEN k.reason IS NULL THEN promo.hmac(k.code, v_pepper) END AS code_hash,
                                   CASE WHEN k.reason IS NULL THEN promo.hmac(k.code, v_previous) END AS code_hash_prev
                            FROM (SELECT n.line, n.code,
                                         coalesce(n.problem,
                                                  CASE WHEN n.code IS NULL THEN 'invalid_code' END,
                                                  promo.code_refusal(n.code, v_prefix, v_letters),
                                                  CASE WHEN promo.is_batch_window(n.w) AND promo.check_sum(n.w) <> 0
                                                       THEN 'check_character' END) AS reason
                                  FROM (SELECT c.line, c.problem, c.code, promo.check_window(c.code) AS w
                                        FROM (SELECT b.line, b.problem,
                                                     CASE WHEN b.bare !~ '[^A-Z0-9]' AND char_length(b.bare) BETWEEN 1 AND 64
                                                          AND char_length(b.raw) <= 256
                                                          THEN b.bare ELSE promo.normalize_code_or_null(b.raw) END AS code
                                              FROM (SELECT s.line, s.problem, s.code AS raw, translate(s.code, '- ', '') AS bare
                                                    FROM pg_temp.promo_import AS s
                                                    OFFSET 0) AS b
                                              OFFSET 0) AS c
                                        -- Each layer's columns stay columns: a column of a flattened
                                        -- subquery is its expression again wherever it is used (the
                                        -- translate() above once ran ten times per line).
                                        OFFSET 0) AS n
                                  OFFSET 0) AS k  -- each reason computed once
                            OFFSET 0  -- each hash computed once
                           ) AS h0
                            ORDER BY h0.code_hash  -- the probes walk the unique index left to right
                            OFFSET 0) AS h
                      LEFT JOIN LATERAL (SELECT c.promo_code_id FROM promo.promo_codes AS c
                                         WHERE c.code_hash IN (h.code_hash, h.code_hash_prev) LIMIT 1) AS e
                             ON h.reason IS NULL) AS p
                OFFSET 0) AS d  -- the ids drawn in hash order
          WINDOW w AS (PARTITION BY d.code_hash)) AS l;
    GET DIAGNOSTICS v_lines = ROW_COUNT;
    DROP TABLE pg_temp.promo_import;
    SELECT count(*) FILTER (WHERE r.status IS NOT NULL), int8range(min(r.new_id), max(r.new_id), '[]')
    INTO v_refused, v_ids
    FROM pg_temp.promo_import_result AS r;
    RAISE NOTICE 'promo import: % lines checked, % refused', v_lines, v_refused;

    -- 2. Only a report: a dry run, or a batch that must go in whole but has refused lines.
    IF p_mode = 'DRY_RUN' OR (p_mode = 'ALL_OR_NOTHING' AND v_refused > 0) THEN
        RETURN QUERY
        SELECT r.line, r.promo_code_id, coalesce(r.status, 'VALID'),
               coalesce(r.reason, CASE p_mode WHEN 'DRY_RUN' THEN 'dry_run' ELSE 'batch_refused' END),
               r.code
        FROM pg_temp.promo_import_result AS r ORDER BY r.line;
        DROP TABLE pg_temp.promo_import_result;
        RETURN;
    END IF;

    -- 3. The campaigns with their capacity slots, inserted in hash order (the order step 1
    --    wrote them in), so the unique index is written from left to right.
    BEGIN
        INSERT INTO promo.promo_codes AS c (promo_code_id, campaign, code_hash, pepper_id, kind,
                                            grant_days, discount_percent, max_uses,
                                            per_user_limit, starts_at, ends_at, prefix,
                                            created_at, created_by, updated_at)
        OVERRIDING SYSTEM VALUE
        SELECT r.new_id, btrim(p_campaign), r.code_hash, v_pepper_id, p_kind, p_grant_days,
               p_discount_percent, p_max_uses, p_per_user_limit, v_starts_at, p_ends_at,
               v_prefix, v_now, v_actor, v_now
        FROM pg_temp.promo_import_result AS r
        WHERE r.new_id IS NOT NULL;
        GET DIAGNOSTICS v_inserted = ROW_COUNT;
    EXCEPTION WHEN unique_violation THEN  -- a code of the batch created meanwhile
        RAISE EXCEPTION USING ERRCODE = 'SPDUP', CONSTRAINT = 'duplicate_code', MESSAGE = 'promo code already exists',
            DETAIL = 'a code of the batch was created by another transaction during the import; nothing was imported',
            HINT = 'Run the import again: that line is then reported DUPLICATE.';
    END;
    -- The capacity slots reference the campaigns inserted just above under the same ids, so
    -- their foreign-key check cannot fail; PostgreSQL 15 still runs it as one locking SELECT
    -- per row (a third of a million-code import). Where the owner may set
    -- session_replication_role (db/bootstrap.sql grants it on a superuser's server), the
    -- INSERT skips it: replica mode skips triggers and rules only, and the foreign key's are
    -- the only ones promo.capacity_slots has (db/tests/promo/10-batch.sql holds that). Elsewhere
    -- the check runs, planned from fresh statistics: with the table taken for one row it chose
    -- promo_codes_status_idx over the primary key and read the whole index for every slot.
    v_replica := pg_catalog.has_parameter_privilege('session_replication_role', 'SET')
                 AND current_setting('session_replication_role') = 'origin';
    -- A batch that grows the campaigns by more than a tenth (autovacuum's own threshold for
    -- an ANALYZE) leaves the next queries planned from the statistics of a far smaller table
    -- until autovacuum catches up: api.check_invariants right after a 200,000-code import ran
    -- past its 60 s on a busy CI machine (2 s once analyzed).
    v_grows := v_inserted > (SELECT greatest(c.reltuples, 0) FROM pg_catalog.pg_class AS c
                             WHERE c.oid = 'promo.promo_codes'::regclass) / 10;
    IF v_replica THEN
        PERFORM set_config('session_replication_role', 'replica', true);
    ELSIF v_grows THEN
        ANALYZE promo.promo_codes;
    END IF;
    -- The slot shapes once: inlined, promo.slot_capacities would read the capacity_slots
    -- setting for every row of the join (6 s a million).
    INSERT INTO promo.capacity_slots (promo_code_id, slot_no, capacity)
    WITH shape AS MATERIALIZED (SELECT * FROM promo.slot_capacities(p_max_uses))
    SELECT r.new_id, s.slot_no, s.capacity
    FROM pg_temp.promo_import_result AS r CROSS JOIN shape AS s
    WHERE r.new_id IS NOT NULL;
    IF v_replica THEN
        PERFORM set_config('session_replication_role', 'origin', true);
    END IF;
    IF v_grows THEN
        ANALYZE promo.capacity_slots;
        IF v_replica THEN
            ANALYZE promo.promo_codes;
        END IF;
    END IF;
    RAISE NOTICE 'promo import: % codes inserted', v_inserted;

    -- One audit row for the batch, never one per code (and never a code).
    IF v_inserted > 0 THEN
        PERFORM ops.write_audit(v_actor, 'promo.codes_imported', 'promo_batch', p_batch_id::text, NULL,
            jsonb_build_object('campaign', btrim(p_campaign), 'kind', p_kind, 'grant_days', p_grant_days,
                               'discount_percent', p_discount_percent, 'max_uses', p_max_uses,
                               'per_user_limit', p_per_user_limit, 'starts_at', v_starts_at,
                               'ends_at', p_ends_at, 'prefix', v_prefix, 'mode', p_mode,
                               'lines', v_lines, 'inserted', v_inserted, 'refused', v_refused,
                               'first_promo_code_id', lower(v_ids), 'last_promo_code_id', upper(v_ids) - 1));
    END IF;

    RETURN QUERY
    SELECT r.line, coalesce(r.promo_code_id, r.code_id), coalesce(r.status, 'INSERTED'), r.reason, r.code
    FROM pg_temp.promo_import_result AS r
    ORDER BY r.line;
    DROP TABLE pg_temp.promo_import_result;
END
$$;
COMMENT ON FUNCTION api.import_promo_codes(uuid, text, text, integer, integer, integer, integer, timestamptz, timestamptz, text, text, text) IS
    'Imports the codes api.open_promo_import staged, one campaign each with the given terms: normalizes, checks (check character included) and hashes every line, finds duplicates in the batch and among all campaigns, then inserts set-based (ALL_OR_NOTHING: only if no line is refused; PARTIAL: the valid lines; DRY_RUN: nothing); one row per line (INSERTED, VALID, DUPLICATE, INVALID with a reason, the promo_code_id, and the canonical code for the caller''s report), one audit row per batch.';
