CREATE OR REPLACE FUNCTION api.list_audit(
    p_actor        text DEFAULT NULL,
    p_action       text DEFAULT NULL,
    p_target_type  text DEFAULT NULL,
    p_target_id    text DEFAULT NULL,
    p_since        timestamptz DEFAULT NULL,
    p_until        timestamptz DEFAULT NULL,
    p_limit        integer DEFAULT 50,
    p_cursor       text DEFAULT NULL
)
RETURNS TABLE (
    audit_id     bigint,
    occurred_at  timestamptz,
    actor        text,
    db_role      text,
    action       text,
    target_type  text,
    target_id    text,
    reason       text,
    details      jsonb,
    cursor       text
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_parts      text[];
    v_before_at  timestamptz;
    v_before_id  bigint;
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 500, 'p_limit', 'a page is 1 to 500 audit rows', NULL);
    PERFORM ops.check_argument(p_actor IS NULL OR char_length(p_actor) BETWEEN 1 AND 128, 'p_actor',
        'an actor is 1 to 128 characters', NULL);
    PERFORM ops.check_argument(p_action IS NULL OR char_length(p_action) BETWEEN 1 AND 128, 'p_action',
        'an action is 1 to 128 characters', 'Give an action (promo.campaign_paused) or a prefix ending in a dot (promo.).');
    PERFORM ops.check_argument(p_target_type IS NULL OR char_length(p_target_type) BETWEEN 1 AND 64, 'p_target_type',
        'a target type is 1 to 64 characters', NULL);
    PERFORM ops.check_argument(p_target_id IS NULL OR (p_target_type IS NOT NULL AND char_length(p_target_id) BETWEEN 1 AND 128),
        'p_target_id', 'a target id is 1 to 128 characters, with its target type',
        'Give p_target_type too (an id names an object only within its type).');
    PERFORM ops.check_timestamp(p_since, 'p_since');
    PERFORM ops.check_timestamp(p_until, 'p_until');
    PERFORM ops.check_argument(p_since IS NULL OR p_until IS NULL OR p_since < p_until, 'p_until',
        'the range ends after it starts (p_since included, p_until excluded)', NULL);
    IF p_cursor IS NOT NULL THEN
        -- A cursor is the `cursor` column of a row this function returned: the row's time in
        -- microseconds since the epoch and its id. Anything else is refused, never guessed at.
        v_parts := regexp_match(p_cursor, '^([0-9]{1,18})\.([0-9]{1,18})$');
        IF v_parts IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'SP422', CONSTRAINT = 'invalid_cursor', MESSAGE = 'invalid cursor',
                DETAIL = 'the cursor is not one api.list_audit returned',
                HINT = 'Pass the cursor column of the last row of the previous page, unchanged.';
        END IF;
        v_before_at := timestamptz 'epoch' + (v_parts[1]::bigint / 1000000) * interval '1 second'
                                           + (v_parts[1]::bigint % 1000000) * interval '1 microsecond';
        v_before_id := v_parts[2]::bigint;
        IF NOT ops.timestamp_range() @> v_before_at THEN
            RAISE EXCEPTION USING ERRCODE = 'SP422', CONSTRAINT = 'invalid_cursor', MESSAGE = 'invalid cursor',
                DETAIL = 'the cursor is not one api.list_audit returned',
                HINT = 'Pass the cursor column of the last row of the previous page, unchanged.';
        END IF;
    END IF;
    -- Newest first, keyset-paged by (occurred_at, audit_id): a page starts strictly after the
    -- cursor's row, so rows written while a reader pages never repeat or shift a page.
    RETURN QUERY
    SELECT a.audit_id, a.occurred_at, a.actor, a.db_role, a.action, a.target_type, a.target_id,
           a.reason, a.details,
           (extract(epoch FROM a.occurred_at) * 1000000)::bigint || '.' || a.audit_id
    FROM ops.audit_log AS a
    WHERE (p_actor IS NULL OR a.actor = p_actor)
      AND (p_action IS NULL OR a.action = p_action
           OR (right(p_action, 1) = '.' AND starts_with(a.action, p_action)))
      AND (p_target_type IS NULL OR a.target_type = p_target_type)
      AND (p_target_id IS NULL OR a.target_id = p_target_id)
      AND (p_since IS NULL OR a.occurred_at >= p_since)
      AND (p_until IS NULL OR a.occurred_at < p_until)
      AND (p_cursor IS NULL OR (a.occurred_at, a.audit_id) < (v_before_at, v_before_id))
    ORDER BY a.occurred_at DESC, a.audit_id DESC
    LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_audit(text, text, text, text, timestamptz, timestamptz, integer, text) IS
    'The audit log newest first, filtered by actor, action (or a prefix ending in a dot), target type and id, and a time range (since included, until excluded); keyset pages of up to 500 after p_cursor, the cursor column of the last row of the previous page.';
