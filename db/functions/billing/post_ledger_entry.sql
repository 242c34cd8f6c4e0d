CREATE OR REPLACE FUNCTION billing.post_ledger_entry(
    p_user_id       bigint,
    p_kind          text,
    p_ref_id        bigint,
    p_premium_days  integer DEFAULT 0,
    p_stars         integer DEFAULT 0,
    p_actor         text DEFAULT 'system'
)
RETURNS billing.ledger
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_kind    billing.ledger_kinds;
    v_now     timestamptz := ops.now();
    v_before  timestamptz;
    v_entry   billing.ledger;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    SELECT * INTO v_kind FROM billing.ledger_kinds WHERE kind = p_kind;
    PERFORM ops.check_argument(FOUND, 'p_kind', format('unknown ledger kind %L', p_kind),
        'Use a kind from billing.ledger_kinds.');
    PERFORM ops.check_argument(p_ref_id > 0, 'p_ref_id',
        format('a %s entry needs the id of its %s', p_kind, v_kind.ref_type), NULL);
    PERFORM ops.check_argument(p_premium_days IS NOT NULL AND p_stars IS NOT NULL
                               AND (p_premium_days <> 0 OR p_stars <> 0),
        'p_premium_days', 'an entry must move Stars or premium days', NULL);
    PERFORM ops.check_argument(v_kind.stars_sign IS NULL OR sign(p_stars) IN (0, v_kind.stars_sign),
        'p_stars', format('%s does not allow %s Stars', p_kind, p_stars), NULL);
    PERFORM ops.check_argument(v_kind.days_sign IS NULL OR sign(p_premium_days) IN (0, v_kind.days_sign),
        'p_premium_days', format('%s does not allow %s days', p_kind, p_premium_days), NULL);

    IF NOT EXISTS (SELECT FROM core.users WHERE user_id = p_user_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', MESSAGE = 'user not found',
            DETAIL = format('no user with id %s', p_user_id),
            HINT = 'The user must exist (api.touch_user) before anything is booked for them.';
    END IF;

    -- The entitlement row is the per-user lock that orders all of a user's ledger entries.
    INSERT INTO billing.entitlements (user_id, premium_until, updated_at)
    VALUES (p_user_id, NULL, v_now)
    ON CONFLICT (user_id) DO NOTHING;
    SELECT premium_until INTO v_before
    FROM billing.entitlements WHERE user_id = p_user_id
    FOR UPDATE;

    IF p_premium_days < 0 AND v_before IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', MESSAGE = 'no premium to remove',
            DETAIL = format('user %s never had premium; cannot remove %s days', p_user_id, -p_premium_days);
    END IF;

    -- A cause belongs to one user, so under that user's lock this check cannot race; the
    -- unique constraint stays as the backstop.
    IF EXISTS (SELECT FROM billing.ledger AS l
               WHERE l.kind = p_kind AND l.ref_type = v_kind.ref_type AND l.ref_id = p_ref_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', MESSAGE = 'ledger entry already booked',
            DETAIL = format('%s for %s %s exists', p_kind, v_kind.ref_type, p_ref_id),
            HINT = 'Each cause is booked once per kind; replays must not reach the ledger.';
    END IF;
    INSERT INTO billing.ledger (user_id, kind, ref_type, ref_id, stars_delta, premium_days_delta,
                                premium_until_before, premium_until_after, actor, created_at)
    VALUES (p_user_id, p_kind, v_kind.ref_type, p_ref_id, p_stars, p_premium_days,
            v_before, billing.premium_after(v_before, p_premium_days, v_now), p_actor, v_now)
    RETURNING * INTO v_entry;

    UPDATE billing.entitlements
    SET premium_until = v_entry.premium_until_after, updated_at = v_now
    WHERE user_id = p_user_id;
    RETURN v_entry;
END
$$;
COMMENT ON FUNCTION billing.post_ledger_entry(bigint, text, bigint, integer, integer, text) IS
    'The one way to move Stars or premium days: appends the ledger row and updates the entitlement in the caller''s transaction, under the user''s entitlement row lock.';
