-- Batch codes: the check character (pattern, sum, what it detects), its refusal in creation and
-- redemption (INVALID_CODE before the lookup, not counted), and the batch import
-- (api.open_promo_import, api.import_promo_codes): every status and reason, the three modes,
-- duplicates in the batch, among campaigns and across a pepper rotation, slots, the one audit
-- row, and every refusal.
BEGIN;
SELECT plan(61);
SET LOCAL client_min_messages = warning;  -- the import's progress NOTICEs

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-06-01 00:00:00+00';

-- Codes with their check character, made by the SQL side (tests/test_batch_codes.py holds the
-- Python side equal to it).
CREATE FUNCTION pg_temp.batch(p_text text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT p_text || promo.check_character(p_text) $$;

-- ---- the check character ------------------------------------------------------------------

SELECT is(promo.check_character('SUMMERKQM7RTX4PZA9HNK'), 'R', 'the check character of a known code');
SELECT ok(NOT promo.has_wrong_check_character(pg_temp.batch('SUMMERKQM7RTX4PZA9HNK')),
          'a generated code passes');
SELECT ok(promo.has_wrong_check_character('SUMMERKQM7RTX4PZA9HNKS'), 'another last character fails');
SELECT ok(NOT promo.has_wrong_check_character('SUMMER2026') AND NOT promo.has_wrong_check_character('KQM7RTX4PZA9HNK')
          AND NOT promo.has_wrong_check_character('SOMMER-BATCH-XMAS-2030'),
          'codes without the batch pattern have no check character (shorter, other shapes)');
SELECT ok(NOT promo.has_wrong_check_character('SUMMERKQM7RTX4PZA9HNKO')
          AND NOT promo.has_wrong_check_character('SUMMERKQMZRTX4PZA9HNKS')
          AND NOT promo.has_wrong_check_character('SUMMERKQM7RTX4PZA9HIKS'),
          'a letter where the digit goes, or I, L, O, 0, 1, breaks the pattern: then it is no batch code');
SELECT is(promo.check_window('SUMMERKQM7RTX4PZA9HNKR'), convert_to('KQM7RTX4PZA9HNKR', 'UTF8'),
          'the window is the last 16 characters');
SELECT results_eq(
    $$ SELECT b, get_byte(promo.batch_values(), b) FROM generate_series(0, 255) AS b ORDER BY b $$,
    $$ SELECT b, CASE WHEN b > 0 THEN coalesce(92 + nullif(strpos(promo.batch_alphabet(), chr(b)), 0), 0) ELSE 0 END
       FROM generate_series(0, 255) AS b ORDER BY b $$,
    'promo.batch_values(): 93 + the place in the alphabet for its 31 characters, 0 for every other byte');

-- Every single substitution within the pattern (a letter for another letter, a digit for
-- another digit, any other check character) is detected.
CREATE TEMP TABLE variants AS
WITH code AS (SELECT pg_temp.batch('SUMMERKQM7RTX4PZA9HNK') AS c),
positions AS (SELECT p, CASE WHEN p = 16 THEN promo.batch_alphabet()
                             WHEN p % 4 = 0 THEN '23456789'
                             ELSE 'ABCDEFGHJKMNPQRSTUVWXYZ' END AS allowed
              FROM generate_series(1, 16) AS p)
SELECT 'substitution' AS kind, overlay(code.c PLACING a FROM 6 + p FOR 1) AS variant
FROM code, positions, regexp_split_to_table(positions.allowed, '') AS a
WHERE a <> substr(code.c, 6 + p, 1)
UNION ALL
-- Every swap of two different characters of the same kind (adjacent or not).
SELECT 'transposition', overlay(overlay(code.c PLACING substr(code.c, 6 + j, 1) FROM 6 + i FOR 1)
                                PLACING substr(code.c, 6 + i, 1) FROM 6 + j FOR 1)
FROM code, generate_series(1, 16) AS i, generate_series(1, 16) AS j
WHERE i < j AND substr(code.c, 6 + i, 1) <> substr(code.c, 6 + j, 1)
  AND (i % 4 = 0) = (j % 4 = 0) AND j < 16;
SELECT results_eq(
    $$ SELECT kind, count(*), count(*) FILTER (WHERE promo.has_wrong_check_character(variant))
       FROM variants GROUP BY kind ORDER BY kind $$,
    $$ VALUES ('substitution', 315::bigint, 315::bigint), ('transposition', 68::bigint, 68::bigint) $$,
    'each of the 315 single substitutions and 68 swaps of a batch code fails its check');

-- ---- creation and redemption --------------------------------------------------------------

SELECT throws_ok(
    $$ SELECT api.create_promo_code('SUMMER-KQM7-RTX4-PZA9-HNKS', 'PREMIUM_GRANT', 'Typo', p_grant_days => 7) $$,
    'SP422', 'invalid argument p_code', 'creation refuses a code of the batch pattern with a wrong check character');
CREATE TEMP TABLE made AS
SELECT api.create_promo_code(pg_temp.batch('SUMMERKQM7RTX4PZA9HNK'), 'PREMIUM_GRANT', 'Right one',
                             p_grant_days => 7, p_max_uses => 5) AS id;
SELECT ok((SELECT id FROM made) > 0, 'with its check character it is created');

-- A typo of a batch code: INVALID_CODE, never looked up, not counted; five do not block.
CREATE TEMP TABLE typo AS
SELECT r.* FROM generate_series(1, 6) AS i
CROSS JOIN LATERAL api.redeem_promo_code(9101, 'summer-kqm7-rtx4-pza9-hnks', 'typo-key-' || i) AS r;
SELECT results_eq($$ SELECT DISTINCT outcome, blocked_until FROM typo $$,
                  $$ VALUES ('INVALID_CODE', NULL::timestamptz) $$,
                  'six typos of a batch code: INVALID_CODE each time, never THROTTLED');
SELECT results_eq(
    $$ SELECT count(*), count(*) FILTER (WHERE counted), count(promo_code_id)
       FROM promo.promo_attempts WHERE user_id = 9101 $$,
    $$ VALUES (6::bigint, 0::bigint, 0::bigint) $$,
    'each typo is logged, uncounted, attributed to no campaign');
SELECT is((SELECT outcome FROM api.redeem_promo_code(9101, pg_temp.batch('SUMMERKQM7RTX4PZA9HNK'), 'typo-key-7')),
          'APPLIED', 'the right code then applies');
SELECT is((SELECT outcome FROM api.redeem_promo_code(9102, 'SUMMER2031XYZ', 'typo-key-8')), 'NOT_FOUND',
          'a code without the pattern is looked up');
SELECT is((SELECT counted FROM promo.promo_attempts WHERE idempotency_key = 'typo-key-8'), true,
          'and its refusal counted');
SELECT results_eq(
    $$ SELECT outcome FROM api.redeem_promo_code(9102, 'SUMMER KQM7 RTX4 PZA9 HNKS ' || chr(1), 'typo-key-9') $$,
    $$ VALUES ('INVALID_CODE') $$, 'input that is no code at all is INVALID_CODE as before');
SELECT is((SELECT counted FROM promo.promo_attempts WHERE idempotency_key = 'typo-key-9'), true,
          'and counted as before');

-- ---- the import ---------------------------------------------------------------------------

-- Opens an import, stages the lines, imports them with the given terms and mode.
CREATE FUNCTION pg_temp.import(p_lines text[], p_mode text DEFAULT 'ALL_OR_NOTHING',
                               p_prefix text DEFAULT 'JUNE', p_max_uses integer DEFAULT 1,
                               p_problems text[] DEFAULT NULL)
RETURNS TABLE (line bigint, promo_code_id bigint, status text, reason text, code text)
LANGUAGE plpgsql AS $$
DECLARE
    v_batch uuid := api.open_promo_import();
BEGIN
    INSERT INTO pg_temp.promo_import (line, code, problem)
    SELECT n + 1, c, p_problems[n] FROM unnest(p_lines) WITH ORDINALITY AS u(c, n);
    RETURN QUERY SELECT * FROM api.import_promo_codes(v_batch, 'PREMIUM_GRANT', 'June batch',
        p_grant_days => 14, p_max_uses => p_max_uses, p_prefix => p_prefix,
        p_ends_at => '2030-09-01 00:00:00+00', p_actor => 'ops-june', p_mode => p_mode);
END
$$;
CREATE TEMP TABLE codes AS
SELECT n, pg_temp.batch('JUNE' || c) AS code
FROM (VALUES (1, 'ABC2DEF3GHJ4KMN'), (2, 'PQR5STU6VWX7YZA'), (3, 'BCD8EFG9HJK2MNP'), (4, 'QRS3TUV4WXY5ZAB'))
     AS v(n, c);
CREATE FUNCTION pg_temp.code(p_n integer) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT code FROM codes WHERE n = p_n $$;
CREATE TEMP TABLE counts AS
SELECT (SELECT count(*) FROM promo.promo_codes) AS campaigns, (SELECT count(*) FROM promo.capacity_slots) AS slots,
       (SELECT count(*) FROM ops.audit_log) AS audits;

-- ALL_OR_NOTHING with a refused line: a report, nothing written.
CREATE TEMP TABLE refused AS
SELECT * FROM pg_temp.import(ARRAY[pg_temp.code(1), lower(pg_temp.code(2)), pg_temp.code(1), 'JUNEX']);
SELECT results_eq($$ SELECT line, promo_code_id, status, reason FROM refused $$,
    $$ VALUES (2::bigint, NULL::bigint, 'VALID', 'batch_refused'), (3, NULL, 'VALID', 'batch_refused'),
              (4, NULL, 'DUPLICATE', 'duplicate_in_file'), (5, NULL, 'INVALID', 'prefix_mismatch') $$,
    'one refused line: every line reported, the valid ones VALID batch_refused');
SELECT results_eq(
    $$ SELECT (SELECT count(*) FROM promo.promo_codes), (SELECT count(*) FROM promo.capacity_slots),
              (SELECT count(*) FROM ops.audit_log) $$,
    $$ SELECT campaigns, slots, audits FROM counts $$, 'a refused batch writes nothing, no audit row either');
SELECT is(to_regclass('pg_temp.promo_import'), NULL, 'the staging table (the raw codes) is gone after the import');

-- DRY_RUN: the same checks, nothing written.
SELECT results_eq(
    $$ SELECT status, reason FROM pg_temp.import(ARRAY[pg_temp.code(1), pg_temp.code(2)], 'DRY_RUN') $$,
    $$ VALUES ('VALID', 'dry_run'), ('VALID', 'dry_run') $$, 'a dry run reports VALID dry_run');
SELECT results_eq($$ SELECT count(*) FROM promo.promo_codes $$, $$ SELECT campaigns FROM counts $$,
                  'a dry run inserts nothing');

-- ALL_OR_NOTHING, every line valid: inserted, one campaign each with one slot.
CREATE TEMP TABLE first AS
SELECT * FROM pg_temp.import(ARRAY[pg_temp.code(1), regexp_replace(lower(pg_temp.code(2)), '(....)', '\1 ', 'g')]);
SELECT results_eq($$ SELECT line, status, reason, code FROM first $$,
                  $$ SELECT n::bigint + 1, 'INSERTED', NULL::text, code FROM codes WHERE n IN (1, 2) ORDER BY n $$,
                  'every valid line is INSERTED, answered with its canonical code (what was hashed), whatever its spelling');
SELECT results_eq(
    $$ SELECT f.line, c.code_hash, c.campaign, c.kind, c.grant_days, c.max_uses, c.per_user_limit, c.prefix,
              c.starts_at, c.ends_at, c.status, c.created_by, c.pepper_id
       FROM first AS f JOIN promo.promo_codes AS c USING (promo_code_id) ORDER BY f.line $$,
    $$ SELECT n::bigint + 1, promo.hash_code(code), 'June batch', 'PREMIUM_GRANT', 14, 1, 1, 'JUNE',
              '2030-06-01 00:00:00+00'::timestamptz, '2030-09-01 00:00:00+00'::timestamptz, 'ACTIVE',
              'ops-june', promo.pepper_id(promo.pepper())
       FROM codes WHERE n IN (1, 2) ORDER BY n $$,
    'each line is a campaign with the batch''s terms, stored as the HMAC of its canonical code');
SELECT results_eq(
    $$ SELECT s.slot_no, s.capacity, s.used, s.held FROM first AS f JOIN promo.capacity_slots AS s USING (promo_code_id)
       ORDER BY f.line $$,
    $$ VALUES (0::smallint, 1, 0, 0), (0::smallint, 1, 0, 0) $$, 'a single-use code has one slot, slot 0, of capacity 1');
SELECT results_eq(
    $$ SELECT count(*), min(actor), min(db_role), min(target_type), min(details->>'inserted'), min(details->>'lines'),
              min(details->>'mode'), min(details->>'campaign'),
              min((details->>'first_promo_code_id')::bigint) = (SELECT min(promo_code_id) FROM first),
              min((details->>'last_promo_code_id')::bigint) = (SELECT max(promo_code_id) FROM first)
       FROM ops.audit_log WHERE action = 'promo.codes_imported' $$,
    $$ VALUES (1::bigint, 'ops-june', session_user::text COLLATE "default", 'promo_batch', '2', '2', 'ALL_OR_NOTHING', 'June batch', true, true) $$,
    'one audit row for the batch, with its counts and id range');
SELECT is_empty(
    $$ SELECT 1 FROM promo.promo_codes AS c WHERE strpos(row_to_json(c)::text, 'ABC2DEF3') > 0
       UNION ALL SELECT 1 FROM ops.audit_log AS a WHERE strpos(row_to_json(a)::text, 'ABC2DEF3') > 0 $$,
    'no code in the campaigns or the audit log');

-- The same file again: harmless.
SELECT results_eq(
    $$ SELECT i.line, i.promo_code_id, i.status, i.reason
       FROM pg_temp.import(ARRAY[pg_temp.code(1), pg_temp.code(2)]) AS i $$,
    $$ SELECT line, promo_code_id, 'DUPLICATE', 'duplicate_code' FROM first ORDER BY line $$,
    're-importing a batch: every line DUPLICATE with the existing campaign''s id');
SELECT is((SELECT count(*) FROM ops.audit_log WHERE action = 'promo.codes_imported'), 1::bigint,
          'and nothing written');

-- PARTIAL: the valid lines go in, every refusal has its reason.
CREATE TEMP TABLE partial AS
SELECT * FROM pg_temp.import(
    ARRAY[pg_temp.code(3), pg_temp.code(1), pg_temp.code(3), 'JUNE-ÄÖ', 'JUN', 'MAYABCDEF',
          'JUNEBATCH', left(pg_temp.code(1), -1) || CASE right(pg_temp.code(1), 1) WHEN 'Q' THEN 'R' ELSE 'Q' END,
          NULL, pg_temp.code(4)],
    'PARTIAL', p_problems => ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'wrong_field_count']);
