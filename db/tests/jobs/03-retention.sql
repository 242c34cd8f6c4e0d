-- api.prune_history: what retention deletes and what it keeps, per table, with the injectable
-- clock: the attempts' windows plus retention.promo_attempts, delivered alerts after
-- retention.delivered_alerts (never an open trigger, a dead alert or a pending delivery), job runs
-- after retention.job_runs; batches, reruns, the cursor, and the delete guards on the
-- append-only tables.
BEGIN;
SELECT plan(42);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-01-01 00:00:00+00';
SELECT api.touch_user(u, 'user' || u, 'User', 'de') FROM generate_series(8001, 8004) AS u;
INSERT INTO camp VALUES ('keep', api.create_promo_code('KEEPME', 'PREMIUM_GRANT', 'retention', p_grant_days => 30));

CREATE FUNCTION pg_temp.attempts(p_user bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT count(*) FROM promo.promo_attempts WHERE user_id = p_user $$;
CREATE FUNCTION pg_temp.at(p_when text) RETURNS void
LANGUAGE sql AS $$ UPDATE ops.clock SET frozen_at = p_when::timestamptz $$;

-- =============================================================================================
-- Attempts (windows: throttle 24 h, block 60 min, guard 10 min; retention 30 days: 31 days)
INSERT INTO res SELECT 'grant', * FROM api.redeem_promo_code(8001, 'KEEPME', 'ret-grant');
INSERT INTO res SELECT 'replay', * FROM api.redeem_promo_code(8001, 'KEEPME', 'ret-grant');
SELECT api.redeem_promo_code(8002, 'NOPE' || n, 'ret-nope-' || n) FROM generate_series(1, 3) AS n;
SELECT is((SELECT replayed FROM res WHERE label = 'replay'), true, 'the second call is a replay');
SELECT is(pg_temp.attempts(8001) + pg_temp.attempts(8002), 5::bigint, 'five attempts: a grant, its replay, three refusals');

SELECT throws_ok($$ SELECT api.prune_history(0) $$, 'SP422', 'invalid argument p_limit', 'a batch of 0 is refused');
SELECT throws_ok($$ SELECT api.prune_history(100001) $$, 'SP422', 'invalid argument p_limit', 'a batch over 100000 is refused');
SELECT is(promo.attempts_prunable_before(), '2029-12-01 00:00:00+00'::timestamptz,
          'attempts go 24 h (the longest window) + 30 days back');

SELECT pg_temp.at('2030-02-01 00:00:00+00');  -- 31 days later, to the second: not yet
SELECT is(api.prune_history(), 0, 'an attempt exactly at the boundary is kept');
SELECT throws_ok($$ DELETE FROM promo.promo_attempts WHERE user_id = 8002 $$, 'SP409',
                 'promo.promo_attempts is append-only until retention', 'a delete inside retention is refused');
SELECT throws_ok($$ UPDATE promo.promo_attempts SET counted = counted WHERE user_id = 8002 $$, 'SP409',
                 'promo.promo_attempts is append-only', 'an update is refused, retention or not');

SELECT pg_temp.at('2030-02-01 00:00:01+00');
CREATE TEMP TABLE scanned AS SELECT max(attempt_id) AS last_id FROM promo.promo_attempts;
SELECT is(api.prune_history(2), 1, 'past the boundary: a batch of 2 scans the kept grant and prunes its replay');
SELECT is(api.prune_history(), 3, 'the next run prunes the three refusals');
SELECT is(api.prune_history(), 0, 'a third run prunes nothing');
SELECT is(pg_temp.attempts(8002), 0::bigint, 'the refusals are gone');
SELECT results_eq($$ SELECT outcome, replayed FROM promo.promo_attempts WHERE user_id = 8001 $$,
                  $$ VALUES ('APPLIED'::text, false) $$, 'the grant''s binding attempt stays, its replay went');
SELECT throws_like($$ DELETE FROM promo.promo_attempts WHERE user_id = 8001 $$,
                   '%append-only until retention%', 'a binding attempt of a redemption cannot be deleted at all');
SELECT is((SELECT scanned_to FROM ops.prune_cursors WHERE name = 'promo.promo_attempts'),
          (SELECT last_id FROM scanned), 'the cursor is at the last attempt scanned');
SELECT is(api.redeem_promo_code(8001, 'KEEPME', 'ret-grant'),
          (SELECT r FROM api.redeem_promo_code(8001, 'KEEPME', 'ret-grant') AS r),
          'the key still replays (ops.idempotency_keys is not pruned)');

-- A batch stops at the first attempt that is not old enough, and resumes there later.
SELECT pg_temp.at('2030-03-01 00:00:00+00');
SELECT api.redeem_promo_code(8003, 'OLD' || n, 'ret-old-' || n) FROM generate_series(1, 2) AS n;
SELECT pg_temp.at('2030-03-20 00:00:00+00');
SELECT api.redeem_promo_code(8003, 'NEW', 'ret-new-1');
SELECT pg_temp.at('2030-04-01 00:00:01+00');  -- the two of 03-01 are past, the one of 03-20 is not
SELECT is(api.prune_history(), 4, 'the old two are pruned, and the two replays of 02-01');
SELECT is(pg_temp.attempts(8003), 1::bigint, 'the newer one stays');
SELECT pg_temp.at('2030-04-20 00:00:01+00');
SELECT is(api.prune_history(), 1, 'and goes once it is past too');
SELECT is_empty($$ SELECT * FROM api.check_invariants() $$, 'invariants hold after pruning attempts');

-- =============================================================================================
-- Alerts (retention.delivered_alerts 14 days)
SELECT pg_temp.at('2030-05-01 00:00:00+00');
CREATE FUNCTION pg_temp.alert(p_key text, p_state text, p_action text DEFAULT 'trigger') RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO ops.alert_outbox (event, severity, summary, dedup_key, created_at, next_attempt_at, state,
                                  delivered_at, dead_at, action, resolves, routed_at)
    VALUES ('test.retention', 'error', 'retention ' || p_key, CASE p_action WHEN 'trigger' THEN p_key ELSE 'resolve:' || p_key END,
            ops.now(), ops.now(), p_state, CASE p_state WHEN 'delivered' THEN ops.now() END,
            CASE p_state WHEN 'dead' THEN ops.now() END, p_action,
            CASE p_action WHEN 'resolve' THEN p_key END, ops.now())
    RETURNING alert_id
$$;
CREATE FUNCTION pg_temp.delivery(p_alert bigint, p_target text, p_state text) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO ops.alert_deliveries (alert_id, target, dedup_key, state, created_at, next_attempt_at, delivered_at)
    SELECT p_alert, p_target, a.dedup_key, p_state, ops.now(), ops.now(), CASE p_state WHEN 'delivered' THEN ops.now() END
    FROM ops.alert_outbox AS a WHERE a.alert_id = p_alert
    RETURNING delivery_id
$$;
INSERT INTO ops.alert_targets (target) VALUES ('slack:ops'), ('pagerduty:ops') ON CONFLICT DO NOTHING;
CREATE TEMP TABLE al (label text PRIMARY KEY, id bigint);
INSERT INTO al VALUES
    ('closed',     pg_temp.alert('k-closed', 'delivered')),
    ('resolve',    pg_temp.alert('k-closed', 'delivered', 'resolve')),
    ('open',       pg_temp.alert('k-open', 'delivered')),
    ('pending',    pg_temp.alert('k-pending', 'delivered')),
    ('pending-r',  pg_temp.alert('k-pending', 'delivered', 'resolve')),
    ('dead',       pg_temp.alert('k-dead', 'dead')),
    ('superseded', pg_temp.alert('k-again', 'delivered')),
    ('newest',     pg_temp.alert('k-again', 'delivered'));
SELECT pg_temp.delivery(id, 'slack:ops', 'delivered') FROM al;
SELECT pg_temp.delivery(id, 'pagerduty:ops', 'delivered') FROM al WHERE label = 'closed';
SELECT pg_temp.delivery(id, 'pagerduty:ops', 'pending') FROM al WHERE label = 'pending';
INSERT INTO ops.alert_deliveries (kind, target, state, created_at, next_attempt_at, delivered_at)
VALUES ('summary', 'slack:ops', 'delivered', ops.now(), ops.now(), ops.now());
CREATE FUNCTION pg_temp.kept() RETURNS SETOF text
LANGUAGE sql STABLE AS $$ SELECT label FROM al JOIN ops.alert_outbox AS a ON a.alert_id = al.id ORDER BY label $$;

SELECT pg_temp.at('2030-05-15 00:00:00+00');
SELECT is(api.prune_history(), 0, 'an alert delivered exactly 14 days ago is kept');
SELECT pg_temp.at('2030-05-15 00:00:01+00');
SELECT is(api.prune_history(), 4, 'past 14 days: a closed trigger, its resolve, a superseded trigger, a summary');
SELECT results_eq($$ SELECT pg_temp.kept() $$,
                  $$ VALUES ('dead'), ('newest'), ('open'), ('pending'), ('pending-r') $$,
                  'kept: the dead alert, the open triggers, the one with a pending delivery and its resolve');
SELECT is((SELECT count(*) FROM ops.alert_deliveries WHERE alert_id NOT IN (SELECT alert_id FROM ops.alert_outbox)),
          0::bigint, 'the pruned alerts'' deliveries went with them');
SELECT is((SELECT count(*) FROM ops.alert_deliveries WHERE kind = 'summary'), 0::bigint, 'the delivered summary went');
SELECT is(api.prune_history(), 0, 'a rerun prunes nothing');
SELECT is((SELECT count(*) FROM ops.alert_deliveries AS d JOIN al ON al.id = d.alert_id), 6::bigint,
          'the kept alerts keep every delivery (one each, two for the pending one)');

UPDATE ops.alert_deliveries SET state = 'delivered', delivered_at = ops.now(), claimed_until = NULL
WHERE alert_id = (SELECT id FROM al WHERE label = 'pending') AND state = 'pending';
SELECT is(api.prune_history(), 0, 'a delivery just delivered restarts the 14 days');
SELECT pg_temp.at('2030-05-29 00:00:02+00');
SELECT is(api.prune_history(), 2, 'then the trigger goes, and its resolve after it');
SELECT results_eq($$ SELECT pg_temp.kept() $$, $$ VALUES ('dead'), ('newest'), ('open') $$,
                  'the dead alert and the open triggers stay for ever');

-- =============================================================================================
-- Job runs by hand (retention.job_runs 90 days)
-- (ops.record_job_run stamps finished_at with the real clock: rows of the test clock's time here)
INSERT INTO ops.job_runs (job_name, actor, started_at, finished_at, status, result) VALUES
    ('expire_promo_reservations', 'ops:anna', '2030-06-01 00:00:00+00', '2030-06-01 00:00:00+00', 'succeeded', 3),
    ('expire_promo_reservations', 'ops:anna', '2030-08-01 00:00:00+00', '2030-08-01 00:00:00+00', 'succeeded', 0);
SELECT pg_temp.at('2030-08-01 00:00:00+00');
SELECT throws_ok($$ DELETE FROM ops.job_runs $$, 'SP409', 'ops.job_runs is append-only until retention',
                 'a job run inside retention cannot be deleted');
SELECT throws_ok($$ UPDATE ops.job_runs SET result = 1 $$, 'SP409', 'ops.job_runs is append-only',
                 'a job run is never updated');
SELECT pg_temp.at('2030-08-30 00:00:01+00');
SELECT is(api.prune_history(), 1, 'the run of 90 days and a second ago goes');
SELECT is((SELECT count(*) FROM ops.job_runs), 1::bigint, 'the recent one stays');

-- =============================================================================================
-- Kept for ever, whatever the clock
SELECT pg_temp.at('2040-01-01 00:00:00+00');
SELECT lives_ok($$ SELECT api.prune_history() $$, 'ten years later');
SELECT is((SELECT count(*) FROM promo.promo_redemptions WHERE user_id = 8001), 1::bigint, 'the redemption stays');
SELECT is((SELECT count(*) FROM billing.ledger WHERE user_id = 8001), 1::bigint, 'its ledger entry stays');
SELECT ok((SELECT count(*) FROM ops.audit_log) > 0, 'the audit log stays');
SELECT results_eq($$ SELECT pg_temp.kept() $$, $$ VALUES ('dead'), ('newest'), ('open') $$, 'the open and dead alerts stay');
SELECT is_empty($$ SELECT * FROM api.check_invariants() $$, 'invariants hold after every prune');

-- The jobs role may run it; the service's role may not.
SELECT ok(has_function_privilege('starpass_jobs', 'api.prune_history(integer)', 'EXECUTE'), 'starpass_jobs runs the job');
SELECT ok(NOT has_function_privilege('starpass_app', 'api.prune_history(integer)', 'EXECUTE'), 'starpass_app does not');

SELECT * FROM finish();
ROLLBACK;
