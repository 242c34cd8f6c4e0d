-- The jobs api.expire_promo_reservations and api.rollover_promo_campaigns, with the injectable
-- clock: boundaries (reserved_until, pre-checkout grace, ends_at), counts, batches, reruns.
BEGIN;
SELECT plan(48);
\ir ../helpers.psql

SET LOCAL promo.pepper = 'test-pepper-0123456789-0123456789-abcdef';
UPDATE ops.clock SET frozen_at = '2030-08-01 00:00:00+00';

SELECT api.touch_user(u, 'user' || u, 'User', 'de') FROM generate_series(7001, 7010) AS u;
SELECT api.touch_user(u, 'user' || u, 'User', 'de') FROM generate_series(7101, 7110) AS u;

CREATE FUNCTION pg_temp.rstatus(p_label text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT status FROM promo.promo_redemptions WHERE promo_redemption_id = pg_temp.rid(p_label)
$$;
CREATE FUNCTION pg_temp.held(p_name text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT sum(held)::bigint FROM promo.capacity_slots WHERE promo_code_id = pg_temp.cid(p_name)
$$;
CREATE FUNCTION pg_temp.used(p_name text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT sum(used)::bigint FROM promo.capacity_slots WHERE promo_code_id = pg_temp.cid(p_name)
$$;
CREATE FUNCTION pg_temp.cstatus(p_name text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT status FROM promo.promo_codes WHERE promo_code_id = pg_temp.cid(p_name) $$;
CREATE TEMP TABLE pur (label text PRIMARY KEY, purchase_id bigint, invoice_payload text, price_stars integer);
CREATE FUNCTION pg_temp.open_purchase(p_label text, p_user bigint, p_rid bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO pur SELECT p_label, i.purchase_id, i.invoice_payload, i.price_stars
    FROM api.init_purchase(p_user, 'premium_30d', p_rid, 'init-key-' || p_label) AS i
$$;
CREATE FUNCTION pg_temp.precheckout(p_label text, p_user bigint) RETURNS boolean
LANGUAGE sql AS $$
    SELECT p.ok FROM pur, api.precheckout_purchase(p_user, pur.invoice_payload, 'XTR', pur.price_stars) AS p
    WHERE pur.label = p_label
$$;
CREATE FUNCTION pg_temp.pay(p_label text, p_user bigint) RETURNS text
LANGUAGE sql AS $$
    SELECT c.outcome FROM pur,
        api.complete_purchase(p_user, pur.invoice_payload, 'charge-key-' || p_label, 'XTR', pur.price_stars) AS c
    WHERE pur.label = p_label
$$;

-- =============================================================================================
-- api.expire_promo_reservations (reservation_ttl 15 min, precheckout_grace 5 min)
INSERT INTO camp VALUES
    ('two',  api.create_promo_code('JOBS-EXPIRE-TWO', 'PERCENT_DISCOUNT', 'expiry two', p_discount_percent => 20,
                                   p_max_uses => 2)),
    ('many', api.create_promo_code('JOBS-EXPIRE-MANY', 'PERCENT_DISCOUNT', 'expiry many', p_discount_percent => 10,
                                   p_max_uses => 100));

-- 00:00 four holds until 00:15.
SELECT pg_temp.reserve('a', 7001, 'JOBS-EXPIRE-TWO');
SELECT pg_temp.reserve('b', 7002, 'JOBS-EXPIRE-TWO');
SELECT pg_temp.reserve('grace', 7003, 'JOBS-EXPIRE-MANY');
SELECT pg_temp.reserve('paid', 7004, 'JOBS-EXPIRE-MANY');
SELECT is((api.redeem_promo_code(7005, 'JOBS-EXPIRE-TWO', 'rsv-full-7005')).outcome, 'DEPLETED',
          'both units of the two-unit campaign are held');
SELECT pg_temp.open_purchase('grace', 7003, pg_temp.rid('grace'));
SELECT pg_temp.open_purchase('paid', 7004, pg_temp.rid('paid'));
SELECT ok(pg_temp.precheckout('paid', 7004), 'pre-checkout of the purchase that will be paid late');

SELECT throws_ok($$ SELECT api.expire_promo_reservations(0) $$, 'SP422', 'invalid argument p_limit',
                 'a batch of 0 is refused');
SELECT is(api.expire_promo_reservations(), 0, 'nothing to expire while every hold is live');

-- 00:12 pre-checkout extends the hold to 00:17.
UPDATE ops.clock SET frozen_at = '2030-08-01 00:12:00+00';
SELECT ok(pg_temp.precheckout('grace', 7003), 'pre-checkout at 00:12');
SELECT is((SELECT reserved_until FROM promo.promo_redemptions WHERE promo_redemption_id = pg_temp.rid('grace')),
          '2030-08-01 00:17:00+00'::timestamptz, 'the hold is extended by the 5-minute grace');

-- 00:14:59: one second before reserved_until.
UPDATE ops.clock SET frozen_at = '2030-08-01 00:14:59+00';
SELECT is(api.expire_promo_reservations(), 0, 'one second before reserved_until nothing expires');
SELECT is(pg_temp.rstatus('a'), 'RESERVED', 'the hold is still RESERVED a second before its end');

-- 00:15:00: exactly at reserved_until. The late payment comes first: its hold ran out, the job
-- has not run, so the reservation is consumed (the user was promised the price).
UPDATE ops.clock SET frozen_at = '2030-08-01 00:15:00+00';
SELECT is(pg_temp.pay('paid', 7004), 'PAID', 'a payment right at the end of the hold');
SELECT is(pg_temp.rstatus('paid'), 'CONSUMED', 'its reservation is CONSUMED');
SELECT is(pg_temp.held('two'), 2::bigint, 'two units held before the job runs');
SELECT is(api.expire_promo_reservations(1), 1, 'exactly at reserved_until: expired, one per batch of 1');
SELECT is((SELECT count(*) FROM promo.promo_redemptions
           WHERE promo_redemption_id IN (pg_temp.rid('a'), pg_temp.rid('b')) AND status = 'EXPIRED'),
          1::bigint, 'the batch limit is respected: one of the two lapsed holds is EXPIRED');
SELECT is(pg_temp.held('two'), 1::bigint, 'its unit is released (held - 1)');
SELECT is(api.expire_promo_reservations(), 1, 'the next run expires the other one');
SELECT results_eq(
    $$ SELECT status, expired_at FROM promo.promo_redemptions
       WHERE promo_redemption_id IN (pg_temp.rid('a'), pg_temp.rid('b')) $$,
    $$ VALUES ('EXPIRED', '2030-08-01 00:15:00+00'::timestamptz), ('EXPIRED', '2030-08-01 00:15:00+00'::timestamptz) $$,
    'both lapsed holds are EXPIRED at the job''s time');
SELECT is(pg_temp.held('two'), 0::bigint, 'both units are released');
SELECT is(pg_temp.rstatus('grace'), 'RESERVED', 'the hold extended by pre-checkout is not expired');
SELECT is(pg_temp.rstatus('paid'), 'CONSUMED', 'the consumed reservation is never expired');
SELECT is(api.expire_promo_reservations(), 0, 'a second run changes nothing');
SELECT pg_temp.reserve('c', 7006, 'JOBS-EXPIRE-TWO');
SELECT is(pg_temp.rstatus('c'), 'RESERVED', 'a new user can reserve the released unit');
SELECT is(pg_temp.held('two'), 1::bigint, 'which holds one unit again');

-- The grace: not a second before 00:17, expired at 00:17.
UPDATE ops.clock SET frozen_at = '2030-08-01 00:16:59+00';
SELECT is(api.expire_promo_reservations(), 0, 'one second before the grace ends nothing expires');
UPDATE ops.clock SET frozen_at = '2030-08-01 00:17:00+00';
SELECT is(api.expire_promo_reservations(), 1, 'when the grace has passed the hold expires');
SELECT is(pg_temp.rstatus('grace'), 'EXPIRED', 'the extended reservation is EXPIRED');

-- Much later: the consumed one keeps its unit.
UPDATE ops.clock SET frozen_at = '2030-08-01 02:00:00+00';
SELECT is(api.expire_promo_reservations(), 1, 'the reservation taken at 00:15 expires later');
SELECT results_eq($$ SELECT pg_temp.rstatus('paid'), pg_temp.used('many'), pg_temp.held('many') $$,
                  $$ VALUES ('CONSUMED', 1::bigint, 0::bigint) $$,
                  'the consumed reservation stays CONSUMED with its unit used');

-- Several lapsed holds on one capacity slot are released together.
SELECT api.set_setting('promo.capacity_slots', '1', 'test', 'one slot');
INSERT INTO camp VALUES
    ('one-slot', api.create_promo_code('JOBS-EXPIRE-SLOT', 'PERCENT_DISCOUNT', 'expiry slot', p_discount_percent => 10,
                                       p_max_uses => 10));
SELECT pg_temp.reserve('s' || u, u, 'JOBS-EXPIRE-SLOT') FROM generate_series(7007, 7009) AS u;
SELECT results_eq($$ SELECT count(*), sum(held)::bigint FROM promo.capacity_slots WHERE promo_code_id = pg_temp.cid('one-slot') $$,
                  $$ VALUES (1::bigint, 3::bigint) $$, 'three holds on a single slot');
UPDATE ops.clock SET frozen_at = '2030-08-01 02:15:00+00';
SELECT is(api.expire_promo_reservations(), 3, 'all three lapsed holds of the slot expire in one run');
SELECT is(pg_temp.held('one-slot'), 0::bigint, 'the slot gives back all three units');

-- =============================================================================================
-- api.rollover_promo_campaigns
UPDATE ops.clock SET frozen_at = '2030-08-02 00:00:00+00';
INSERT INTO camp VALUES
    ('ends',      api.create_promo_code('JOBS-ROLL-ENDS', 'PREMIUM_GRANT', 'roll ends', p_grant_days => 1,
                                        p_ends_at => '2030-08-02 02:00:00+00')),
    ('paused',    api.create_promo_code('JOBS-ROLL-PAUSED', 'PREMIUM_GRANT', 'roll paused', p_grant_days => 1,
                                        p_ends_at => '2030-08-02 02:00:00+00')),
    ('grant1',    api.create_promo_code('JOBS-ROLL-GRANT1', 'PREMIUM_GRANT', 'roll grant1', p_grant_days => 1,
                                        p_max_uses => 1, p_ends_at => '2030-08-02 02:00:00+00')),
    ('disc1',     api.create_promo_code('JOBS-ROLL-DISC1', 'PERCENT_DISCOUNT', 'roll disc1', p_discount_percent => 20,
                                        p_max_uses => 1)),
    ('unlimited', api.create_promo_code('JOBS-ROLL-UNLIMITED', 'PREMIUM_GRANT', 'roll unlimited', p_grant_days => 1));
SELECT is((SELECT changed FROM api.set_promo_campaign_status(pg_temp.cid('paused'), 'PAUSED', 'ops-test', 'hold on')),
          true, 'one campaign is paused by an operator');
SELECT is((api.redeem_promo_code(7101, 'JOBS-ROLL-GRANT1', 'roll-7101-a')).outcome, 'APPLIED',
          'the single use of grant1');
SELECT is((api.redeem_promo_code(7102, 'JOBS-ROLL-UNLIMITED', 'roll-7102-a')).outcome, 'APPLIED', 'an unlimited use');
SELECT is((api.redeem_promo_code(7103, 'JOBS-ROLL-UNLIMITED', 'roll-7103-a')).outcome, 'APPLIED', 'another unlimited use');
SELECT pg_temp.reserve('d1', 7104, 'JOBS-ROLL-DISC1');
SELECT pg_temp.open_purchase('d1', 7104, pg_temp.rid('d1'));

SELECT is(api.rollover_promo_campaigns(), 1, 'one campaign changes: grant1 is used up');
SELECT results_eq(
    $$ SELECT status, depleted_at FROM promo.promo_codes WHERE promo_code_id = pg_temp.cid('grant1') $$,
    $$ VALUES ('DEPLETED', '2030-08-02 00:00:00+00'::timestamptz) $$, 'used_total reached max_uses: DEPLETED');
SELECT is(pg_temp.cstatus('disc1'), 'ACTIVE', 'a campaign whose last unit is only RESERVED is not DEPLETED');
SELECT is(pg_temp.cstatus('unlimited'), 'ACTIVE', 'an unlimited campaign is never DEPLETED');

-- 00:30: the reservation is stale (hold ended 00:15) but still RESERVED: not depleted.
UPDATE ops.clock SET frozen_at = '2030-08-02 00:30:00+00';
SELECT is(api.rollover_promo_campaigns(), 0, 'nothing changes while a stale reservation is still RESERVED');
SELECT is(pg_temp.cstatus('disc1'), 'ACTIVE', 'the campaign with a stale RESERVED reservation stays ACTIVE');
SELECT is(pg_temp.pay('d1', 7104), 'PAID', 'the stale reservation is paid late');
SELECT is(api.rollover_promo_campaigns(), 1, 'consumed: the last unit is used');
SELECT is(pg_temp.cstatus('disc1'), 'DEPLETED', 'and the campaign is DEPLETED');

-- ends_at boundary.
UPDATE ops.clock SET frozen_at = '2030-08-02 01:59:59+00';
SELECT is(api.rollover_promo_campaigns(), 0, 'one second before ends_at nothing expires');
UPDATE ops.clock SET frozen_at = '2030-08-02 02:00:00+00';
SELECT is(api.rollover_promo_campaigns(), 2, 'exactly at ends_at the ACTIVE and the PAUSED campaign expire');
SELECT results_eq(
    $$ SELECT c.name, p.status, p.expired_at FROM camp AS c JOIN promo.promo_codes AS p ON p.promo_code_id = c.id
       WHERE c.name IN ('ends', 'paused', 'grant1', 'unlimited') ORDER BY c.name $$,
    $$ VALUES ('ends', 'EXPIRED', '2030-08-02 02:00:00+00'::timestamptz),
              ('grant1', 'DEPLETED', NULL::timestamptz),
              ('paused', 'EXPIRED', '2030-08-02 02:00:00+00'::timestamptz),
              ('unlimited', 'ACTIVE', NULL::timestamptz) $$,
    'ACTIVE and PAUSED become EXPIRED with expired_at; DEPLETED and open-ended ones are left alone');
SELECT is(api.rollover_promo_campaigns(), 0, 'a second run changes nothing');

SELECT is_empty('SELECT * FROM api.check_invariants()', 'every invariant holds after the jobs ran');
SELECT * FROM finish();
ROLLBACK;
