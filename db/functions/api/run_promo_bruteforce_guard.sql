CREATE OR REPLACE FUNCTION api.run_promo_bruteforce_guard(
    p_actor  text DEFAULT 'job:promo_bruteforce_guard'
)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now         timestamptz := ops.now();
    v_since       timestamptz := v_now - ops.setting_interval('promo.guard_window');
    v_abused      record;
    v_paused      integer := 0;
    v_not_found   bigint;
BEGIN
    PERFORM ops.check_actor(p_actor);
    -- Abused: at least N guesses from at least K distinct users attributed to an ACTIVE
    -- campaign within the window, counting only attempts after an operator's last resume. A
    -- guess is a lookup that matched no code (NOT_FOUND), attributed by the campaign's public
    -- prefix; a refusal of a code that exists (DEPLETED, ALREADY_REDEEMED, PAUSED ...) is not
    -- guessing: a popular code refuses many users at once.
    FOR v_abused IN
        SELECT c.promo_code_id, count(*) AS attempts, count(DISTINCT a.user_id) AS users
        FROM promo.promo_attempts AS a
        JOIN promo.promo_codes AS c USING (promo_code_id)
        WHERE a.outcome = 'NOT_FOUND' AND a.counted AND a.created_at > v_since AND c.status = 'ACTIVE'
          AND a.created_at > coalesce(c.guard_counting_since, '-infinity')
        GROUP BY c.promo_code_id
        HAVING count(*) >= ops.setting_integer('promo.guard_min_attempts')
           AND count(DISTINCT a.user_id) >= ops.setting_integer('promo.guard_min_users')
    LOOP
        UPDATE promo.promo_codes AS c
        SET status = 'PAUSED', paused_at = v_now, paused_reason = 'BRUTE_FORCE_GUARD', updated_at = v_now
        WHERE c.promo_code_id = v_abused.promo_code_id AND c.status = 'ACTIVE';
        CONTINUE WHEN NOT FOUND;
        v_paused := v_paused + 1;
        PERFORM ops.write_audit(p_actor, 'promo.campaign_paused', 'promo_code',
                                v_abused.promo_code_id::text, 'BRUTE_FORCE_GUARD',
                                jsonb_build_object('attempts', v_abused.attempts, 'users', v_abused.users));
        PERFORM ops.raise_alert('promo.campaign_autopaused', 'critical',
            format('campaign %s paused by the brute-force guard: %s NOT_FOUND guesses on its prefix from %s users',
                   v_abused.promo_code_id, v_abused.attempts, v_abused.users),
            jsonb_build_object('promo_code_id', v_abused.promo_code_id, 'attempts', v_abused.attempts,
                               'users', v_abused.users),
            -- Per pause: a campaign paused again after a resume alerts again.
            'promo.campaign_autopaused:' || v_abused.promo_code_id || ':' || v_now);
    END LOOP;

    SELECT count(*) INTO v_not_found FROM promo.promo_attempts AS a
    WHERE a.outcome = 'NOT_FOUND' AND NOT a.replayed AND a.created_at > v_since;
    IF v_not_found > ops.setting_integer('promo.guard_global_not_found') THEN
        -- One alert per dedup window (ops.alert_dedup_window), however often the job runs.
        PERFORM ops.raise_alert('promo.bruteforce_suspected', 'warning',
            format('%s NOT_FOUND redemption attempts in the last %s', v_not_found,
                   ops.setting_interval('promo.guard_window')),
            jsonb_build_object('not_found', v_not_found, 'since', v_since),
            'promo.bruteforce_suspected');
    END IF;
    RETURN v_paused;
END
$$;
COMMENT ON FUNCTION api.run_promo_bruteforce_guard(text) IS
    'Job: pauses ACTIVE campaigns with too many NOT_FOUND guesses on their prefix from enough distinct users in the window (audited as p_actor: the job, or the operator who runs it by hand; alert promo.campaign_autopaused); alerts promo.bruteforce_suspected on a global NOT_FOUND surge. Returns how many it paused.';