SELECT results_eq(
    $$ SELECT line, status, reason, promo_code_id IS NOT NULL FROM partial $$,
    $$ VALUES (2::bigint, 'INSERTED', NULL::text, true), (3, 'DUPLICATE', 'duplicate_code', true),
              (4, 'DUPLICATE', 'duplicate_in_file', true), (5, 'INVALID', 'invalid_code', false),
              (6, 'INVALID', 'code_too_short', false), (7, 'INVALID', 'prefix_mismatch', false),
              (8, 'INVALID', 'code_in_campaign_name', false), (9, 'INVALID', 'check_character', false),
              (10, 'INVALID', 'wrong_field_count', false), (11, 'INSERTED', NULL, true) $$,
    'PARTIAL: valid lines INSERTED, every other line with its reason');
SELECT results_eq($$ SELECT line, code FROM partial WHERE line IN (5, 6, 10, 11) $$, $$ VALUES (5::bigint, NULL::text), (6, 'JUN'), (10, NULL), (11, pg_temp.code(4)) $$,
                  'a refused line has its canonical code too, none when it holds no code');
SELECT is((SELECT promo_code_id FROM partial WHERE line = 4), (SELECT promo_code_id FROM partial WHERE line = 2),
          'a repeated line names the campaign its first line created');
SELECT is((SELECT promo_code_id FROM partial WHERE line = 3), (SELECT promo_code_id FROM first WHERE line = 2),
          'an existing code names its campaign');
