-- The alert outbox: raising in the caller's transaction with dedup, claims with leases, ack, fail.
BEGIN;
SELECT plan(20);
UPDATE ops.clock SET frozen_at = '2030-09-01 00:00:00+00';

SELECT isnt(ops.raise_alert('payments.amount_mismatch', 'critical', 'first', '{"a": 1}', 'k1'), NULL,
            'an alert is raised');
SELECT is(ops.raise_alert('payments.amount_mismatch', 'critical', 'again', '{}', 'k1'), NULL,
          'the same dedup key while pending is not raised again');
SELECT is((SELECT count(*) FROM ops.alert_outbox WHERE dedup_key = 'k1'), 1::bigint, 'one row for k1');
SELECT isnt(ops.raise_alert('jobs.failed', 'error', 'other', '{}', 'k2'), NULL, 'another key is raised');

-- Claims: due, unleased, SKIP LOCKED; attempts counted.
SELECT results_eq($$ SELECT dedup_key, attempts FROM api.claim_alerts(10, 60) ORDER BY alert_id $$,
                  $$ VALUES ('k1', 1), ('k2', 1) $$, 'due pending alerts are claimed, attempts counted');
SELECT is_empty($$ SELECT * FROM api.claim_alerts(10, 60) $$, 'a leased alert is not claimed twice');
UPDATE ops.clock SET frozen_at = '2030-09-01 00:01:00+00';
SELECT results_eq($$ SELECT dedup_key, attempts FROM api.claim_alerts(1, 60) $$,
                  $$ VALUES ('k1', 2) $$, 'an expired lease comes back, oldest first, up to the limit');

-- Ack and fail.
SELECT results_eq($$ SELECT state, changed FROM api.ack_alert((SELECT alert_id FROM ops.alert_outbox WHERE dedup_key = 'k1')) $$,
                  $$ VALUES ('delivered', true) $$, 'ack delivers');
SELECT results_eq($$ SELECT state, changed FROM api.ack_alert((SELECT alert_id FROM ops.alert_outbox WHERE dedup_key = 'k1')) $$,
                  $$ VALUES ('delivered', false) $$, 'a second ack changes nothing');
SELECT results_eq(
    $$ SELECT state, next_attempt_at FROM api.fail_alert((SELECT alert_id FROM ops.alert_outbox WHERE dedup_key = 'k2'),
                                                       'HTTP 503 from Slack', '2030-09-01 00:05:00+00') $$,
    $$ VALUES ('pending', '2030-09-01 00:05:00+00'::timestamptz) $$, 'a failure with a retry time stays pending');
SELECT is_empty($$ SELECT * FROM api.claim_alerts(10, 60) $$, 'not claimable before its retry time');
UPDATE ops.clock SET frozen_at = '2030-09-01 00:05:00+00';
SELECT results_eq($$ SELECT dedup_key, attempts FROM api.claim_alerts(10, 60) $$,
                  $$ VALUES ('k2', 2) $$, 'claimable again at its retry time');
SELECT results_eq(
    $$ SELECT state FROM api.fail_alert((SELECT alert_id FROM ops.alert_outbox WHERE dedup_key = 'k2'), 'gave up', NULL) $$,
    $$ VALUES ('dead') $$, 'a failure without a retry time is dead');
SELECT is((SELECT last_error FROM ops.alert_outbox WHERE dedup_key = 'k2'), 'gave up', 'the last error is kept');
SELECT throws_ok($$ SELECT * FROM api.fail_alert((SELECT alert_id FROM ops.alert_outbox WHERE dedup_key = 'k2'), 'x', NULL) $$,
                 'SP409', 'alert is not pending', 'a dead alert cannot fail again');
SELECT throws_ok($$ SELECT * FROM api.ack_alert(-1) $$, 'SP404', 'alert not found', 'an unknown alert');
SELECT throws_ok($$ SELECT * FROM api.claim_alerts(0, 60) $$, 'SP422', 'invalid argument p_limit', 'a limit of 0');

-- Dedup window: delivered within the window is not raised again; after it, it is.
SELECT is(ops.raise_alert('payments.amount_mismatch', 'critical', 'third', '{}', 'k1'), NULL,
          'delivered 4 minutes ago: within the 10-minute window, not raised again');
UPDATE ops.clock SET frozen_at = '2030-09-01 00:10:01+00';
SELECT isnt(ops.raise_alert('payments.amount_mismatch', 'critical', 'fourth', '{}', 'k1'), NULL,
            'after the window the same key is raised again');
SELECT throws_ok($$ UPDATE ops.alert_outbox SET state = 'delivered' WHERE dedup_key = 'k2' $$, '23514', NULL,
                 'a state without its timestamp is refused by the table');
SELECT * FROM finish();
ROLLBACK;
