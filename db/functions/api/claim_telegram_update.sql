CREATE OR REPLACE FUNCTION api.claim_telegram_update(p_update_id bigint)
RETURNS TABLE (
    outcome   text,
    attempts  integer
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now  timestamptz := ops.now();
    v_row  core.telegram_updates;
BEGIN
    PERFORM ops.check_argument(p_update_id >= 0, 'p_update_id',
        format('update id %s is negative', p_update_id), 'Pass Telegram''s update.update_id.');
    -- NEW: handle it. BUSY: another delivery holds it (its lease runs): answer non-2xx, Telegram
    -- delivers again. RETRY: an earlier delivery did not finish and its lease ran out (the
    -- handlers are idempotent, so handling again is safe); this one takes the lease.
    -- DUPLICATE: handled already; answer 200 and do nothing.
    INSERT INTO core.telegram_updates AS u (update_id, received_at, claimed_at)
    VALUES (p_update_id, v_now, v_now)
    ON CONFLICT (update_id) DO NOTHING
    RETURNING u.* INTO v_row;
    IF FOUND THEN
        outcome := 'NEW';
        attempts := v_row.attempts;
    ELSE
        -- The row lock orders concurrent deliveries: one takes an expired lease, the rest see it.
        SELECT u.* INTO v_row FROM core.telegram_updates AS u
        WHERE u.update_id = p_update_id FOR UPDATE;
        IF v_row.handled_at IS NOT NULL THEN
            outcome := 'DUPLICATE';
        ELSIF v_row.claimed_at > v_now - ops.setting_interval('core.telegram_update_lease') THEN
            outcome := 'BUSY';
        ELSE
            UPDATE core.telegram_updates AS u SET attempts = u.attempts + 1, claimed_at = v_now
            WHERE u.update_id = p_update_id
            RETURNING u.* INTO v_row;
            outcome := 'RETRY';
        END IF;
        attempts := v_row.attempts;
    END IF;
    RETURN NEXT;
    -- Keep a week: Telegram gives up redelivering after 24 hours.
    DELETE FROM core.telegram_updates AS o
    WHERE o.update_id IN (SELECT d.update_id FROM core.telegram_updates AS d
                          WHERE d.received_at < v_now - interval '7 days' LIMIT 100);
END
$$;
COMMENT ON FUNCTION api.claim_telegram_update(bigint) IS
    'The webhook''s dedup by update_id: NEW, BUSY (another delivery holds its lease), RETRY (an earlier delivery did not finish within its lease; this one takes it) or DUPLICATE (already handled); prunes entries older than a week.';
