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
BEGIN
    PERFORM ops.check_argument(p_update_id >= 0, 'p_update_id',
        format('update id %s is negative', p_update_id), 'Pass Telegram''s update.update_id.');
    -- NEW: handle it. RETRY: an earlier delivery did not finish (the handlers are idempotent, so
    -- handling again is safe). DUPLICATE: handled already; answer 200 and do nothing.
    RETURN QUERY
    INSERT INTO core.telegram_updates AS u (update_id, received_at)
    VALUES (p_update_id, v_now)
    ON CONFLICT (update_id) DO UPDATE
    SET attempts = u.attempts + CASE WHEN u.handled_at IS NULL THEN 1 ELSE 0 END
    RETURNING CASE WHEN u.attempts = 1 AND u.handled_at IS NULL THEN 'NEW'
                   WHEN u.handled_at IS NULL THEN 'RETRY' ELSE 'DUPLICATE' END,
              u.attempts;
    -- Keep a week: Telegram gives up redelivering after 24 hours.
    DELETE FROM core.telegram_updates AS o
    WHERE o.update_id IN (SELECT d.update_id FROM core.telegram_updates AS d
                          WHERE d.received_at < v_now - interval '7 days' LIMIT 100);
END
$$;
COMMENT ON FUNCTION api.claim_telegram_update(bigint) IS
    'The webhook''s dedup by update_id: NEW, RETRY (an earlier delivery did not finish) or DUPLICATE (already handled); prunes entries older than a week.';