SELECT results_eq(
    $$ SELECT details->>'inserted', details->>'refused', details->>'lines', details->>'mode'
       FROM ops.audit_log WHERE action = 'promo.codes_imported' ORDER BY audit_id DESC LIMIT 1 $$,
    $$ VALUES ('2', '8', '10', 'PARTIAL') $$, 'the partial batch''s audit row counts what went in and what not');
SELECT results_eq(
    $$ SELECT outcome, promo_code_id FROM api.redeem_promo_code(9201, pg_temp.code(4), 'import-redeem-1') $$,
    $$ SELECT 'APPLIED', promo_code_id FROM partial WHERE line = 11 $$, 'an imported code redeems');
SELECT is((SELECT outcome FROM api.redeem_promo_code(9202, pg_temp.code(4), 'import-redeem-2')), 'DEPLETED',
          'once: it is single-use');

-- Several uses per code, unlimited codes.
CREATE TEMP TABLE three AS SELECT * FROM pg_temp.import(ARRAY[pg_temp.batch('JUNEMNP2QRS3TUV4WXY')], p_max_uses => 3);
SELECT results_eq(
    $$ SELECT s.slot_no, s.capacity FROM three JOIN promo.capacity_slots AS s USING (promo_code_id) ORDER BY s.slot_no $$,
    $$ VALUES (0::smallint, 1), (1::smallint, 1), (2::smallint, 1) $$, 'max_uses 3 gives three slots, as creation does');
