-- Typed settings: listing, changing (audited), and their refusals.
BEGIN;
SELECT plan(20);

SELECT ok((SELECT count(*) >= 2 FROM api.list_settings()), 'settings are seeded');
SELECT is_empty($$ SELECT key FROM api.list_settings() WHERE value <> default_value $$,
                'fresh settings hold their defaults');
SELECT is(ops.setting_interval('promo.reservation_ttl'), interval '15 minutes',
          'an interval setting reads as an interval');

SELECT results_eq(
    $$ SELECT key, value, previous_value, changed
       FROM api.set_setting('promo.reservation_ttl', '20 minutes', 'ops-alice', 'longer holds') $$,
    $$ VALUES ('promo.reservation_ttl', '20 minutes', '15 minutes', true) $$,
    'set_setting changes a value and reports the previous one');
SELECT is(ops.setting_interval('promo.reservation_ttl'), interval '20 minutes', 'the new value is read');
SELECT results_eq(
    $$ SELECT actor, action, target_type, target_id, reason, details
       FROM ops.audit_log WHERE action = 'ops.setting_changed' $$,
    $$ VALUES ('ops-alice', 'ops.setting_changed', 'setting', 'promo.reservation_ttl', 'longer holds',
               '{"from": "15 minutes", "to": "20 minutes"}'::jsonb) $$,
    'the change is audited with actor, reason and both values');

SELECT results_eq(
    $$ SELECT changed FROM api.set_setting('promo.reservation_ttl', '20 minutes', 'ops-alice') $$,
    $$ VALUES (false) $$, 'the same value again changes nothing');
SELECT is((SELECT count(*) FROM ops.audit_log WHERE action = 'ops.setting_changed'), 1::bigint,
          'and writes no audit row');

SELECT throws_ok($$ SELECT * FROM api.set_setting('promo.reservation_ttl', 'soon', 'ops-alice') $$,
                 'SP422', 'invalid argument p_value', 'a value of the wrong type is refused');
SELECT throws_ok($$ SELECT * FROM api.set_setting('promo.nope', '1', 'ops-alice') $$,
                 'SP404', 'setting not found', 'an unknown setting is refused');
SELECT throws_ok($$ SELECT * FROM api.set_setting('promo.reservation_ttl', '1 hour', '') $$,
                 'SP422', 'invalid argument p_actor', 'a change without an actor is refused');
SELECT throws_ok($$ SELECT * FROM api.set_setting('promo.reservation_ttl', NULL, 'ops-alice') $$,
                 'SP422', 'invalid argument p_value', 'a missing value is refused');
SELECT throws_ok($$ SELECT * FROM api.set_setting('promo.reservation_ttl', '20 minutes', NULL) $$,
                 'SP422', 'invalid argument p_actor', 'even an unchanged value needs an actor');
SELECT is(ops.setting_interval('promo.reservation_ttl'), interval '20 minutes',
          'refused changes left the value alone');

SELECT throws_ok($$ SELECT ops.setting_integer('promo.reservation_ttl') $$,
                 'SP500', NULL, 'reading a setting as the wrong type is an error');
SELECT throws_ok($$ SELECT ops.setting_interval('no.such') $$,
                 'SP500', NULL, 'reading a missing setting is an error');
SELECT throws_ok($$ UPDATE ops.settings SET value = 'x' WHERE key = 'promo.reservation_ttl' $$,
                 '23514', NULL, 'the table itself refuses a value of the wrong type');

SELECT throws_ok($$ UPDATE ops.audit_log SET reason = 'rewritten' $$, 'SP409', NULL,
                 'the audit log refuses updates');
SELECT throws_ok($$ DELETE FROM ops.audit_log $$, 'SP409', NULL, 'the audit log refuses deletes');
SELECT throws_ok($$ TRUNCATE ops.audit_log $$, 'SP409', NULL, 'the audit log refuses truncation');

SELECT * FROM finish();
ROLLBACK;
