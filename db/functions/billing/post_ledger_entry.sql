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
    v_kind    billing.ledger_kind;
    v_now     timestamptz := ops.now();
    v_before  timestamptz;
    v_entry   billing.ledger;
BEGIN
    -- Plain IFs on the hot path: a PERFORM costs a full SPI query even when the check passes.
    IF NOT core.is_user_id(p_user_id) THEN
        PERFORM core.check_user_id(p_user_id);
    END IF;
    SELECT * INTO v_kind FROM billing.ledger_kinds() AS k WHERE k.kind = p_kind;
    IF v_kind.kind IS NULL THEN
        PERFORM ops.check_argument(false, 'p_kind', format('unknown ledger kind %L', p_kind),
            'Use a kind from billing.ledger_kinds().');
    END IF;
    IF (p_ref_id > 0) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_ref_id',
            format('a %s entry needs the id of its %s', p_kind, v_kind.ref_type), NULL);
    END IF;
    IF p_premium_days IS NULL OR p_stars IS NULL OR (p_premium_days = 0 AND p_stars = 0) THEN
        PERFORM ops.check_argument(false, 'p_premium_days', 'an entry must move Stars or premium days', NULL);
    END IF;
    IF sign(p_stars) NOT IN (0, coalesce(v_kind.stars_sign, sign(p_stars))) THEN
        PERFORM ops.check_argument(false, 'p_stars', format('%s does not allow %s Stars', p_kind, p_stars), NULL);
    END IF;
    IF sign(p_premium_days) NOT IN (0, coalesce(v_kind.days_sign, sign(p_premium_days))) THEN
        PERFORM ops.check_argument(false, 'p_premium_days',
            format('%s does not allow %s days', p_kind, p_premium_days), NULL);
    END IF;

    -- The entitlement row is the per-user lock that orders all of a user's ledger entries: an
    -- existing one is locked; a missing one is inserted (then it is ours already), once the user
    -- is known to exist (an entitlement row implies it).
    SELECT e.premium_until INTO v_before
    FROM billing.entitlements AS e WHERE e.user_id = p_user_id
    FOR UPDATE;
    IF NOT FOUND THEN
        -- The first booking: the user check and the insert in one statement.
        INSERT INTO billing.entitlements AS e (user_id, premium_until, updated_at)
        SELECT p_user_id, NULL, v_now WHERE EXISTS (SELECT FROM core.users AS u WHERE u.user_id = p_user_id)
        ON CONFLICT (user_id) DO NOTHING
        RETURNING e.premium_until INTO v_before;
        IF NOT FOUND THEN  -- no such user, or a concurrent first booking: wait for it and lock it
            SELECT e.premium_until INTO v_before
            FROM billing.entitlements AS e WHERE e.user_id = p_user_id
            FOR UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'user_not_found', MESSAGE = 'user not found',
                    DETAIL = format('no user with id %s', p_user_id),
                    HINT = 'The user must exist (api.touch_user) before anything is booked for them.';
            END IF;
        END IF;
    END IF;

    IF p_premium_days < 0 AND v_before IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'no_premium_to_remove', MESSAGE = 'no premium to remove',
            DETAIL = format('user %s never had premium; cannot remove %s days', p_user_id, -p_premium_days);
    END IF;

    INSERT INTO billing.ledger (user_id, kind, ref_type, ref_id, stars_delta, premium_days_delta,
                                premium_until_before, premium_until_after, actor, created_at)
    VALUES (p_user_id, p_kind, v_kind.ref_type, p_ref_id, p_stars, p_premium_days,
            v_before, billing.premium_after(v_before, p_premium_days, v_now), p_actor, v_now)
    ON CONFLICT ON CONSTRAINT ledger_once_per_cause DO NOTHING
    RETURNING * INTO v_entry;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'ledger_entry_booked', MESSAGE = 'ledger entry already booked',
            DETAIL = format('%s for %s %s exists', p_kind, v_kind.ref_type, p_ref_id),
            HINT = 'Each cause is booked once per kind; replays must not reach the ledger.';
    END IF;

    UPDATE billing.entitlements
    SET premium_until = v_entry.premium_until_after, updated_at = v_now
    WHERE user_id = p_user_id;
    RETURN v_entry;
END
$$;
COMMENT ON FUNCTION billing.post_ledger_entry(bigint, text, bigint, integer, integer, text) IS
    'The one way to move Stars or premium days: appends the ledger row and updates the entitlement in the caller''s transaction, under the user''s entitlement row lock.';
