-- depends: 0024.redeem_idempotency
-- What a redemption costs the server (issue 15), measured in instructions per call with
-- callgrind (docs/benchmarks.md). PostgreSQL's regex engine unrolls a bounded repetition such
-- as {8,128} into that many states and builds its automaton anew on every match: about 98,000
-- instructions for one key, against 4,000 for an unbounded class with the length compared
-- apart. The rule is unchanged: 8 to 128 characters of A-Z a-z 0-9 . _ : -.
CREATE OR REPLACE FUNCTION ops.is_idempotency_key(p_key text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN char_length(p_key) BETWEEN 8 AND 128 AND p_key ~ '^[A-Za-z0-9._:-]+$';