CREATE TEMP TABLE unlimited AS SELECT * FROM pg_temp.import(ARRAY[pg_temp.batch('JUNEXYZ2ABC3DEF4GHJ')], p_max_uses => NULL);
SELECT results_eq(
    $$ SELECT count(*), count(s.capacity) FROM unlimited JOIN promo.capacity_slots AS s USING (promo_code_id) $$,
    $$ VALUES (64::bigint, 0::bigint) $$, 'an unlimited code gets 64 slots without a capacity');
SELECT is_empty($$ SELECT * FROM api.check_invariants() $$, 'the invariants hold after the imports');

-- The slots go in with replica mode (no per-row foreign-key check), which skips triggers and
-- rules: the table must have none but its foreign key's.
SELECT ok(pg_catalog.has_parameter_privilege('starpass_owner', 'session_replication_role', 'SET'),
          'bootstrap (as a superuser) let the owner set session_replication_role');
SELECT is_empty(
    $$ SELECT t.tgname FROM pg_catalog.pg_trigger AS t WHERE t.tgrelid = 'promo.capacity_slots'::regclass AND NOT t.tgisinternal
       UNION ALL SELECT r.rulename::text FROM pg_catalog.pg_rules AS r WHERE r.schemaname = 'promo' AND r.tablename = 'capacity_slots' $$,
    'promo.capacity_slots has no trigger or rule that replica mode would skip');
