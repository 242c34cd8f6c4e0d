-- The injectable clock behind every business rule.
BEGIN;
SELECT plan(4);

SELECT is(ops.now(), now(), 'unpinned, ops.now() is the transaction time');

UPDATE ops.clock SET frozen_at = '2030-01-01 12:00:00+00';
SELECT is(ops.now(), '2030-01-01 12:00:00+00'::timestamptz, 'a pinned clock returns the pinned time');

UPDATE ops.clock SET shift = interval '90 minutes';
SELECT is(ops.now(), '2030-01-01 13:30:00+00'::timestamptz, 'a shift moves the pinned time');

UPDATE ops.clock SET frozen_at = NULL;
SELECT is(ops.now(), now() + interval '90 minutes', 'a shift alone moves real time');

SELECT * FROM finish();
ROLLBACK;
