-- api.check_invariants: silent on consistent data, names each kind of tampering.
BEGIN;
SELECT plan(5);

UPDATE ops.clock SET frozen_at = '2030-01-01 00:00:00+00';
SELECT api.touch_user(3001);
SELECT api.touch_user(3002);
SELECT api.adjust_premium_days(3001, 10, 'test', 'setup');
SELECT api.adjust_premium_days(3001, 5, 'test', 'setup');
SELECT api.adjust_premium_days(3002, 3, 'test', 'setup');
SELECT is_empty('SELECT * FROM api.check_invariants()', 'consistent data violates nothing');

UPDATE billing.entitlements SET premium_until = premium_until + interval '1 day' WHERE user_id = 3002;
SELECT results_eq($$ SELECT invariant, subject FROM api.check_invariants() $$,
                  $$ VALUES ('premium_until_matches_ledger', 'user 3002') $$,
                  'an entitlement edited behind the ledger''s back is reported');
UPDATE billing.entitlements SET premium_until = premium_until - interval '1 day' WHERE user_id = 3002;

-- Tampering with the ledger needs its guard off: only a superuser can do that.
ALTER TABLE billing.ledger DISABLE TRIGGER ledger_append_only;
UPDATE billing.ledger SET premium_days_delta = 50
WHERE ledger_id = (SELECT min(ledger_id) FROM billing.ledger WHERE user_id = 3001);
SELECT results_eq($$ SELECT invariant, subject FROM api.check_invariants() $$,
                  $$ VALUES ('ledger_arithmetic', 'user 3001') $$,
                  'an entry whose result does not follow from its delta is reported');

UPDATE billing.ledger SET premium_days_delta = 10, premium_until_before = '2029-01-01'
WHERE ledger_id = (SELECT min(ledger_id) FROM billing.ledger WHERE user_id = 3001);
SELECT results_eq($$ SELECT invariant, subject FROM api.check_invariants() $$,
              $$ VALUES ('ledger_chain', 'user 3001') $$,
              'an entry that does not start where the previous one ended is reported');
UPDATE billing.ledger SET premium_until_before = NULL
WHERE ledger_id = (SELECT min(ledger_id) FROM billing.ledger WHERE user_id = 3001);

UPDATE billing.ledger SET stars_delta = 5
WHERE ledger_id = (SELECT max(ledger_id) FROM billing.ledger WHERE user_id = 3002);
SELECT results_eq($$ SELECT invariant FROM api.check_invariants() $$,
                  $$ VALUES ('ledger_kind_sign') $$,
                  'an entry with a delta its kind does not allow is reported');

SELECT * FROM finish();
ROLLBACK;