SELECT is_empty(
    $$ SELECT s.promo_code_id FROM promo.capacity_slots AS s LEFT JOIN promo.promo_codes AS c USING (promo_code_id)
       WHERE c.promo_code_id IS NULL $$,
    'every slot an import wrote references its campaign');
SELECT is(current_setting('session_replication_role'), 'origin', 'the import leaves replica mode behind');
-- Without the privilege (a managed server): the same slots, with the foreign-key check.
REVOKE SET ON PARAMETER session_replication_role FROM starpass_owner;
CREATE TEMP TABLE checked AS SELECT * FROM pg_temp.import(ARRAY[pg_temp.batch('JUNEPQR3STU4VWX5YZA')], p_max_uses => 2);
SELECT results_eq(
    $$ SELECT c.status, s.slot_no, s.capacity FROM checked AS c JOIN promo.capacity_slots AS s USING (promo_code_id) ORDER BY s.slot_no $$,
    $$ VALUES ('INSERTED', 0::smallint, 1), ('INSERTED', 1::smallint, 1) $$,
    'without the privilege the import inserts the same slots (foreign key checked)');
GRANT SET ON PARAMETER session_replication_role TO starpass_owner;

-- A pepper rotation: a code created under the previous pepper is a duplicate.
SET LOCAL promo.pepper_previous = 'test-pepper-0123456789-0123456789-abcdef';
SET LOCAL promo.pepper = 'rotated-pepper-9876543210-9876543210-zyxw';
SELECT results_eq(
    $$ SELECT status, reason FROM pg_temp.import(ARRAY[pg_temp.code(1), pg_temp.batch('JUNEKMN9PQR8STU7VWX')]) $$,
    $$ VALUES ('DUPLICATE', 'duplicate_code'), ('VALID', 'batch_refused') $$,
    'during a rotation a code hashed by the previous pepper is a duplicate');
