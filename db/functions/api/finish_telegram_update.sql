CREATE OR REPLACE FUNCTION api.finish_telegram_update(p_update_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE core.telegram_updates AS u SET handled_at = coalesce(u.handled_at, ops.now())
    WHERE u.update_id = p_update_id;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION api.finish_telegram_update(bigint) IS
    'Marks a claimed update handled, so a redelivery is answered as DUPLICATE; false when it was never claimed.';
