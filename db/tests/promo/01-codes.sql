-- Promo code normalization (promo.normalize_code_or_null / normalize_code), hashing
-- (promo.hash_code) and the pepper (promo.pepper).
BEGIN;
SELECT plan(37);

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';

-- The DETAIL of the error a statement raises (NULL when it raises none).
CREATE FUNCTION pg_temp.error_detail(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_detail text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RETURN v_detail;
END
$$;

-- Accepted spellings: all fold to one canonical code.
SELECT is(promo.normalize_code_or_null('  sommer25  '), 'SOMMER25',
          'surrounding spaces are trimmed and letters are uppercased');
SELECT is(promo.normalize_code_or_null(E'\t sommer25\n'), 'SOMMER25', 'tabs and newlines are removed');
SELECT is(promo.normalize_code_or_null('ｓｏｍｍｅｒ２５'), 'SOMMER25',
          'full-width letters and digits fold to ASCII (NFKC)');
SELECT is(promo.normalize_code_or_null('SoMmEr25'), 'SOMMER25', 'case does not matter');
SELECT is(promo.normalize_code_or_null('Som mer 2 5'), 'SOMMER25', 'inner spaces are removed');
SELECT is(promo.normalize_code_or_null('SOM-MER-25'), 'SOMMER25', 'ASCII hyphens are removed');
SELECT results_eq(
    $$ SELECT label, promo.normalize_code_or_null(input)
       FROM (VALUES (1, 'U+2010 hyphen',            E'SOMMER\u201025'),
                    (2, 'U+2011 non-breaking hyphen', E'SOMMER\u201125'),
                    (3, 'U+2013 en dash',           E'SOMMER\u201325'),
                    (4, 'U+2014 em dash',           E'SOMMER\u201425'),
                    (5, 'U+2212 minus sign',        E'SOMMER\u221225'),
                    (6, 'U+00AD soft hyphen',       E'SOMMER\u00AD25'),
                    (7, 'U+00A0 no-break space',    E'SOMMER\u00A025'),
                    (8, 'U+200B zero-width space',  E'SOMMER\u200B25'),
                    (9, 'all of them at once',      E'\u00A0som\u2010mer\u2011\u2013\u2014\u2212\u00AD\u200B２5 ')
            ) AS v (n, label, input)
       ORDER BY n $$,
    $$ VALUES ('U+2010 hyphen', 'SOMMER25'), ('U+2011 non-breaking hyphen', 'SOMMER25'),
              ('U+2013 en dash', 'SOMMER25'), ('U+2014 em dash', 'SOMMER25'),
              ('U+2212 minus sign', 'SOMMER25'), ('U+00AD soft hyphen', 'SOMMER25'),
              ('U+00A0 no-break space', 'SOMMER25'), ('U+200B zero-width space', 'SOMMER25'),
              ('all of them at once', 'SOMMER25') $$,
    'Unicode dashes, soft hyphen, no-break and zero-width spaces are removed');
SELECT is(promo.normalize_code_or_null(repeat('A', 64)), repeat('A', 64), 'a 64-character code is accepted');
SELECT is(promo.normalize_code_or_null('SOMMER25' || repeat(' ', 248)), 'SOMMER25',
          'a 256-character raw input that normalizes to a code is accepted');
SELECT is(promo.normalize_code(' sommer-25 '), 'SOMMER25', 'normalize_code returns the canonical code');

-- Refused inputs.
SELECT results_eq(
    $$ SELECT label, promo.normalize_code_or_null(input)
       FROM (VALUES (1, 'NULL',                 NULL),
                    (2, 'empty',                ''),
                    (3, 'only spaces',          '    '),
                    (4, 'only spaces and dashes', E' - \u2013 \u2014 \u00AD '),
                    (5, 'underscore',           'SOMMER_25'),
                    (6, 'accented letter',      'CAFÉ'),
                    (7, 'lowercase accented',   'café'),
                    (8, 'emoji',                'SOMMER🎉25'),
                    (9, 'punctuation',          'SOMMER.25'),
                    (10, '65 characters',       repeat('A', 65)),
                    (11, '257 raw characters',  'SOMMER25' || repeat(' ', 249))
            ) AS v (n, label, input)
       ORDER BY n $$,
    $$ VALUES ('NULL', NULL::text), ('empty', NULL), ('only spaces', NULL),
              ('only spaces and dashes', NULL), ('underscore', NULL), ('accented letter', NULL),
              ('lowercase accented', NULL), ('emoji', NULL), ('punctuation', NULL),
              ('65 characters', NULL), ('257 raw characters', NULL) $$,
    'inputs that cannot be a code normalize to NULL');
SELECT throws_ok($$ SELECT promo.normalize_code(NULL) $$, 'SP422', 'invalid argument p_code',
                 'normalize_code refuses NULL');
SELECT throws_ok($$ SELECT promo.normalize_code('') $$, 'SP422', 'invalid argument p_code',
                 'normalize_code refuses an empty code');
SELECT throws_ok($$ SELECT promo.normalize_code(' -- ') $$, 'SP422', 'invalid argument p_code',
                 'normalize_code refuses only dashes and spaces');
SELECT throws_ok($$ SELECT promo.normalize_code('SOMMER_25') $$, 'SP422', 'invalid argument p_code',
                 'normalize_code refuses a non-alphanumeric code');
SELECT throws_ok($$ SELECT promo.normalize_code('CAFÉ') $$, 'SP422', 'invalid argument p_code',
                 'normalize_code refuses a letter outside A-Z');
SELECT throws_ok($$ SELECT promo.normalize_code(repeat('B', 65)) $$, 'SP422', 'invalid argument p_code',
                 'normalize_code refuses 65 characters');
SELECT is(pg_temp.error_detail($$ SELECT promo.normalize_code('GEHEIM_CODE_42') $$),
          'a code is 1 to 64 letters A-Z and digits once spaces and hyphens are removed',
          'the DETAIL states the rule');
SELECT ok(pg_temp.error_detail($$ SELECT promo.normalize_code('GEHEIM_CODE_42') $$) NOT ILIKE '%geheim%',
          'the DETAIL does not contain the input');

-- promo.hash_code.
SELECT is(octet_length(promo.hash_code('SOMMER25')), 32, 'a code hash is 32 bytes');
SELECT is(promo.hash_code('SOMMER25'),
          extensions.hmac('SOMMER25'::bytea, convert_to('test-pepper-0123456789-0123456789-abcdef', 'UTF8'),
                          'sha256'),
          'the hash is HMAC-SHA256 of the canonical code under the pepper');
SELECT is(
    (SELECT count(DISTINCT promo.hash_code(v))
     FROM unnest(ARRAY['SOMMER25', ' sommer-25 ', 'ｓｏｍｍｅｒ２５', E'Som\u2013mer\u00A025']) AS v),
    1::bigint, 'spelling variants of one code hash equally');
SELECT isnt(promo.hash_code('SOMMER25'), promo.hash_code('SOMMER26'), 'different codes hash differently');
SELECT throws_ok($$ SELECT promo.hash_code('SOMMER_25') $$, 'SP422', 'invalid argument p_code',
                 'hash_code refuses an invalid code');

CREATE TEMP TABLE first_hash AS SELECT promo.hash_code('SOMMER25') AS h;
SET LOCAL promo.pepper = 'another-pepper-abcdefghijklmnopqrstuvwxyz';
SELECT isnt(promo.hash_code('SOMMER25'), (SELECT h FROM first_hash),
            'the same code hashes differently under another pepper');

-- promo.pepper.
SET LOCAL promo.pepper = '';
SELECT throws_ok($$ SELECT promo.hash_code('SOMMER25') $$, 'SP500', 'promo.pepper is not set',
                 'hash_code refuses to work without a pepper');
SELECT throws_ok($$ SELECT promo.pepper() $$, 'SP500', 'promo.pepper is not set',
                 'pepper() raises when the setting is missing');
SET LOCAL promo.pepper = '0123456789012345678901234567890';
SELECT throws_ok($$ SELECT promo.hash_code('SOMMER25') $$, 'SP500', 'promo.pepper is too short',
                 'a 31-byte pepper is refused');
SELECT is(pg_temp.error_detail($$ SELECT promo.pepper() $$), '31 bytes; at least 32 are required',
          'the DETAIL gives the length, not the pepper');
SET LOCAL promo.pepper = '01234567890123456789012345678901';
SELECT is(promo.pepper(), '01234567890123456789012345678901'::bytea, 'a 32-byte pepper is accepted');
SET LOCAL promo.pepper = 'ääääääääääääääää';
SELECT is(octet_length(promo.pepper()), 32, 'the length is measured in bytes (16 x ä is 32 bytes)');
SET LOCAL promo.pepper = 'ääääääääääääääa';
SELECT throws_ok($$ SELECT promo.pepper() $$, 'SP500', 'promo.pepper is too short',
                 '31 bytes of multi-byte characters are refused');

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
SELECT is(promo.pepper(true), NULL::bytea, 'pepper(true) is NULL without promo.pepper_previous');
SET LOCAL promo.pepper_previous = '';
SELECT is(promo.pepper(true), NULL::bytea, 'an empty promo.pepper_previous means no rotation');
SET LOCAL promo.pepper_previous = 'old-pepper-0123456789-0123456789-abcdef';
SELECT is(promo.pepper(true), convert_to('old-pepper-0123456789-0123456789-abcdef', 'UTF8'),
          'pepper(true) returns promo.pepper_previous during a rotation');
SET LOCAL promo.pepper_previous = 'short';
SELECT throws_ok($$ SELECT promo.pepper(true) $$, 'SP500', 'promo.pepper_previous is too short',
                 'a short previous pepper is refused too');
SELECT is(promo.pepper(), convert_to('test-pepper-0123456789-0123456789-abcdef', 'UTF8'),
          'pepper() still reads promo.pepper');

SELECT * FROM finish();
ROLLBACK;
