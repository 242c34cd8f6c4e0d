CREATE OR REPLACE FUNCTION promo.take_capacity(p_promo_code_id bigint, p_now timestamptz,
                                               p_max_uses integer DEFAULT NULL)
RETURNS smallint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_slot_no  smallint;
    v_stale    record;
    v_wait     double precision := 0.0005;
    v_waited   double precision := 0;
    -- A campaign has min(promo.capacity_slots (64 by default), max_uses) slots: the start lies
    -- among them (a start past the last slot, with another setting, wraps to the first).
    v_start    smallint := floor(random() * least(64, coalesce(p_max_uses, 64)))::smallint;
    v_low      smallint;
    v_high     smallint;
BEGIN
    -- Nothing here ever blocks on a slot: a row that fails its re-check after FOR UPDATE stays
    -- locked until commit, so blocking waits on slots can deadlock. Slots are taken with SKIP
    -- LOCKED; while every slot with room is held by a redemption in flight, we back off briefly.
    LOOP
        -- 1. A slot with room that nobody holds, from a random slot on (then the slots before
        --    it), so concurrent redemptions spread over the slots and each reads only a few.
        v_low := v_start;
        v_high := 32767;
        FOR v_pass IN 1..2 LOOP
            SELECT s.slot_no INTO v_slot_no
            FROM promo.capacity_slots AS s
            WHERE s.promo_code_id = p_promo_code_id AND s.slot_no BETWEEN v_low AND v_high
              AND (s.capacity IS NULL OR s.used + s.held < s.capacity)
            ORDER BY s.slot_no
            LIMIT 1
            FOR UPDATE SKIP LOCKED;
            IF FOUND THEN
                RETURN v_slot_no;
            END IF;
            EXIT WHEN v_start = 0;
            v_low := 0;
            v_high := v_start - 1;
        END LOOP;

        -- 2. A reservation whose hold ran out keeps its unit until the expiry job runs: expire it
        --    now and reuse the unit. Lock order: slot, then redemption.
        FOR v_stale IN
            SELECT r.promo_redemption_id, r.slot_no
            FROM promo.promo_redemptions AS r
            WHERE r.promo_code_id = p_promo_code_id AND r.status = 'RESERVED'
              AND r.reserved_until <= p_now
            ORDER BY r.reserved_until
            LIMIT 16
        LOOP
            PERFORM FROM promo.capacity_slots AS s
            WHERE s.promo_code_id = p_promo_code_id AND s.slot_no = v_stale.slot_no
            FOR UPDATE SKIP LOCKED;
            CONTINUE WHEN NOT FOUND;
            UPDATE promo.promo_redemptions AS r
            SET status = 'EXPIRED', expired_at = p_now
            WHERE r.promo_redemption_id = v_stale.promo_redemption_id
              AND r.status = 'RESERVED' AND r.reserved_until <= p_now;
            IF FOUND THEN
                RETURN v_stale.slot_no;
            END IF;
        END LOOP;

        -- 3. Depleted when, as committed now, no slot has room and no hold has run out. A
        --    redemption in flight can only take capacity, so this answer is final.
        -- Waiting: a pause (or any status change) that commits meanwhile ends the wait, so a
        -- redemption that waited never books a unit of a campaign paused while it queued.
        IF NOT promo.has_capacity(p_promo_code_id, p_now)
           OR NOT EXISTS (SELECT FROM promo.promo_codes AS c
                          WHERE c.promo_code_id = p_promo_code_id AND c.status = 'ACTIVE') THEN
            RETURN NULL;
        END IF;
        -- 4. The free units are held by transactions in flight; they normally end within
        --    milliseconds. One left open (an idle psql session) must not hang every redemption.
        IF v_waited >= 5 THEN
            RAISE EXCEPTION USING ERRCODE = '55P03', MESSAGE = 'campaign capacity is busy',
                DETAIL = format('every free unit of campaign %s stayed locked for %s s', p_promo_code_id, v_waited),
                HINT = 'Retry shortly; look for a long-running transaction holding promo.capacity_slots rows.';
        END IF;
        PERFORM pg_catalog.pg_sleep(v_wait);
        v_waited := v_waited + v_wait;
        v_wait := least(v_wait * 2, 0.02);
    END LOOP;
END
$$;
COMMENT ON FUNCTION promo.take_capacity(bigint, timestamptz, integer) IS
    'Locks and returns a capacity slot of the campaign with one free unit, reclaiming a reservation whose hold ran out; NULL when depleted (live reservations count) or when the campaign stopped being ACTIVE while it waited for a slot. Never blocks on a slot lock. The caller books the unit.';
