-- The supported timestamp range (ops.timestamp_range, ops.check_timestamp): every api function
-- that takes a timestamp refuses one outside [2000-01-01, 9000-01-01) UTC with SP422 and writes
-- nothing; the campaign table cannot hold one either.
BEGIN;
SELECT plan(22);

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
SET LOCAL TimeZone = 'UTC';
UPDATE ops.clock SET frozen_at = '2030-02-01 00:00:00+00';

CREATE TEMP TABLE written AS
SELECT (SELECT count(*) FROM promo.promo_codes) AS campaigns,
       (SELECT count(*) FROM promo.capacity_slots) AS slots,
       (SELECT count(*) FROM ops.audit_log) AS audited;

SELECT is(ops.timestamp_range(), tstzrange('2000-01-01 00:00:00+00', '9000-01-01 00:00:00+00', '[)'),
          'the range is [2000-01-01, 9000-01-01) UTC');

-- The three inputs the probe found (valid timestamptz literals, year 10000 or 1 BC in UTC),
-- infinity and the instants just outside the range.
SELECT throws_ok(
    format($$ SELECT api.create_promo_code('RANGE-TEST-1', 'PREMIUM_GRANT', 'r', p_grant_days => 1,
                                           %s => %L) $$, argument, value),
    'SP422', 'invalid argument ' || argument, description)
FROM (VALUES
    ('p_ends_at', '9999-12-31T23:00:00-12:00', 'an end in year 10000 (UTC) is refused'),
    ('p_ends_at', '9999-12-31T23:59:59-14:00', 'the latest offset into year 10000 is refused'),
    ('p_starts_at', '0001-01-01T00:00:00+14:00', 'a start in 1 BC (UTC) is refused'),
    ('p_ends_at', 'infinity', 'an end at infinity is refused (NULL means no end)'),
    ('p_starts_at', '-infinity', 'a start at -infinity is refused'),
    ('p_starts_at', '1999-12-31T23:59:59.999999Z', 'the last instant before the range is refused'),
    ('p_ends_at', '9000-01-01T00:00:00Z', 'the end of the range is excluded')
) AS refused(argument, value, description);
SELECT results_eq($$ SELECT (SELECT count(*) FROM promo.promo_codes), (SELECT count(*) FROM promo.capacity_slots),
                            (SELECT count(*) FROM ops.audit_log) $$,
                  $$ SELECT campaigns, slots, audited FROM written $$,
                  'the refusals wrote no campaign, no slot, no audit row');

-- The bounds themselves.
SELECT lives_ok($$ SELECT api.create_promo_code('RANGE-TEST-2', 'PREMIUM_GRANT', 'r', p_grant_days => 1,
                                                p_starts_at => '2000-01-01T00:00:00Z',
                                                p_ends_at => '8999-12-31T23:59:59.999999Z') $$,
                'the first and the last instant of the range are accepted');
SELECT results_eq($$ SELECT starts_at, ends_at FROM promo.promo_codes WHERE code_hash = promo.hash_code('RANGETEST2') $$,
                  $$ VALUES ('2000-01-01 00:00:00+00'::timestamptz, '8999-12-31 23:59:59.999999+00'::timestamptz) $$,
                  'and stored as given');

-- The table cannot hold such values either, whoever writes.
SELECT throws_ok($$ UPDATE promo.promo_codes SET ends_at = '10000-01-01 00:00:00+00'
                    WHERE code_hash = promo.hash_code('RANGETEST2') $$,
                 '23514', NULL, 'a CHECK refuses an end outside the range');
SELECT throws_ok($$ UPDATE promo.promo_codes SET ends_at = 'infinity' WHERE code_hash = promo.hash_code('RANGETEST2') $$,
                 '23514', NULL, 'a CHECK refuses an end at infinity');
SELECT throws_ok($$ UPDATE promo.promo_codes SET starts_at = '0001-01-01 00:00:00+00 BC'
                    WHERE code_hash = promo.hash_code('RANGETEST2') $$,
                 '23514', NULL, 'a CHECK refuses a start outside the range');
SELECT lives_ok($$ UPDATE promo.promo_codes SET ends_at = NULL WHERE code_hash = promo.hash_code('RANGETEST2') $$,
                'no end is still allowed');

-- api.block_promo_user: the same rule, before its own narrower one (future, within a year).
SELECT throws_ok($$ SELECT * FROM api.block_promo_user(4299, 'infinity', 'ops', 'abuse') $$,
                 'SP422', 'invalid argument p_until', 'a block until infinity is refused');
SELECT is_empty($$ SELECT * FROM promo.user_throttle WHERE user_id = 4299 $$, 'and no block is stored');

-- A timestamptz setting (the maintenance window) lies in the range too.
SELECT throws_ok($$ SELECT * FROM api.set_setting('ops.alert_maintenance_until', '9999-12-31 23:59:59-14', 'ops') $$,
                 'SP422', 'invalid argument p_value', 'a window ending in year 10000 is refused');
SELECT results_eq($$ SELECT changed FROM api.set_setting('ops.alert_maintenance_until', 'infinity', 'ops') $$,
                  $$ VALUES (true) $$, 'infinity (a window with no end) is a value the setting holds');
SELECT results_eq($$ SELECT value FROM api.list_settings() WHERE key = 'ops.alert_maintenance_until' $$,
                  $$ VALUES ('infinity') $$, 'and it is stored as given');
SELECT throws_ok($$ SELECT * FROM api.set_setting('ops.alert_maintenance_until', '1999-12-31 23:59:59Z', 'ops') $$,
                 'SP422', 'invalid argument p_value', 'a window ending before 2000 is refused');
SELECT is(ops.setting_timestamptz('ops.alert_maintenance_until'), 'infinity'::timestamptz,
          'the refused values changed nothing');

SELECT * FROM finish();
ROLLBACK;
