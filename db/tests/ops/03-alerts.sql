-- The alert outbox and its delivery: raising with dedup, claims for routing, routing to targets
-- (flood control, maintenance window), delivery claims (one send in flight per target, spacing,
-- summaries), ack, fail (retry, dead, fallback), resolves, operator retry, listing, test alerts,
-- metrics.
BEGIN;
SELECT plan(100);
UPDATE ops.clock SET frozen_at = '2030-09-01 00:00:00+00';

CREATE FUNCTION pg_temp.aid(p_key text) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT max(alert_id) FROM ops.alert_outbox WHERE dedup_key = p_key $$;
CREATE FUNCTION pg_temp.did(p_key text, p_target text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT d.delivery_id FROM ops.alert_deliveries AS d WHERE d.alert_id = pg_temp.aid(p_key) AND d.target = p_target
$$;
CREATE FUNCTION pg_temp.astate(p_key text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT state FROM ops.alert_outbox WHERE alert_id = pg_temp.aid(p_key) $$;
CREATE TEMP TABLE claimed AS SELECT * FROM api.claim_alert_deliveries('{}') LIMIT 0;
CREATE FUNCTION pg_temp.claim(p_targets text[]) RETURNS SETOF claimed
LANGUAGE sql AS $$
    INSERT INTO claimed SELECT * FROM api.claim_alert_deliveries(p_targets, 10, 60) RETURNING *
$$;

-- Raising: dedup while pending and within the window.
SELECT isnt(ops.raise_alert('payments.amount_mismatch', 'critical', 'first', '{"a": 1}', 'k1'), NULL,
            'an alert is raised');
SELECT is(ops.raise_alert('payments.amount_mismatch', 'critical', 'again', '{}', 'k1'), NULL,
          'the same dedup key while pending is not raised again');
SELECT is((SELECT count(*) FROM ops.alert_outbox WHERE dedup_key = 'k1'), 1::bigint, 'one row for k1');
SELECT isnt(ops.raise_alert('jobs.failed', 'error', 'other', '{}', 'k2'), NULL, 'another key is raised');
SELECT results_eq($$ SELECT action, resolves, routed_at FROM ops.alert_outbox WHERE dedup_key = 'k1' $$,
                  $$ VALUES ('trigger', NULL::text, NULL::timestamptz) $$, 'a raised alert is a trigger, not routed');

-- Claims for routing: due, unrouted, unleased, SKIP LOCKED; attempts counted.
SELECT results_eq($$ SELECT dedup_key, attempts, action FROM api.claim_alerts(10, 60) ORDER BY alert_id $$,
                  $$ VALUES ('k1', 1, 'trigger'), ('k2', 1, 'trigger') $$, 'unrouted alerts are claimed, attempts counted');
SELECT is_empty($$ SELECT * FROM api.claim_alerts(10, 60) $$, 'a leased alert is not claimed twice');
UPDATE ops.clock SET frozen_at = '2030-09-01 00:01:00+00';
SELECT results_eq($$ SELECT dedup_key, attempts FROM api.claim_alerts(1, 60) $$,
                  $$ VALUES ('k1', 2) $$, 'an expired lease comes back, oldest first, up to the limit');
SELECT throws_ok($$ SELECT * FROM api.claim_alerts(0, 60) $$, 'SP422', 'invalid argument p_limit', 'a limit of 0');
SELECT throws_ok($$ SELECT * FROM api.claim_alerts(1, 0) $$, 'SP422', 'invalid argument p_lease_seconds',
                 'a lease of 0');

-- Routing: one delivery per target.
SELECT results_eq($$ SELECT deliveries, held_until, changed FROM api.route_alert(pg_temp.aid('k1'), ARRAY['pagerduty', 'slack', 'slack']) $$,
                  $$ VALUES (2, NULL::timestamptz, true) $$, 'an alert is routed to each target once');
SELECT results_eq($$ SELECT deliveries, changed FROM api.route_alert(pg_temp.aid('k1'), ARRAY['generic']) $$,
                  $$ VALUES (2, false) $$, 'routing it again changes nothing');
SELECT results_eq($$ SELECT target, state, action, dedup_key, attempts, hold_reason FROM ops.alert_deliveries
                     WHERE alert_id = pg_temp.aid('k1') ORDER BY target $$,
                  $$ VALUES ('pagerduty', 'pending', 'trigger', 'k1', 0, NULL::text),
                            ('slack', 'pending', 'trigger', 'k1', 0, NULL) $$,
                  'pending deliveries carry the alert''s dedup key');
SELECT isnt((SELECT routed_at FROM ops.alert_outbox WHERE dedup_key = 'k1'), NULL, 'the alert is routed');
UPDATE ops.clock SET frozen_at = '2030-09-01 00:02:00+00';
SELECT results_eq($$ SELECT dedup_key FROM api.claim_alerts(10, 60) $$, $$ VALUES ('k2') $$,
                  'a routed alert is not claimed for routing again');
SELECT throws_ok($$ SELECT * FROM api.route_alert(-1, ARRAY['generic']) $$, 'SP404', 'alert not found', 'an unknown alert');
SELECT throws_ok($$ SELECT * FROM api.route_alert(pg_temp.aid('k2'), '{}') $$, 'SP422', 'invalid argument p_targets',
                 'no targets');
SELECT throws_ok($$ SELECT * FROM api.route_alert(pg_temp.aid('k2'), ARRAY['https://hooks.slack.com/services/x']) $$,
                 'SP422', 'invalid argument p_targets', 'a URL is not a target name');
SELECT throws_ok($$ SELECT * FROM api.route_alert(pg_temp.aid('k2'), ARRAY['generic'], 0) $$,
                 'SP422', 'invalid argument p_flood_limit', 'a flood limit of 0');
SELECT throws_ok($$ SELECT * FROM api.route_alert(pg_temp.aid('k2'), ARRAY['generic'], 1, '0 seconds') $$,
                 'SP422', 'invalid argument p_repeat_interval', 'an empty repeat interval');

-- Delivery claims: one send per free target, only targets the dispatcher names.
SELECT results_eq($$ SELECT target, provider, kind, action, dedup_key, attempts,
                            alerts -> 0 ->> 'event', (alerts -> 0 ->> 'alert_id')::bigint, jsonb_array_length(alerts),
                            alerts -> 0 ->> 'created_at'
                     FROM pg_temp.claim(ARRAY['slack']) $$,
                  $$ VALUES ('slack', 'slack', 'alert', 'trigger', 'k1', 1, 'payments.amount_mismatch', pg_temp.aid('k1'), 1,
                             '2030-09-01T00:00:00.000000Z') $$,
                  'a claim for slack leases its delivery with the alert');
SELECT is_empty($$ SELECT * FROM pg_temp.claim(ARRAY['slack']) $$, 'a target with a send in flight is not claimed');
SELECT results_eq($$ SELECT target FROM pg_temp.claim(ARRAY['slack', 'pagerduty', 'generic']) $$,
                  $$ VALUES ('pagerduty') $$, 'another target is claimed meanwhile');
SELECT throws_ok($$ SELECT * FROM api.claim_alert_deliveries(NULL) $$, 'SP422', 'invalid argument p_targets', 'no targets');
SELECT throws_ok($$ SELECT * FROM api.claim_alert_deliveries('{generic}', 0) $$, 'SP422', 'invalid argument p_limit',
                 'a limit of 0');

-- Ack: delivered; the alert settles when every target has it; the target sends again after its
-- provider's interval.
SELECT results_eq($$ SELECT state, changed, send_again_in FROM api.ack_alert_delivery(pg_temp.did('k1', 'slack'), 1) $$,
                  $$ VALUES ('delivered', true, 1::double precision) $$, 'ack delivers; slack may send again in 1 s');
SELECT is(pg_temp.astate('k1'), 'pending', 'the alert waits for its other target');
SELECT results_eq($$ SELECT state, changed FROM api.ack_alert_delivery(pg_temp.did('k1', 'slack'), 1) $$,
                  $$ VALUES ('delivered', false) $$, 'a second ack changes nothing');
SELECT results_eq($$ SELECT state, changed, send_again_in FROM api.ack_alert_delivery(pg_temp.did('k1', 'pagerduty'), 1) $$,
                  $$ VALUES ('delivered', true, 0.5::double precision) $$, 'pagerduty delivered; it may send again in 0.5 s');
SELECT results_eq($$ SELECT state, delivered_at FROM ops.alert_outbox WHERE dedup_key = 'k1' $$,
                  $$ VALUES ('delivered', '2030-09-01 00:02:00+00'::timestamptz) $$, 'delivered to every target: the alert is delivered');
SELECT throws_ok($$ SELECT * FROM api.ack_alert_delivery(-1, 1) $$, 'SP404', 'alert delivery not found', 'an unknown delivery');
SELECT throws_ok($$ SELECT * FROM api.ack_alert_delivery(pg_temp.did('k1', 'slack'), 0) $$, 'SP422',
                 'invalid argument p_attempt', 'an attempt of 0');

-- Spacing: slack's next send 1 s after the last ended.
SELECT api.route_alert(pg_temp.aid('k2'), ARRAY['slack']);
SELECT is_empty($$ SELECT * FROM pg_temp.claim(ARRAY['slack']) $$, 'within slack''s interval nothing is claimed');
UPDATE ops.clock SET frozen_at = '2030-09-01 00:02:01+00';
SELECT results_eq($$ SELECT dedup_key FROM pg_temp.claim(ARRAY['slack']) $$, $$ VALUES ('k2') $$,
                  'after the interval the next delivery is claimed');

-- Fail with a retry, with a Retry-After on the target, from a stale attempt, and for good.
SELECT results_eq($$ SELECT state, changed, next_attempt_at, fallbacks, send_again_in
                     FROM api.fail_alert_delivery(pg_temp.did('k2', 'slack'), 1, 'HTTP 429 from Slack', 30, NULL, 5) $$,
                  $$ VALUES ('pending', true, '2030-09-01 00:02:31+00'::timestamptz, 0, 5::double precision) $$,
                  'a failure with a retry stays pending; Retry-After holds the target');
SELECT results_eq($$ SELECT failures, last_error, claimed_until FROM ops.alert_deliveries WHERE delivery_id = pg_temp.did('k2', 'slack') $$,
                  $$ VALUES (1, 'HTTP 429 from Slack', NULL::timestamptz) $$, 'the failure is recorded');
UPDATE ops.clock SET frozen_at = '2030-09-01 00:02:30+00';
SELECT is_empty($$ SELECT * FROM pg_temp.claim(ARRAY['slack']) $$, 'not claimable before its retry time');
UPDATE ops.clock SET frozen_at = '2030-09-01 00:02:31+00';
SELECT results_eq($$ SELECT dedup_key, attempts FROM pg_temp.claim(ARRAY['slack']) $$, $$ VALUES ('k2', 2) $$,
                  'claimable again at its retry time');
SELECT results_eq($$ SELECT state, changed FROM api.fail_alert_delivery(pg_temp.did('k2', 'slack'), 1, 'late', NULL) $$,
                  $$ VALUES ('pending', false) $$, 'a failure from an attempt whose lease ran out changes nothing');
SELECT results_eq($$ SELECT state, changed, fallbacks FROM api.fail_alert_delivery(pg_temp.did('k2', 'slack'), 2,
                                                                                  'HTTP 404 channel_not_found', NULL, 'generic') $$,
                  $$ VALUES ('dead', true, 1) $$, 'a permanent failure is dead and falls back');
SELECT results_eq($$ SELECT target, state, fallback_for FROM ops.alert_deliveries WHERE alert_id = pg_temp.aid('k2') ORDER BY delivery_id $$,
                  $$ VALUES ('slack', 'dead', NULL::bigint), ('generic', 'pending', pg_temp.did('k2', 'slack')) $$,
                  'the fallback is a delivery of its own to the generic webhook');
SELECT is(pg_temp.astate('k2'), 'pending', 'the alert waits for its fallback');
SELECT results_eq($$ SELECT target, attempts FROM pg_temp.claim(ARRAY['generic']) $$, $$ VALUES ('generic', 1) $$,
                  'the fallback is claimed');
SELECT api.ack_alert_delivery(pg_temp.did('k2', 'generic'), 1);
SELECT is(pg_temp.astate('k2'), 'delivered', 'delivered through the fallback: the alert is delivered');
SELECT throws_ok($$ SELECT * FROM api.fail_alert_delivery(pg_temp.did('k2', 'slack'), 2, '', NULL) $$,
                 'SP422', 'invalid argument p_error', 'a failure without an error text');
SELECT throws_ok($$ SELECT * FROM api.fail_alert_delivery(pg_temp.did('k2', 'slack'), 2, 'x', -1) $$,
                 'SP422', 'invalid argument p_retry_in', 'a negative retry');
SELECT throws_ok($$ SELECT * FROM api.fail_alert_delivery(pg_temp.did('k2', 'slack'), 2, 'x', 1, 'https://example.org') $$,
                 'SP422', 'invalid argument p_fallback', 'a fallback that is not a target name');
SELECT throws_ok($$ SELECT * FROM api.fail_alert_delivery(-1, 1, 'x', NULL) $$, 'SP404', 'alert delivery not found',
                 'an unknown delivery fails');

-- Dead without a fallback: the alert is dead; an operator retries it.
UPDATE ops.clock SET frozen_at = '2030-09-01 00:03:00+00';
SELECT ops.raise_alert('jobs.stale', 'error', 'stale', '{"job": "expire"}', 'k3');
SELECT api.route_alert(pg_temp.aid('k3'), ARRAY['generic']);
SELECT results_eq($$ SELECT dedup_key FROM pg_temp.claim(ARRAY['generic']) $$, $$ VALUES ('k3') $$, 'k3 is claimed');
SELECT results_eq($$ SELECT state FROM api.fail_alert_delivery(pg_temp.did('k3', 'generic'), 1, 'gave up', NULL) $$,
                  $$ VALUES ('dead') $$, 'no retry: dead');
SELECT results_eq($$ SELECT state, dead_at FROM ops.alert_outbox WHERE dedup_key = 'k3' $$,
                  $$ VALUES ('dead', '2030-09-01 00:03:00+00'::timestamptz) $$, 'its only target is dead: the alert is dead');
SELECT results_eq($$ SELECT alert_id, state, deliveries -> 0 ->> 'target', deliveries -> 0 ->> 'last_error'
                     FROM api.list_alerts('dead') $$,
                  $$ VALUES (pg_temp.aid('k3'), 'dead', 'generic', 'gave up') $$, 'the dead alerts are listed with their deliveries');
SELECT throws_ok($$ SELECT * FROM api.list_alerts('lost') $$, 'SP422', 'invalid argument p_state', 'an unknown state');
SELECT throws_ok($$ SELECT * FROM api.retry_alert(pg_temp.aid('k1'), 'ops-anna') $$, 'SP409', 'alert is not dead',
                 'a delivered alert is not retried');
SELECT throws_ok($$ SELECT * FROM api.retry_alert(-1, 'ops-anna') $$, 'SP404', 'alert not found', 'an unknown alert');
SELECT results_eq($$ SELECT state, deliveries FROM api.retry_alert(pg_temp.aid('k3'), 'ops-anna', 'webhook fixed') $$,
                  $$ VALUES ('pending', 1) $$, 'a dead alert is retried');
SELECT results_eq($$ SELECT state, attempts, next_attempt_at FROM ops.alert_deliveries WHERE delivery_id = pg_temp.did('k3', 'generic') $$,
                  $$ VALUES ('pending', 0, '2030-09-01 00:03:00+00'::timestamptz) $$, 'its delivery goes again with fresh attempts');
SELECT results_eq($$ SELECT actor, reason, details ->> 'deliveries' FROM ops.audit_log WHERE action = 'ops.alert_retried' $$,
                  $$ VALUES ('ops-anna', 'webhook fixed', '1') $$, 'the retry is audited');
SELECT results_eq($$ SELECT dedup_key, attempts FROM pg_temp.claim(ARRAY['generic']) $$, $$ VALUES ('k3', 1) $$,
                  'the retried delivery is claimed');
SELECT api.fail_alert_delivery(pg_temp.did('k3', 'generic'), 1, 'down again', NULL);
UPDATE ops.clock SET frozen_at = '2030-09-01 00:14:00+00';
SELECT isnt(ops.raise_alert('jobs.stale', 'error', 'stale again', '{"job": "expire"}', 'k3'), NULL,
            'the condition is raised again after the dedup window');
SELECT throws_ok($$ SELECT * FROM api.retry_alert((SELECT min(alert_id) FROM ops.alert_outbox WHERE dedup_key = 'k3'), 'ops-anna') $$,
                 'SP409', 'an alert with this dedup key is pending', 'a dead alert whose key is pending again is not retried');

-- Summaries: more than ops.alert_overflow_after waiting for one target go out as one.
SELECT api.set_setting('ops.alert_overflow_after', '2', 'test');
SELECT ops.raise_alert('payments.unknown_purchase', 'critical', 'burst ' || i, '{}', 'burst-' || i) FROM generate_series(1, 3) AS i;
SELECT api.route_alert(pg_temp.aid('burst-' || i), ARRAY['pagerduty'], 100) FROM generate_series(1, 3) AS i;
SELECT results_eq($$ SELECT kind, action, dedup_key = 'ops.alerts_summarized:' || delivery_id, attempts, jsonb_array_length(alerts),
                            alerts -> 2 ->> 'dedup_key'
                     FROM pg_temp.claim(ARRAY['pagerduty']) $$,
                  $$ VALUES ('summary', 'trigger', true, 1, 3, 'burst-3') $$, 'three waiting (more than 2): one summary of three');
SELECT is((SELECT count(*) FROM ops.alert_deliveries WHERE summary_id = (SELECT max(delivery_id) FROM claimed)), 3::bigint,
          'each alert is a member of the summary');
SELECT results_eq($$ SELECT state, changed FROM api.ack_alert_delivery((SELECT max(delivery_id) FROM claimed), 1) $$,
                  $$ VALUES ('delivered', true) $$, 'the summary is delivered');
SELECT is_empty($$ SELECT * FROM ops.alert_outbox WHERE dedup_key LIKE 'burst-%' AND state <> 'delivered' $$,
                'and with it every alert it carried');
SELECT results_eq($$ SELECT delivered, summaries FROM ops.alert_targets WHERE target = 'pagerduty' $$,
                  $$ VALUES (4::bigint, 1::bigint) $$, 'the target counts alerts delivered and summaries sent');

-- Flood control: two of an event per repeat interval at once, the rest at its end, together.
UPDATE ops.clock SET frozen_at = '2030-09-01 00:20:00+00';
SELECT api.set_setting('ops.alert_overflow_after', '10', 'test');
SELECT ops.raise_alert('payments.duplicate_payment', 'critical', 'flood ' || i, '{}', 'flood-' || i) FROM generate_series(1, 4) AS i;
SELECT results_eq($$ SELECT r.held_until FROM generate_series(1, 4) AS i,
                            api.route_alert(pg_temp.aid('flood-' || i), ARRAY['generic'], 2, '10 minutes') AS r ORDER BY i $$,
                  $$ VALUES (NULL::timestamptz), (NULL), ('2030-09-01 00:30:00+00'::timestamptz), ('2030-09-01 00:30:00+00') $$,
                  'the third and fourth of the event in its window are held to the window''s end');
SELECT results_eq($$ SELECT hold_reason, next_attempt_at FROM ops.alert_deliveries WHERE delivery_id = pg_temp.did('flood-3', 'generic') $$,
                  $$ VALUES ('flood', '2030-09-01 00:30:00+00'::timestamptz) $$, 'held for flood control');
SELECT results_eq($$ SELECT dedup_key FROM pg_temp.claim(ARRAY['generic']) $$, $$ VALUES ('flood-1') $$, 'the first goes');
SELECT api.ack_alert_delivery(pg_temp.did('flood-1', 'generic'), 1);
SELECT results_eq($$ SELECT dedup_key FROM pg_temp.claim(ARRAY['generic']) $$, $$ VALUES ('flood-2') $$,
                  'the second goes (the generic webhook has no interval)');
SELECT api.ack_alert_delivery(pg_temp.did('flood-2', 'generic'), 1);
SELECT is_empty($$ SELECT * FROM pg_temp.claim(ARRAY['generic']) $$, 'the held ones wait');
SELECT results_eq($$ SELECT held FROM api.get_alert_metrics() WHERE target = 'generic' $$, $$ VALUES (2::bigint) $$,
                  'metrics show them held');
UPDATE ops.clock SET frozen_at = '2030-09-01 00:30:00+00';
SELECT results_eq($$ SELECT kind, jsonb_array_length(alerts) FROM pg_temp.claim(ARRAY['generic']) $$,
                  $$ VALUES ('summary', 2) $$, 'at the window''s end the held ones go as one summary');
SELECT results_eq($$ SELECT r.held_until FROM api.route_alert(
                         (SELECT api.raise_test_alert('payments.duplicate_payment', 'critical', 'ops-anna')), ARRAY['slack'], 1) AS r $$,
                  $$ VALUES (NULL::timestamptz) $$, 'a test alert is never held');
SELECT results_eq($$ SELECT r.held_until FROM api.route_alert(ops.raise_alert('payments.duplicate_payment', 'critical', 'flood 5', '{}', 'flood-5'),
                                                               ARRAY['slack'], 2, '10 minutes') AS r $$,
                  $$ VALUES (NULL::timestamptz) $$, 'a new window starts after the last one ended');

-- Maintenance window: pages held while it lasts, other targets deliver.
SELECT throws_ok($$ SELECT * FROM api.set_setting('ops.alert_maintenance_until', '2030-09-01 02:00', 'ops-anna') $$,
                 'SP422', 'invalid argument p_value', 'a window end without an offset is refused');
SELECT throws_ok($$ SELECT * FROM api.set_setting('ops.alert_maintenance_until', 'tomorrow', 'ops-anna') $$,
                 'SP422', 'invalid argument p_value', 'a relative time is refused');
SELECT results_eq($$ SELECT changed FROM api.set_setting('ops.alert_maintenance_until', '2030-09-01 02:00+02', 'ops-anna', 'db upgrade') $$,
                  $$ VALUES (true) $$, 'a window until 00:00 UTC is set');
SELECT is(ops.setting_timestamptz('ops.alert_maintenance_until'), '2030-09-01 00:00:00+00'::timestamptz,
          'read back as the same instant');
SELECT api.set_setting('ops.alert_maintenance_until', '2030-09-01 01:00:00Z', 'ops-anna', 'db upgrade');
SELECT ops.raise_alert('payments.unknown_charge', 'critical', 'in maintenance', '{}', 'maint-1');
SELECT api.route_alert(pg_temp.aid('maint-1'), ARRAY['pagerduty', 'generic']);
SELECT results_eq($$ SELECT target, hold_reason FROM ops.alert_deliveries WHERE alert_id = pg_temp.aid('maint-1') ORDER BY target $$,
                  $$ VALUES ('generic', NULL::text), ('pagerduty', 'maintenance') $$, 'the page is held, the webhook is not');
UPDATE ops.alert_targets SET next_send_at = '-infinity', busy_with = NULL, busy_attempt = NULL;
SELECT results_eq($$ SELECT target FROM pg_temp.claim(ARRAY['pagerduty', 'generic', 'slack']) ORDER BY target $$,
                  $$ VALUES ('generic'), ('slack') $$, 'during the window pagerduty sends nothing');
SELECT results_eq($$ SELECT held FROM api.get_alert_metrics() WHERE target = 'pagerduty' $$, $$ VALUES (1::bigint) $$,
                  'the held page shows in the metrics');
SELECT api.set_setting('ops.alert_maintenance_until', '-infinity', 'ops-anna', 'done early');
SELECT results_eq($$ SELECT target, dedup_key FROM pg_temp.claim(ARRAY['pagerduty']) $$,
                  $$ VALUES ('pagerduty', 'maint-1') $$, 'ending the window early releases the page');

-- Resolves: raised once per trigger, naming its dedup key; sent after the trigger.
UPDATE ops.clock SET frozen_at = '2030-09-01 00:40:00+00';
SELECT is(ops.resolve_alert('jobs.stale', '{"job": "nothing-open"}', 'fresh'), NULL, 'nothing open: no resolve');
SELECT isnt(ops.raise_alert('jobs.stale', 'error', 'stale', '{"job": "rollover"}', 'jobs.stale:rollover'), NULL, 'a trigger');
SELECT isnt(ops.resolve_alert('jobs.stale', '{"job": "rollover"}', 'rollover succeeded again'), NULL, 'its resolve');
SELECT results_eq($$ SELECT action, severity, resolves, dedup_key, details ->> 'job' FROM ops.alert_outbox
                     WHERE action = 'resolve' AND resolves = 'jobs.stale:rollover' $$,
                  $$ VALUES ('resolve', 'error', 'jobs.stale:rollover', 'resolve:' || pg_temp.aid('jobs.stale:rollover'), 'rollover') $$,
                  'the resolve names the trigger''s dedup key');
SELECT is(ops.resolve_alert('jobs.stale', '{"job": "rollover"}', 'again'), NULL, 'a trigger is resolved once');
SELECT api.route_alert(pg_temp.aid('jobs.stale:rollover'), ARRAY['slack:ops']);
SELECT results_eq($$ SELECT deliveries FROM api.route_alert(pg_temp.aid('resolve:' || pg_temp.aid('jobs.stale:rollover')), ARRAY['slack:ops']) $$,
                  $$ VALUES (1) $$, 'the resolve is routed like its trigger');
SELECT results_eq($$ SELECT action, dedup_key FROM ops.alert_deliveries
                     WHERE alert_id = pg_temp.aid('resolve:' || pg_temp.aid('jobs.stale:rollover')) $$,
                  $$ VALUES ('resolve', 'jobs.stale:rollover') $$, 'its delivery carries the trigger''s key');
SELECT results_eq($$ SELECT action FROM pg_temp.claim(ARRAY['slack:ops']) $$, $$ VALUES ('trigger') $$, 'the trigger goes first');
SELECT api.fail_alert_delivery(pg_temp.did('jobs.stale:rollover', 'slack:ops'), 1, 'HTTP 503', 0);
UPDATE ops.clock SET frozen_at = '2030-09-01 00:40:01+00';
SELECT results_eq($$ SELECT action FROM pg_temp.claim(ARRAY['slack:ops']) $$, $$ VALUES ('trigger') $$,
                  'while the trigger is pending, its resolve waits (the trigger is retried first)');
SELECT api.ack_alert_delivery(pg_temp.did('jobs.stale:rollover', 'slack:ops'), 2);
UPDATE ops.clock SET frozen_at = '2030-09-01 00:40:02+00';
SELECT results_eq($$ SELECT action, dedup_key FROM pg_temp.claim(ARRAY['slack:ops']) $$,
                  $$ VALUES ('resolve', 'jobs.stale:rollover') $$, 'then the resolve goes');

-- Test alerts, settings, metrics, the domain checks.
SELECT results_eq($$ SELECT event, severity, details FROM ops.alert_outbox WHERE details ? 'test' $$,
                  $$ VALUES ('payments.duplicate_payment', 'critical', '{"test": true, "actor": "ops-anna"}'::jsonb) $$,
                  'a test alert is marked in its details');
SELECT throws_ok($$ SELECT api.raise_test_alert('Not An Event', 'critical', 'ops-anna') $$, 'SP422',
                 'invalid argument p_event', 'a test alert needs an event name');
SELECT throws_ok($$ SELECT api.raise_test_alert('jobs.failed', 'fatal', 'ops-anna') $$, 'SP422',
                 'invalid argument p_severity', 'and a severity');
SELECT throws_ok($$ SELECT api.raise_test_alert('jobs.failed', 'error', '') $$, 'SP422',
                 'invalid argument p_actor', 'and an actor');
SELECT results_eq($$ SELECT target, provider, delivered, failed, dead FROM api.get_alert_metrics() ORDER BY target $$,
                  $$ VALUES ('generic', 'generic', 3::bigint, 2::bigint, 2::bigint),
                            ('pagerduty', 'pagerduty', 4::bigint, 0::bigint, 0::bigint),
                            ('slack', 'slack', 1::bigint, 2::bigint, 1::bigint),
                            ('slack:ops', 'slack', 1::bigint, 1::bigint, 0::bigint) $$,
                  'per target: alerts delivered, failed sends, dead deliveries');
SELECT throws_ok($$ UPDATE ops.alert_outbox SET state = 'delivered' WHERE dedup_key = 'k2' AND state <> 'delivered' OR dedup_key = 'k3' $$,
                 '23514', NULL, 'a state without its timestamp is refused by the table');
SELECT throws_ok($$ INSERT INTO ops.alert_targets (target) VALUES ('https://hooks.slack.com/x') $$, '23514', NULL,
                 'a target is a name, never a URL');
SELECT * FROM finish();
ROLLBACK;
