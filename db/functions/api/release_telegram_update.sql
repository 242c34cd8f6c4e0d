CREATE OR REPLACE FUNCTION api.release_telegram_update(p_update_id bigint, p_attempts integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ops.check_argument(p_update_id >= 0, 'p_update_id',
        format('update id %s is negative', p_update_id), 'Pass Telegram''s update.update_id.');
    PERFORM ops.check_argument(p_attempts >= 1, 'p_attempts',
        format('attempts %s is not a claim''s', p_attempts), 'Pass the attempts api.claim_telegram_update answered.');
    -- A delivery whose handler failed gives its lease back, so Telegram's next delivery is
    -- handled (RETRY) at once instead of answered 503 until the lease runs out. Only the claim
    -- that still holds it: after a takeover (attempts moved on) the lease is another's.
    UPDATE core.telegram_updates AS u SET claimed_at = NULL
    WHERE u.update_id = p_update_id AND u.attempts = p_attempts
      AND u.handled_at IS NULL AND u.claimed_at IS NOT NULL;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION api.release_telegram_update(bigint, integer) IS
    'Gives back the lease of a claim whose handling failed (the claim''s attempts identify it), so the next delivery is RETRY at once; false when that claim no longer holds it (handled, taken over, released, never claimed).';
