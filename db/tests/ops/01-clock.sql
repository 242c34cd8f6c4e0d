-- The injectable clock behind every business rule.
BEGIN;
SELECT plan(9);

SELECT is(ops.now(), now(), 'unpinned, ops.now() is the transaction time');

UPDATE ops.clock SET frozen_at = '2030-01-01 12:00:00+00';
SELECT is(ops.now(), '2030-01-01 12:00:00+00'::timestamptz, 'a pinned clock returns the pinned time');

UPDATE ops.clock SET shift = interval '90 minutes';
SELECT is(ops.now(), '2030-01-01 13:30:00+00'::timestamptz, 'a shift moves the pinned time');

UPDATE ops.clock SET frozen_at = NULL;
SELECT is(ops.now(), now() + interval '90 minutes', 'a shift alone moves real time');

-- A database without starpass.test_clock (production) never reads ops.clock.
SET LOCAL starpass.test_clock = off;
SELECT is(ops.now(), now(), 'with the test clock off, ops.now() is the transaction time despite a shift');
SELECT throws_ok($$ UPDATE ops.clock SET frozen_at = '2030-01-01 12:00:00+00' $$, 'SP409',
                 'the test clock is off in this database',
                 'pinning the clock where it is off is refused, not silently ignored');
SELECT is((SELECT shift FROM ops.clock), interval '90 minutes', 'the refused pin changed nothing');
SELECT lives_ok($$ UPDATE ops.clock SET frozen_at = NULL, shift = interval '0' $$,
                'resetting the clock is allowed anywhere');
RESET starpass.test_clock;
SELECT is(ops.now(), now(), 'reset, the clock reads real time again');

SELECT * FROM finish();
ROLLBACK;