RESET promo.pepper_previous;
SELECT throws_ok($$ SELECT * FROM pg_temp.import(ARRAY[pg_temp.code(1)]) $$,
    'SP500', 'promo.pepper_previous is not set', 'without the previous pepper during a rotation: refused');
SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';

-- Refusals.
SELECT throws_ok(
    $$ SELECT * FROM api.import_promo_codes(gen_random_uuid(), 'PREMIUM_GRANT', 'No import', p_grant_days => 1) $$,
    'SP409', 'no promo import is open', 'an import that was not opened is refused');
SELECT lives_ok($$ SELECT api.open_promo_import() $$, 'an import opens');
SELECT throws_ok($$ SELECT api.open_promo_import() $$, 'SP409', 'a promo import is already open in this transaction',
                 'a second one in the same transaction is refused');
SELECT throws_ok(
    $$ SELECT * FROM api.import_promo_codes(gen_random_uuid(), 'PREMIUM_GRANT', 'No import', p_grant_days => 1) $$,
    'SP409', 'no promo import is open', 'another batch id than the opening''s is refused');
SELECT lives_ok(
    $$ SELECT * FROM api.import_promo_codes(current_setting('promo.import_batch')::uuid, 'PREMIUM_GRANT', 'Empty',
                                            p_grant_days => 1) $$,
    'the opened import, empty, is fine');
SELECT throws_ok(
    $$ SELECT * FROM api.import_promo_codes(gen_random_uuid(), 'PREMIUM_GRANT', 'Again', p_grant_days => 1) $$,
    'SP409', 'no promo import is open', 'an import is imported once');

CREATE FUNCTION pg_temp.refused(p_terms text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT throws_ok(format(
        'SELECT * FROM api.import_promo_codes(api.open_promo_import(), %s)', p_terms),
        'SP422', NULL, 'refused: ' || p_terms);
END
$$;
SELECT pg_temp.refused($$'STARS', 'Bad kind'$$);
SELECT pg_temp.refused($$'PREMIUM_GRANT', 'No days'$$);
SELECT pg_temp.refused($$'PERCENT_DISCOUNT', 'Days for a discount', p_grant_days => 3, p_discount_percent => 5$$);
SELECT pg_temp.refused($$'PREMIUM_GRANT', '', p_grant_days => 3$$);
SELECT pg_temp.refused($$'PREMIUM_GRANT', 'Bad uses', p_grant_days => 3, p_max_uses => 0$$);
SELECT pg_temp.refused($$'PREMIUM_GRANT', 'Bad prefix', p_grant_days => 3, p_prefix => 'J'$$);
SELECT pg_temp.refused($$'PREMIUM_GRANT', 'Past end', p_grant_days => 3, p_ends_at => '2030-01-01'$$);
SELECT pg_temp.refused($$'PREMIUM_GRANT', 'Bad mode', p_grant_days => 3, p_mode => 'SOME'$$);
SELECT pg_temp.refused($$'PREMIUM_GRANT', 'Bad actor', p_grant_days => 3, p_actor => ''$$);

SELECT * FROM finish();
ROLLBACK;
