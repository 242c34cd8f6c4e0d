-- The schema of a freshly migrated Starpass database: `starpass db schema --fresh` (a
-- schema-only pg_dump, normalised). Generated, do not edit: `make schema` rewrites it, and
-- tests/test_schema_dump.py fails when it differs from what the migrations build.

-- Name: api; Type: SCHEMA; Schema: -; Owner: starpass_owner

CREATE SCHEMA api;

ALTER SCHEMA api OWNER TO starpass_owner;

-- Name: SCHEMA api; Type: COMMENT; Schema: -; Owner: starpass_owner

COMMENT ON SCHEMA api IS 'The only callable surface: functions and result types for starpass_app.';

-- Name: billing; Type: SCHEMA; Schema: -; Owner: starpass_owner

CREATE SCHEMA billing;

ALTER SCHEMA billing OWNER TO starpass_owner;

-- Name: SCHEMA billing; Type: COMMENT; Schema: -; Owner: starpass_owner

COMMENT ON SCHEMA billing IS 'Plans, entitlements, the append-only ledger, purchases.';

-- Name: core; Type: SCHEMA; Schema: -; Owner: starpass_owner

CREATE SCHEMA core;

ALTER SCHEMA core OWNER TO starpass_owner;

-- Name: SCHEMA core; Type: COMMENT; Schema: -; Owner: starpass_owner

COMMENT ON SCHEMA core IS 'Users.';

-- Name: extensions; Type: SCHEMA; Schema: -; Owner: starpass_owner

CREATE SCHEMA extensions;

ALTER SCHEMA extensions OWNER TO starpass_owner;

-- Name: ops; Type: SCHEMA; Schema: -; Owner: starpass_owner

CREATE SCHEMA ops;

ALTER SCHEMA ops OWNER TO starpass_owner;

-- Name: SCHEMA ops; Type: COMMENT; Schema: -; Owner: starpass_owner

COMMENT ON SCHEMA ops IS 'Settings, audit log, clock, alert outbox.';

-- Name: promo; Type: SCHEMA; Schema: -; Owner: starpass_owner

CREATE SCHEMA promo;

ALTER SCHEMA promo OWNER TO starpass_owner;

-- Name: SCHEMA promo; Type: COMMENT; Schema: -; Owner: starpass_owner

COMMENT ON SCHEMA promo IS 'Promo campaigns, redemptions, reservations, attempts.';

-- Name: referral; Type: SCHEMA; Schema: -; Owner: starpass_owner

CREATE SCHEMA referral;

ALTER SCHEMA referral OWNER TO starpass_owner;

-- Name: SCHEMA referral; Type: COMMENT; Schema: -; Owner: starpass_owner

COMMENT ON SCHEMA referral IS 'Referral codes, referrals and rewards.';

-- Name: pgcrypto; Type: EXTENSION; Schema: -; Owner: -

CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;

-- Name: EXTENSION pgcrypto; Type: COMMENT; Schema: -; Owner:

COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';

-- Name: complete_purchase_result; Type: TYPE; Schema: api; Owner: starpass_owner

CREATE TYPE api.complete_purchase_result AS (
	outcome text,
	purchase_id bigint,
	premium_until timestamp with time zone,
	referral_reward_id bigint,
	referrer_user_id bigint,
	replayed boolean
);

ALTER TYPE api.complete_purchase_result OWNER TO starpass_owner;

-- Name: TYPE complete_purchase_result; Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON TYPE api.complete_purchase_result IS 'The answer of api.complete_purchase (DESIGN §5).';

-- Name: init_purchase_result; Type: TYPE; Schema: api; Owner: starpass_owner

CREATE TYPE api.init_purchase_result AS (
	outcome text,
	purchase_id bigint,
	invoice_payload text,
	price_stars integer,
	base_price_stars integer,
	discount_percent integer,
	currency text,
	title text,
	description text,
	premium_days integer,
	replayed boolean
);

ALTER TYPE api.init_purchase_result OWNER TO starpass_owner;

-- Name: TYPE init_purchase_result; Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON TYPE api.init_purchase_result IS 'The answer of api.init_purchase: OPENED (what sendInvoice needs) or IDEMPOTENCY_CONFLICT.';

-- Name: open_payment_support_result; Type: TYPE; Schema: api; Owner: starpass_owner

CREATE TYPE api.open_payment_support_result AS (
	outcome text,
	support_request_id bigint,
	created_at timestamp with time zone,
	replayed boolean
);

ALTER TYPE api.open_payment_support_result OWNER TO starpass_owner;

-- Name: TYPE open_payment_support_result; Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON TYPE api.open_payment_support_result IS 'The answer of api.open_payment_support: OPENED (the ticket) or IDEMPOTENCY_CONFLICT.';

-- Name: redeem_result; Type: TYPE; Schema: api; Owner: starpass_owner

CREATE TYPE api.redeem_result AS (
	outcome text,
	promo_redemption_id bigint,
	promo_code_id bigint,
	kind text,
	grant_days integer,
	discount_percent integer,
	reserved_until timestamp with time zone,
	premium_until timestamp with time zone,
	blocked_until timestamp with time zone,
	replayed boolean
);

ALTER TYPE api.redeem_result OWNER TO starpass_owner;

-- Name: TYPE redeem_result; Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON TYPE api.redeem_result IS 'The answer of api.redeem_promo_code (DESIGN §5).';

-- Name: rollback_refunded_promo_result; Type: TYPE; Schema: api; Owner: starpass_owner

CREATE TYPE api.rollback_refunded_promo_result AS (
	outcome text,
	purchase_id bigint,
	promo_redemption_id bigint,
	replayed boolean
);

ALTER TYPE api.rollback_refunded_promo_result OWNER TO starpass_owner;

-- Name: TYPE rollback_refunded_promo_result; Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON TYPE api.rollback_refunded_promo_result IS 'The answer of api.rollback_refunded_promo (DESIGN §5).';

-- Name: ledger_kind; Type: TYPE; Schema: billing; Owner: starpass_owner

CREATE TYPE billing.ledger_kind AS (
	kind text,
	ref_type text,
	stars_sign smallint,
	days_sign smallint,
	description text
);

ALTER TYPE billing.ledger_kind OWNER TO starpass_owner;

-- Name: TYPE ledger_kind; Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON TYPE billing.ledger_kind IS 'A ledger entry kind: the type of object that causes it and the sign each delta may have (1 credit, -1 debit, 0 never, NULL either).';

-- Name: payment_outcome; Type: DOMAIN; Schema: billing; Owner: starpass_owner

CREATE DOMAIN billing.payment_outcome AS text
	CONSTRAINT payment_outcome_check CHECK ((VALUE = ANY (ARRAY['PAID'::text, 'MISMATCH'::text, 'UNKNOWN_PURCHASE'::text, 'DUPLICATE'::text])));

ALTER DOMAIN billing.payment_outcome OWNER TO starpass_owner;

-- Name: DOMAIN payment_outcome; Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON DOMAIN billing.payment_outcome IS 'What a confirmed payment settled (billing.payments.outcome).';

-- Name: purchase_status; Type: DOMAIN; Schema: billing; Owner: starpass_owner

CREATE DOMAIN billing.purchase_status AS text
	CONSTRAINT purchase_status_check CHECK ((VALUE = ANY (ARRAY['INIT'::text, 'PRECHECKOUT_OK'::text, 'PAID'::text, 'REFUNDED'::text, 'CANCELLED'::text])));

ALTER DOMAIN billing.purchase_status OWNER TO starpass_owner;

-- Name: DOMAIN purchase_status; Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON DOMAIN billing.purchase_status IS 'A purchase''s state (billing.guard_purchase_change holds the transitions).';

-- Name: alert_action; Type: DOMAIN; Schema: ops; Owner: starpass_owner

CREATE DOMAIN ops.alert_action AS text
	CONSTRAINT alert_action_check CHECK ((VALUE = ANY (ARRAY['trigger'::text, 'resolve'::text])));

ALTER DOMAIN ops.alert_action OWNER TO starpass_owner;

-- Name: DOMAIN alert_action; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON DOMAIN ops.alert_action IS 'A trigger opens a condition, a resolve closes it (same dedup key at the provider).';

-- Name: alert_provider; Type: DOMAIN; Schema: ops; Owner: starpass_owner

CREATE DOMAIN ops.alert_provider AS text
	CONSTRAINT alert_provider_check CHECK ((VALUE = ANY (ARRAY['generic'::text, 'slack'::text, 'pagerduty'::text])));

ALTER DOMAIN ops.alert_provider OWNER TO starpass_owner;

-- Name: DOMAIN alert_provider; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON DOMAIN ops.alert_provider IS 'Where a target delivers: the generic JSON webhook, a Slack incoming webhook, PagerDuty Events API v2.';

-- Name: alert_severity; Type: DOMAIN; Schema: ops; Owner: starpass_owner

CREATE DOMAIN ops.alert_severity AS text
	CONSTRAINT alert_severity_check CHECK ((VALUE = ANY (ARRAY['critical'::text, 'error'::text, 'warning'::text, 'info'::text])));

ALTER DOMAIN ops.alert_severity OWNER TO starpass_owner;

-- Name: DOMAIN alert_severity; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON DOMAIN ops.alert_severity IS 'How bad an alert is (PagerDuty''s four severities).';

-- Name: alert_state; Type: DOMAIN; Schema: ops; Owner: starpass_owner

CREATE DOMAIN ops.alert_state AS text
	CONSTRAINT alert_state_check CHECK ((VALUE = ANY (ARRAY['pending'::text, 'delivered'::text, 'dead'::text])));

ALTER DOMAIN ops.alert_state OWNER TO starpass_owner;

-- Name: DOMAIN alert_state; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON DOMAIN ops.alert_state IS 'An alert''s or a delivery''s state.';

-- Name: is_idempotency_key(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.is_idempotency_key(p_key text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (((char_length(p_key) >= 8) AND (char_length(p_key) <= 128)) AND (p_key ~ '^[A-Za-z0-9._:-]+$'::text));

ALTER FUNCTION ops.is_idempotency_key(p_key text) OWNER TO starpass_owner;

-- Name: FUNCTION is_idempotency_key(p_key text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.is_idempotency_key(p_key text) IS 'Whether a text is an idempotency key: 8 to 128 characters of A-Z a-z 0-9 . _ : - (the CHECK of the domain ops.idempotency_key; inlined where called).';

-- Name: idempotency_key; Type: DOMAIN; Schema: ops; Owner: starpass_owner

CREATE DOMAIN ops.idempotency_key AS text
	CONSTRAINT idempotency_key_check CHECK (ops.is_idempotency_key(VALUE));

ALTER DOMAIN ops.idempotency_key OWNER TO starpass_owner;

-- Name: DOMAIN idempotency_key; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON DOMAIN ops.idempotency_key IS 'A caller''s idempotency key: one random key per logical request (e.g. a UUID), reused only to retry it.';

-- Name: idempotency_scope; Type: DOMAIN; Schema: ops; Owner: starpass_owner

CREATE DOMAIN ops.idempotency_scope AS text
	CONSTRAINT idempotency_scope_check CHECK ((VALUE = ANY (ARRAY['promo.redeem'::text, 'billing.init_purchase'::text, 'billing.complete_purchase'::text, 'promo.rollback_refunded_promo'::text, 'billing.open_payment_support'::text])));

ALTER DOMAIN ops.idempotency_scope OWNER TO starpass_owner;

-- Name: DOMAIN idempotency_scope; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON DOMAIN ops.idempotency_scope IS 'The function a key belongs to: the same key may be used once in each scope.';

-- Name: idempotent_prior; Type: TYPE; Schema: ops; Owner: starpass_owner

CREATE TYPE ops.idempotent_prior AS (
	conflict boolean,
	result jsonb
);

ALTER TYPE ops.idempotent_prior OWNER TO starpass_owner;

-- Name: TYPE idempotent_prior; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TYPE ops.idempotent_prior IS 'ops.find_idempotent''s answer: (false, NULL) new key, (false, result) replay, (true, NULL) the key was bound to other arguments.';

-- Name: campaign_kind; Type: DOMAIN; Schema: promo; Owner: starpass_owner

CREATE DOMAIN promo.campaign_kind AS text
	CONSTRAINT campaign_kind_check CHECK ((VALUE = ANY (ARRAY['PREMIUM_GRANT'::text, 'PERCENT_DISCOUNT'::text])));

ALTER DOMAIN promo.campaign_kind OWNER TO starpass_owner;

-- Name: DOMAIN campaign_kind; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON DOMAIN promo.campaign_kind IS 'What a campaign gives: premium days or a purchase discount.';

-- Name: campaign_status; Type: DOMAIN; Schema: promo; Owner: starpass_owner

CREATE DOMAIN promo.campaign_status AS text
	CONSTRAINT campaign_status_check CHECK ((VALUE = ANY (ARRAY['ACTIVE'::text, 'PAUSED'::text, 'EXPIRED'::text, 'DEPLETED'::text])));

ALTER DOMAIN promo.campaign_status OWNER TO starpass_owner;

-- Name: DOMAIN campaign_status; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON DOMAIN promo.campaign_status IS 'A campaign''s stored status (api.get_promo_campaign also derives an effective one).';

-- Name: import_mode; Type: DOMAIN; Schema: promo; Owner: starpass_owner

CREATE DOMAIN promo.import_mode AS text
	CONSTRAINT import_mode_check CHECK ((VALUE = ANY (ARRAY['ALL_OR_NOTHING'::text, 'PARTIAL'::text, 'DRY_RUN'::text])));

ALTER DOMAIN promo.import_mode OWNER TO starpass_owner;

-- Name: DOMAIN import_mode; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON DOMAIN promo.import_mode IS 'How api.import_promo_codes treats a batch with refused lines: insert nothing, insert the valid lines, or only report.';

-- Name: import_status; Type: DOMAIN; Schema: promo; Owner: starpass_owner

CREATE DOMAIN promo.import_status AS text
	CONSTRAINT import_status_check CHECK ((VALUE = ANY (ARRAY['INSERTED'::text, 'VALID'::text, 'DUPLICATE'::text, 'INVALID'::text])));

ALTER DOMAIN promo.import_status OWNER TO starpass_owner;

-- Name: DOMAIN import_status; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON DOMAIN promo.import_status IS 'What api.import_promo_codes did with one line: inserted it, found it valid but inserted nothing (dry run, refused batch), or refused it.';

-- Name: redeem_outcome; Type: DOMAIN; Schema: promo; Owner: starpass_owner

CREATE DOMAIN promo.redeem_outcome AS text
	CONSTRAINT redeem_outcome_check CHECK ((VALUE = ANY (ARRAY['APPLIED'::text, 'RESERVED'::text, 'NOT_FOUND'::text, 'NOT_STARTED'::text, 'EXPIRED'::text, 'PAUSED'::text, 'DEPLETED'::text, 'ALREADY_REDEEMED'::text, 'THROTTLED'::text, 'INVALID_CODE'::text, 'IDEMPOTENCY_CONFLICT'::text])));

ALTER DOMAIN promo.redeem_outcome OWNER TO starpass_owner;

-- Name: DOMAIN redeem_outcome; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON DOMAIN promo.redeem_outcome IS 'The outcomes api.redeem_promo_code answers and promo.promo_attempts records.';

-- Name: redemption_status; Type: DOMAIN; Schema: promo; Owner: starpass_owner

CREATE DOMAIN promo.redemption_status AS text
	CONSTRAINT redemption_status_check CHECK ((VALUE = ANY (ARRAY['APPLIED'::text, 'RESERVED'::text, 'CONSUMED'::text, 'EXPIRED'::text, 'REVOKED'::text])));

ALTER DOMAIN promo.redemption_status OWNER TO starpass_owner;

-- Name: DOMAIN redemption_status; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON DOMAIN promo.redemption_status IS 'A redemption''s state (promo.guard_redemption_change holds the transitions).';

-- Name: reward_choice; Type: DOMAIN; Schema: referral; Owner: starpass_owner

CREATE DOMAIN referral.reward_choice AS text
	CONSTRAINT reward_choice_check CHECK ((VALUE = ANY (ARRAY['PREMIUM_DAYS'::text, 'DISCOUNT'::text])));

ALTER DOMAIN referral.reward_choice OWNER TO starpass_owner;

-- Name: DOMAIN reward_choice; Type: COMMENT; Schema: referral; Owner: starpass_owner

COMMENT ON DOMAIN referral.reward_choice IS 'What a referrer chose as the reward.';

-- Name: reward_status; Type: DOMAIN; Schema: referral; Owner: starpass_owner

CREATE DOMAIN referral.reward_status AS text
	CONSTRAINT reward_status_check CHECK ((VALUE = ANY (ARRAY['OFFERED'::text, 'CHOSEN'::text, 'CANCELLED'::text])));

ALTER DOMAIN referral.reward_status OWNER TO starpass_owner;

-- Name: DOMAIN reward_status; Type: COMMENT; Schema: referral; Owner: starpass_owner

COMMENT ON DOMAIN referral.reward_status IS 'A referral reward''s state.';

-- Name: accept_terms(bigint, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.accept_terms(p_user_id bigint, p_terms_version text) RETURNS TABLE(outcome text, terms_version text, accepted_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_current  text := ops.setting_value('billing.terms_version', 'text');
    v_user     core.users;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    -- Accepting another text than the current one would record consent to something else.
    IF p_terms_version IS DISTINCT FROM v_current THEN
        RETURN QUERY SELECT 'OUTDATED'::text, v_current, NULL::timestamptz;
        RETURN;
    END IF;
    PERFORM core.ensure_user(p_user_id);
    SELECT * INTO v_user FROM core.users AS u WHERE u.user_id = p_user_id FOR UPDATE;
    IF v_user.terms_version = v_current THEN  -- a double tap keeps the first acceptance
        RETURN QUERY SELECT 'ALREADY_ACCEPTED'::text, v_current, v_user.terms_accepted_at;
        RETURN;
    END IF;
    UPDATE core.users AS u SET terms_version = v_current, terms_accepted_at = ops.now(), updated_at = ops.now()
    WHERE u.user_id = p_user_id;
    RETURN QUERY SELECT 'ACCEPTED'::text, v_current, ops.now();
END
$$;

ALTER FUNCTION api.accept_terms(p_user_id bigint, p_terms_version text) OWNER TO starpass_owner;

-- Name: FUNCTION accept_terms(p_user_id bigint, p_terms_version text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.accept_terms(p_user_id bigint, p_terms_version text) IS 'Records that a user accepted the current terms (billing.terms_version): ACCEPTED, ALREADY_ACCEPTED (the first acceptance time is kept), or OUTDATED when another version was shown.';

-- Name: ack_alert_delivery(bigint, integer); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.ack_alert_delivery(p_delivery_id bigint, p_attempt integer) RETURNS TABLE(delivery_id bigint, state text, changed boolean, send_again_in double precision)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now        timestamptz := ops.now();
    v_delivery   ops.alert_deliveries;
    v_count      integer := 0;
BEGIN
    PERFORM ops.check_argument(p_attempt >= 1, 'p_attempt', 'the attempt a claim returned (1 or more)', NULL);
    v_delivery := ops.lock_alert_delivery(p_delivery_id);

    -- The provider took it: delivered, whichever attempt this was (one whose lease ran out
    -- was still delivered; at least once). Delivered twice is still delivered.
    IF v_delivery.state = 'pending' THEN
        UPDATE ops.alert_deliveries AS m SET state = 'delivered', delivered_at = v_now, claimed_until = NULL
        WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.state = 'pending'
          AND (m.delivery_id = p_delivery_id OR m.kind = 'alert');
        GET DIAGNOSTICS v_count = ROW_COUNT;
        UPDATE ops.alert_targets AS t
        SET delivered = t.delivered + CASE WHEN v_delivery.kind = 'summary' THEN v_count - 1 ELSE v_count END
        WHERE t.target = v_delivery.target;
        PERFORM ops.settle_alert(m.alert_id) FROM ops.alert_deliveries AS m
        WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.alert_id IS NOT NULL;
    END IF;
    RETURN QUERY SELECT p_delivery_id, 'delivered'::text, v_delivery.state = 'pending',
                        ops.release_alert_target(v_delivery.target, p_delivery_id, p_attempt, NULL);
END
$$;

ALTER FUNCTION api.ack_alert_delivery(p_delivery_id bigint, p_attempt integer) OWNER TO starpass_owner;

-- Name: FUNCTION ack_alert_delivery(p_delivery_id bigint, p_attempt integer); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.ack_alert_delivery(p_delivery_id bigint, p_attempt integer) IS 'For dispatchers: the provider accepted the send of this claim (attempt): the delivery (a summary with its alerts) is delivered, the alerts settle, the target''s send slot is freed; returns the seconds until the target may send again.';

-- Name: adjust_premium_days(bigint, integer, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.adjust_premium_days(p_user_id bigint, p_days integer, p_actor text, p_reason text) RETURNS TABLE(ledger_id bigint, audit_id bigint, premium_until timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_audit_id  bigint;
    v_entry     billing.ledger;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(p_days <> 0 AND p_days BETWEEN -3660 AND 3660, 'p_days',
        format('%s days is not a correction (non-zero, at most 3660 either way)', p_days), NULL);
    PERFORM ops.check_argument(char_length(btrim(p_reason)) BETWEEN 1 AND 1000, 'p_reason',
        'a manual correction needs a reason of 1 to 1000 characters',
        'Say why, e.g. the support ticket it resolves.');

    -- An unknown user makes post_ledger_entry raise SP404, which also undoes the audit row.
    v_audit_id := ops.write_audit(p_actor, 'billing.premium_adjusted', 'user', p_user_id::text,
                                  p_reason, jsonb_build_object('days', p_days));
    v_entry := billing.post_ledger_entry(p_user_id, 'ADMIN_ADJUSTMENT', v_audit_id,
                                         p_premium_days => p_days, p_actor => p_actor);
    RETURN QUERY SELECT v_entry.ledger_id, v_audit_id, v_entry.premium_until_after;
END
$$;

ALTER FUNCTION api.adjust_premium_days(p_user_id bigint, p_days integer, p_actor text, p_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION adjust_premium_days(p_user_id bigint, p_days integer, p_actor text, p_reason text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.adjust_premium_days(p_user_id bigint, p_days integer, p_actor text, p_reason text) IS 'Operator correction: adds (or removes, negative) premium days with an audit row and an ADMIN_ADJUSTMENT ledger entry.';

-- Name: block_promo_user(bigint, timestamp with time zone, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.block_promo_user(p_user_id bigint, p_until timestamp with time zone, p_actor text, p_reason text) RETURNS TABLE(user_id bigint, blocked_until timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_timestamp(p_until, 'p_until');
    PERFORM ops.check_argument(p_until > v_now AND p_until <= v_now + interval '365 days', 'p_until',
        'a block ends in the future, within a year', NULL);
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(char_length(btrim(p_reason)) BETWEEN 1 AND 1000, 'p_reason',
        'a block needs a reason of 1 to 1000 characters', NULL);
    -- The same lock and row as the throttle: redemptions answer THROTTLED until p_until.
    PERFORM promo.lock_user(p_user_id);
    PERFORM core.ensure_user(p_user_id);
    INSERT INTO promo.user_throttle AS t (user_id, blocked_until, blocked_at, updated_at)
    VALUES (p_user_id, p_until, v_now, v_now)
    ON CONFLICT ON CONSTRAINT user_throttle_pkey DO UPDATE
    SET blocked_until = excluded.blocked_until, blocked_at = excluded.blocked_at, updated_at = excluded.updated_at;
    PERFORM ops.write_audit(p_actor, 'promo.user_blocked', 'user', p_user_id::text, p_reason,
                            jsonb_build_object('until', p_until));
    RETURN QUERY SELECT p_user_id, p_until;
END
$$;

ALTER FUNCTION api.block_promo_user(p_user_id bigint, p_until timestamp with time zone, p_actor text, p_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION block_promo_user(p_user_id bigint, p_until timestamp with time zone, p_actor text, p_reason text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.block_promo_user(p_user_id bigint, p_until timestamp with time zone, p_actor text, p_reason text) IS 'Operator block: the user''s redemptions answer THROTTLED until p_until (audited); api.reset_promo_throttle lifts it.';

-- Name: cancel_abandoned_purchases(integer); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.cancel_abandoned_purchases(p_limit integer DEFAULT 100) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now        timestamptz := ops.now();
    v_cancelled  integer;
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 10000, 'p_limit', 'a batch is 1 to 10000 rows', NULL);
    -- A purchase being settled holds its row: SKIP LOCKED leaves it to the settlement. A payment
    -- that still arrives for a cancelled purchase settles it (CANCELLED -> PAID).
    WITH abandoned AS (
        SELECT p.purchase_id FROM billing.purchases AS p
        WHERE p.status IN ('INIT', 'PRECHECKOUT_OK')
          AND p.created_at <= v_now - ops.setting_interval('billing.purchase_abandon_after')
        ORDER BY p.created_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE billing.purchases AS p SET status = 'CANCELLED', cancelled_at = v_now
    FROM abandoned AS a WHERE p.purchase_id = a.purchase_id;
    GET DIAGNOSTICS v_cancelled = ROW_COUNT;
    RETURN v_cancelled;
END
$$;

ALTER FUNCTION api.cancel_abandoned_purchases(p_limit integer) OWNER TO starpass_owner;

-- Name: FUNCTION cancel_abandoned_purchases(p_limit integer); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.cancel_abandoned_purchases(p_limit integer) IS 'Job: CANCELLED for open purchases older than billing.purchase_abandon_after, in one SKIP LOCKED batch; returns how many. A late payment still settles them.';

-- Name: check_invariants(); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.check_invariants() RETURNS TABLE(invariant text, subject text, detail text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    WITH chain AS (
        SELECT l.*, lag(l.premium_until_after) OVER (PARTITION BY l.user_id ORDER BY l.ledger_id)
                        AS previous_after,
                    row_number() OVER (PARTITION BY l.user_id ORDER BY l.ledger_id DESC) AS from_end
        FROM billing.ledger AS l
    )
    -- Each entry starts where the user's previous one ended.
    SELECT 'ledger_chain', 'user ' || c.user_id,
           format('ledger %s starts at %s, the previous entry ended at %s',
                  c.ledger_id, c.premium_until_before, c.previous_after)
    FROM chain AS c
    WHERE c.premium_until_before IS DISTINCT FROM c.previous_after
    UNION ALL
    -- Each entry's result is its own arithmetic.
    SELECT 'ledger_arithmetic', 'user ' || c.user_id,
           format('ledger %s: %s %s days at %s gives %s, not %s', c.ledger_id,
                  c.premium_until_before, c.premium_days_delta, c.created_at,
                  billing.premium_after(c.premium_until_before, c.premium_days_delta, c.created_at),
                  c.premium_until_after)
    FROM chain AS c
    WHERE c.premium_until_after IS DISTINCT FROM
          billing.premium_after(c.premium_until_before, c.premium_days_delta, c.created_at)
    UNION ALL
    -- Each entry has a known kind (with its ref_type) and the signs that kind allows.
    SELECT 'ledger_kind_sign', 'user ' || c.user_id,
           format('ledger %s: %s with %s Stars and %s days', c.ledger_id, c.kind,
                  c.stars_delta, c.premium_days_delta)
    FROM chain AS c
    LEFT JOIN billing.ledger_kinds() AS k USING (kind, ref_type)
    WHERE k.kind IS NULL
       OR sign(c.stars_delta) NOT IN (0, coalesce(k.stars_sign, sign(c.stars_delta)))
       OR sign(c.premium_days_delta) NOT IN (0, coalesce(k.days_sign, sign(c.premium_days_delta)))
    UNION ALL
    -- premium_until is where the user's last ledger entry left it (and nothing without one).
    SELECT 'premium_until_matches_ledger', 'user ' || coalesce(e.user_id, c.user_id),
           format('entitlement says %s, ledger says %s',
                  CASE WHEN e.user_id IS NULL THEN 'no row' ELSE coalesce(e.premium_until::text, 'never') END,
                  CASE WHEN c.user_id IS NULL THEN 'no entries' ELSE coalesce(c.premium_until_after::text, 'never') END)
    FROM billing.entitlements AS e
    FULL JOIN (SELECT * FROM chain WHERE from_end = 1) AS c ON c.user_id = e.user_id
    WHERE e.user_id IS NULL OR c.user_id IS NULL
       OR e.premium_until IS DISTINCT FROM c.premium_until_after
    UNION ALL
    -- Capacity: APPLIED + CONSUMED + live RESERVED never exceed max_uses, and the slots hold
    -- exactly max_uses.
    SELECT 'promo_capacity', 'promo_code ' || pc.promo_code_id,
           format('max_uses %s, slots hold %s, applied+consumed+live reserved %s',
                  pc.max_uses, sl.capacity, rd.taken)
    FROM promo.promo_codes AS pc
    CROSS JOIN LATERAL (SELECT sum(s.capacity) AS capacity FROM promo.capacity_slots AS s
                        WHERE s.promo_code_id = pc.promo_code_id) AS sl
    CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE r.status IN ('APPLIED', 'CONSUMED')
                                                   OR (r.status = 'RESERVED' AND r.reserved_until > ops.now()))
                               AS taken
                        FROM promo.promo_redemptions AS r WHERE r.promo_code_id = pc.promo_code_id) AS rd
    WHERE pc.max_uses IS NOT NULL AND (rd.taken > pc.max_uses OR sl.capacity IS DISTINCT FROM pc.max_uses)
    UNION ALL
    -- Slot counters are the redemptions they stand for: used (= used_total, summed) counts
    -- APPLIED, CONSUMED and REVOKED (revocation never gives a unit back); held counts RESERVED.
    SELECT 'promo_slot_counts', format('promo_code %s slot %s', s.promo_code_id, s.slot_no),
           format('used %s held %s, redemptions say %s and %s', s.used, s.held,
                  coalesce(r.used, 0), coalesce(r.held, 0))
    FROM promo.capacity_slots AS s
    LEFT JOIN (SELECT x.promo_code_id, x.slot_no,
                      sum(promo.units_used(x.status)) AS used,
                      sum(promo.units_held(x.status)) AS held
               FROM promo.promo_redemptions AS x GROUP BY x.promo_code_id, x.slot_no) AS r
           USING (promo_code_id, slot_no)
    WHERE s.used <> coalesce(r.used, 0) OR s.held <> coalesce(r.held, 0)
    UNION ALL
    -- Idempotency: every redemption is the binding answer to a key of its own user and campaign,
    -- and no answer points at another user's or campaign's redemption.
    SELECT 'promo_idempotency', 'redemption ' || r.promo_redemption_id,
           'no binding attempt of its user and campaign answers with it'
    FROM promo.promo_redemptions AS r
    WHERE NOT EXISTS (SELECT FROM promo.promo_attempts AS a
                      WHERE a.binding AND a.promo_redemption_id = r.promo_redemption_id
                        AND a.user_id = r.user_id AND a.promo_code_id = r.promo_code_id)
      -- DISCOUNT referral rewards are reservations made by api.choose_referral_reward.
      AND NOT EXISTS (SELECT FROM referral.rewards AS rw
                      WHERE rw.promo_redemption_id = r.promo_redemption_id AND rw.referrer_user_id = r.user_id)
    UNION ALL
    SELECT 'promo_idempotency', 'attempt ' || a.attempt_id,
           format('answers with redemption %s of user %s', r.promo_redemption_id, r.user_id)
    FROM promo.promo_attempts AS a
    JOIN promo.promo_redemptions AS r USING (promo_redemption_id)
    WHERE a.user_id <> r.user_id OR a.promo_code_id <> r.promo_code_id
    UNION ALL
    -- Every premium grant (APPLIED, or REVOKED later) was booked once, with its days.
    SELECT 'promo_grant_booked', 'redemption ' || r.promo_redemption_id,
           format('no PROMO_PREMIUM ledger entry of %s days for user %s', pc.grant_days, r.user_id)
    FROM promo.promo_redemptions AS r
    JOIN promo.promo_codes AS pc USING (promo_code_id)
    WHERE r.kind = 'PREMIUM_GRANT'
      AND NOT EXISTS (SELECT FROM billing.ledger AS l
                      WHERE l.kind = 'PROMO_PREMIUM' AND l.ref_id = r.promo_redemption_id
                        AND l.user_id = r.user_id AND l.premium_days_delta = pc.grant_days)
    UNION ALL
    -- A purchase's ledger rows are exactly what its status says: PAID books the Stars and the
    -- days, REFUNDED also their debits, any other status nothing.
    SELECT 'purchase_ledger', 'purchase ' || p.purchase_id,
           format('%s purchase has ledger rows %s', p.status, coalesce(l.kinds, '{}'))
    FROM billing.purchases AS p
    LEFT JOIN LATERAL (
        SELECT array_agg(format('%s:%s:%s', x.kind, x.stars_delta, x.premium_days_delta) ORDER BY x.kind)::text AS kinds
        FROM billing.ledger AS x
        WHERE x.ref_type = 'purchase' AND x.ref_id = p.purchase_id AND x.user_id = p.user_id
    ) AS l ON true
    WHERE coalesce(l.kinds, '{}') <> CASE p.status
        WHEN 'PAID' THEN format('{PURCHASE_PAYMENT:%s:0,PURCHASE_PREMIUM:0:%s}', p.price_stars, p.premium_days)
        WHEN 'REFUNDED' THEN format('{PURCHASE_PAYMENT:%s:0,PURCHASE_PREMIUM:0:%s,REFUND_PAYMENT:%s:0,REFUND_PREMIUM:0:%s}',
                                    p.price_stars, p.premium_days, -p.price_stars, -p.premium_days)
        ELSE '{}' END
    UNION ALL
    -- A consumed (or later revoked) reservation was paid for by exactly one purchase.
    SELECT 'redemption_paid_once', 'redemption ' || r.promo_redemption_id,
           format('%s PAID/REFUNDED purchases', count(p.purchase_id))
    FROM promo.promo_redemptions AS r
    LEFT JOIN billing.purchases AS p
           ON p.promo_redemption_id = r.promo_redemption_id AND p.status IN ('PAID', 'REFUNDED')
    WHERE r.status = 'CONSUMED' OR (r.status = 'REVOKED' AND r.kind = 'PERCENT_DISCOUNT')
    GROUP BY r.promo_redemption_id
    HAVING count(p.purchase_id) <> 1
    UNION ALL
    -- Never lost, never twice: a PAID/REFUNDED purchase has exactly one PAID payment, with its
    -- charge id, and every PAID payment settled exactly such a purchase.
    SELECT 'purchase_paid_once', 'purchase ' || p.purchase_id,
           format('%s PAID payments with its charge id', count(pm.payment_id))
    FROM billing.purchases AS p
    LEFT JOIN billing.payments AS pm
           ON pm.purchase_id = p.purchase_id AND pm.outcome = 'PAID'
          AND pm.telegram_payment_charge_id = p.telegram_payment_charge_id
    WHERE p.status IN ('PAID', 'REFUNDED')
    GROUP BY p.purchase_id
    HAVING count(pm.payment_id) <> 1
    UNION ALL
    SELECT 'payment_settled_purchase', 'payment ' || pm.payment_id, 'a PAID payment without its paid purchase'
    FROM billing.payments AS pm
    WHERE pm.outcome = 'PAID'
      AND NOT EXISTS (SELECT FROM billing.purchases AS p
                      WHERE p.purchase_id = pm.purchase_id AND p.status IN ('PAID', 'REFUNDED')
                        AND p.telegram_payment_charge_id = pm.telegram_payment_charge_id)
    UNION ALL
    -- No reward without a paid purchase of the referee, referred by this referrer.
    SELECT 'reward_has_paid_referee', 'reward ' || rw.referral_reward_id, 'no matching paid purchase or referral'
    FROM referral.rewards AS rw
    WHERE NOT EXISTS (SELECT FROM billing.purchases AS p
                      WHERE p.purchase_id = rw.purchase_id AND p.user_id = rw.referee_user_id
                        AND p.status IN ('PAID', 'REFUNDED'))
       OR NOT EXISTS (SELECT FROM referral.referrals AS rf
                      WHERE rf.referee_user_id = rw.referee_user_id
                        AND rf.referrer_user_id = rw.referrer_user_id)
$$;

ALTER FUNCTION api.check_invariants() OWNER TO starpass_owner;

-- Name: FUNCTION check_invariants(); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.check_invariants() IS 'One row per violated invariant (empty when all hold). Tests call it after every scenario; operators after repairs.';

-- Name: check_job_health(); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.check_job_health() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    v_now     timestamptz := ops.now();
    v_job     record;
    v_raised  integer := 0;
BEGIN
    IF to_regclass('cron_remote.job_run_details') IS NULL THEN
        RAISE NOTICE 'pg_cron is not reachable from this database (run `starpass jobs install`)';
        RETURN 0;
    END IF;
    -- The last run and the last success of each registered job, read from pg_cron's own
    -- history in the `postgres` database (postgres_fdw, as a read-only role).
    FOR v_job IN EXECUTE $q$
        SELECT j.job_name, j.cron_name, j.every, j.installed_at,
               last.status AS last_status, last.runid AS last_runid,
               left(last.return_message, 300) AS last_message,
               (SELECT max(d.end_time) FROM cron_remote.job_run_details AS d
                WHERE d.jobid = c.jobid AND d.status = 'succeeded') AS last_success
        FROM ops.jobs AS j
        LEFT JOIN cron_remote.job AS c ON c.jobname = j.cron_name
        LEFT JOIN LATERAL (SELECT d.status, d.runid, d.return_message FROM cron_remote.job_run_details AS d
                           WHERE d.jobid = c.jobid AND d.status IN ('succeeded', 'failed')
                           ORDER BY d.runid DESC LIMIT 1) AS last ON true
    $q$
    LOOP
        IF v_job.last_status = 'failed' THEN
            IF ops.raise_alert('jobs.failed', 'error',
                    format('job %s failed: %s', v_job.job_name, v_job.last_message),
                    jsonb_build_object('job', v_job.job_name, 'runid', v_job.last_runid,
                                       'message', v_job.last_message),
                    'jobs.failed:' || v_job.job_name || ':' || v_job.last_runid) IS NOT NULL THEN
                v_raised := v_raised + 1;
            END IF;
        END IF;
        IF coalesce(v_job.last_success, v_job.installed_at)
           < v_now - ops.setting_integer('jobs.stale_after_intervals') * v_job.every THEN
            IF ops.raise_alert('jobs.stale', 'error',
                    format('job %s has not succeeded since %s', v_job.job_name,
                           coalesce(v_job.last_success::text, 'it was installed')),
                    jsonb_build_object('job', v_job.job_name, 'last_success', v_job.last_success,
                                       'every', v_job.every),
                    'jobs.stale:' || v_job.job_name) IS NOT NULL THEN
                v_raised := v_raised + 1;
            END IF;
        ELSIF v_job.last_success IS NOT NULL THEN
            -- Fresh again: a jobs.stale still open for this job is resolved.
            PERFORM ops.resolve_alert('jobs.stale', jsonb_build_object('job', v_job.job_name),
                format('job %s succeeded again at %s', v_job.job_name, v_job.last_success));
        END IF;
    END LOOP;
    RETURN v_raised;
END
$_$;

ALTER FUNCTION api.check_job_health() OWNER TO starpass_owner;

-- Name: FUNCTION check_job_health(); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.check_job_health() IS 'Job: raises jobs.failed for a job whose last run failed and jobs.stale for one without a success for jobs.stale_after_intervals of its intervals (resolved once it succeeds again); returns how many alerts it raised.';

-- Name: check_pepper(); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.check_pepper() RETURNS TABLE(ok boolean, outcome text, current_matches boolean, previous_matches boolean, other_peppers integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_current   bytea := promo.pepper_id(promo.pepper());
    v_previous  bytea := promo.pepper_id(promo.pepper(p_previous => true));  -- NULL: no rotation
    v_internal  bigint := referral.discount_campaign_id();
    v_in_use    bytea[];
BEGIN
    -- The fingerprints the live campaigns (ACTIVE, PAUSED: codes that can still be redeemed)
    -- were hashed under: a skip scan of promo_codes_live_pepper_idx (one index probe per
    -- distinct fingerprint, of which there are a handful), each kept when a campaign other
    -- than the code-less internal referral campaign carries it. The cost does not grow with
    -- the number of campaigns.
    WITH RECURSIVE fingerprints (pepper_id) AS (
        (SELECT c.pepper_id FROM promo.promo_codes AS c
         WHERE c.status IN ('ACTIVE', 'PAUSED') ORDER BY c.pepper_id LIMIT 1)
        UNION ALL
        SELECT (SELECT c.pepper_id FROM promo.promo_codes AS c
                WHERE c.status IN ('ACTIVE', 'PAUSED') AND c.pepper_id > f.pepper_id
                ORDER BY c.pepper_id LIMIT 1)
        FROM fingerprints AS f
        WHERE f.pepper_id IS NOT NULL
    )
    SELECT coalesce(array_agg(f.pepper_id), '{}') INTO v_in_use
    FROM fingerprints AS f
    WHERE f.pepper_id IS NOT NULL
      AND EXISTS (SELECT FROM promo.promo_codes AS c
                  WHERE c.status IN ('ACTIVE', 'PAUSED') AND c.pepper_id = f.pepper_id
                    AND c.promo_code_id IS DISTINCT FROM v_internal);

    current_matches := v_current = ANY (v_in_use);
    previous_matches := coalesce(v_previous = ANY (v_in_use), false);
    other_peppers := (SELECT count(*) FROM unnest(v_in_use) AS u (pepper_id)
                      WHERE u.pepper_id <> v_current AND u.pepper_id IS DISTINCT FROM v_previous);
    outcome := CASE
        WHEN cardinality(v_in_use) = 0 THEN 'NO_CAMPAIGNS'
        WHEN NOT (current_matches OR previous_matches) THEN 'MISMATCH'
        WHEN other_peppers > 0 THEN 'UNKNOWN_PEPPER'
        ELSE 'MATCH'
    END;
    ok := outcome <> 'MISMATCH';
    RETURN NEXT;
END
$$;

ALTER FUNCTION api.check_pepper() OWNER TO starpass_owner;

-- Name: FUNCTION check_pepper(); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.check_pepper() IS 'Whether the session''s promo.pepper (or promo.pepper_previous) is the one the live campaigns were hashed with: MATCH, NO_CAMPAIGNS, UNKNOWN_PEPPER (a warning: some campaigns use a third pepper) or MISMATCH (ok = false); SP500 without a pepper. Never reveals a pepper.';

-- Name: choose_referral_reward(bigint, bigint, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.choose_referral_reward(p_user_id bigint, p_reward_id bigint, p_choice text) RETURNS TABLE(outcome text, choice text, premium_until timestamp with time zone, promo_redemption_id bigint, reserved_until timestamp with time zone, replayed boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now       timestamptz := ops.now();
    v_reward    referral.rewards;
    v_campaign  bigint;
    v_slot_no   smallint;
    v_until     timestamptz;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_value(p_choice, 'referral.reward_choice', 'p_choice');
    -- The first choice wins: a double tap or a replayed callback waits here, then replays.
    SELECT * INTO v_reward FROM referral.rewards AS rw WHERE rw.referral_reward_id = p_reward_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'NOT_FOUND', NULL::text, NULL::timestamptz, NULL::bigint, NULL::timestamptz, false;
        RETURN;
    ELSIF v_reward.referrer_user_id <> p_user_id THEN
        RETURN QUERY SELECT 'NOT_YOURS', NULL::text, NULL::timestamptz, NULL::bigint, NULL::timestamptz, false;
        RETURN;
    ELSIF v_reward.status = 'CANCELLED' THEN
        RETURN QUERY SELECT 'CANCELLED', NULL::text, NULL::timestamptz, NULL::bigint, NULL::timestamptz, false;
        RETURN;
    ELSIF v_reward.status = 'CHOSEN' THEN
        RETURN QUERY SELECT 'CHOSEN', v_reward.choice, v_reward.premium_until, v_reward.promo_redemption_id,
                            (SELECT r.reserved_until FROM promo.promo_redemptions AS r
                             WHERE r.promo_redemption_id = v_reward.promo_redemption_id), true;
        RETURN;
    END IF;

    IF p_choice = 'PREMIUM_DAYS' THEN
        v_reward.premium_until := (billing.post_ledger_entry(p_user_id, 'REFERRAL_PREMIUM', p_reward_id,
            p_premium_days => ops.setting_integer('referral.reward_premium_days'),
            p_actor => 'referral')).premium_until_after;
    ELSE
        -- A personal discount is a reservation of the code-less referral campaign, used through
        -- the normal purchase flow (api.init_purchase with this redemption).
        v_campaign := referral.discount_campaign_id();
        v_slot_no := promo.take_capacity(v_campaign, v_now);
        v_until := v_now + ops.setting_interval('referral.reward_discount_valid');
        INSERT INTO promo.promo_redemptions AS r (promo_code_id, slot_no, user_id, kind, status,
                                                  created_at, reserved_until)
        VALUES (v_campaign, v_slot_no, p_user_id, 'PERCENT_DISCOUNT', 'RESERVED', v_now, v_until)
        RETURNING r.promo_redemption_id INTO v_reward.promo_redemption_id;
    END IF;
    UPDATE referral.rewards AS rw
    SET status = 'CHOSEN', choice = p_choice, chosen_at = v_now, premium_until = v_reward.premium_until,
        promo_redemption_id = v_reward.promo_redemption_id
    WHERE rw.referral_reward_id = p_reward_id;
    RETURN QUERY SELECT 'CHOSEN', p_choice, v_reward.premium_until, v_reward.promo_redemption_id, v_until, false;
END
$$;

ALTER FUNCTION api.choose_referral_reward(p_user_id bigint, p_reward_id bigint, p_choice text) OWNER TO starpass_owner;

-- Name: FUNCTION choose_referral_reward(p_user_id bigint, p_reward_id bigint, p_choice text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.choose_referral_reward(p_user_id bigint, p_reward_id bigint, p_choice text) IS 'The referrer''s one choice of reward: PREMIUM_DAYS (days now) or DISCOUNT (a personal reservation for a purchase). The first choice wins; replays and second choices return it with replayed = true.';

-- Name: claim_alert_deliveries(text[], integer, integer); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.claim_alert_deliveries(p_targets text[], p_limit integer DEFAULT 10, p_lease_seconds integer DEFAULT 60) RETURNS TABLE(delivery_id bigint, target text, provider text, kind text, action text, dedup_key text, attempts integer, created_at timestamp with time zone, alerts jsonb)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now          timestamptz := ops.now();
    v_until        timestamptz;
    v_maintenance  boolean;
    v_overflow     integer;
    v_target       ops.alert_targets;
    v_waiting      integer;
    v_held         boolean;
    v_id           bigint;
BEGIN
    PERFORM ops.check_argument(p_targets IS NOT NULL AND array_position(p_targets, NULL) IS NULL, 'p_targets',
        'name the targets this dispatcher can deliver to', NULL);
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 100, 'p_limit', 'claim sends for 1 to 100 targets', NULL);
    PERFORM ops.check_argument(p_lease_seconds BETWEEN 1 AND 3600, 'p_lease_seconds',
        'a lease is 1 to 3600 seconds', NULL);
    v_until := v_now + p_lease_seconds * interval '1 second';
    v_maintenance := v_now < ops.setting_timestamptz('ops.alert_maintenance_until');
    v_overflow := ops.setting_integer('ops.alert_overflow_after');

    -- One send per free target: a target has one send in flight at a time and the next no
    -- earlier than its provider's interval after the last one ended (ops.release_alert_target),
    -- which holds however many dispatchers claim. A target locked by another claim is skipped.
    -- During a maintenance window PagerDuty targets send nothing (their deliveries wait).
    FOR v_target IN
        SELECT t.* FROM ops.alert_targets AS t
        WHERE t.target = ANY (p_targets) AND t.next_send_at <= v_now
          AND NOT (v_maintenance AND t.provider = 'pagerduty')
          AND EXISTS (SELECT FROM ops.alert_deliveries AS d
                      WHERE d.target = t.target AND d.state = 'pending' AND d.summary_id IS NULL
                        AND d.next_attempt_at <= v_now AND (d.claimed_until IS NULL OR d.claimed_until <= v_now))
        ORDER BY t.next_send_at, t.target
        LIMIT p_limit
        FOR NO KEY UPDATE SKIP LOCKED
    LOOP
        v_id := NULL;
        -- The triggers waiting for this target. More than ops.alert_overflow_after of them, or
        -- several that were held (flood control, a maintenance window), go out as one summary:
        -- each stays a delivery of its own, settled with the summary, so none is dropped.
        SELECT count(*), coalesce(bool_or(d.hold_reason IS NOT NULL), false) INTO v_waiting, v_held
        FROM ops.alert_deliveries AS d
        WHERE d.target = v_target.target AND d.state = 'pending' AND d.summary_id IS NULL
          AND d.kind = 'alert' AND d.action = 'trigger'
          AND d.next_attempt_at <= v_now AND (d.claimed_until IS NULL OR d.claimed_until <= v_now);
        IF v_waiting > v_overflow OR (v_waiting > 1 AND v_held) THEN
            INSERT INTO ops.alert_deliveries AS s (target, kind, created_at, next_attempt_at, attempts, claimed_until)
            VALUES (v_target.target, 'summary', v_now, v_now, 1, v_until)
            RETURNING s.delivery_id INTO v_id;
            UPDATE ops.alert_deliveries AS d SET summary_id = v_id
            WHERE d.delivery_id IN (
                SELECT m.delivery_id FROM ops.alert_deliveries AS m
                WHERE m.target = v_target.target AND m.state = 'pending' AND m.summary_id IS NULL
                  AND m.kind = 'alert' AND m.action = 'trigger'
                  AND m.next_attempt_at <= v_now AND (m.claimed_until IS NULL OR m.claimed_until <= v_now)
                ORDER BY m.next_attempt_at, m.delivery_id
                LIMIT 1000
                FOR UPDATE SKIP LOCKED);
            GET DIAGNOSTICS v_waiting = ROW_COUNT;
            IF v_waiting = 0 THEN  -- all of them taken meanwhile
                DELETE FROM ops.alert_deliveries AS s WHERE s.delivery_id = v_id;
                CONTINUE;
            END IF;
            UPDATE ops.alert_targets AS t SET summaries = t.summaries + 1 WHERE t.target = v_target.target;
        ELSE
            -- The oldest due delivery. A resolve waits while its trigger is still to be routed
            -- or delivered to this target: a provider must see the incident before its end.
            UPDATE ops.alert_deliveries AS d SET claimed_until = v_until, attempts = d.attempts + 1
            WHERE d.delivery_id = (
                SELECT c.delivery_id FROM ops.alert_deliveries AS c
                WHERE c.target = v_target.target AND c.state = 'pending' AND c.summary_id IS NULL
                  AND c.next_attempt_at <= v_now AND (c.claimed_until IS NULL OR c.claimed_until <= v_now)
                  AND NOT (c.action = 'resolve' AND (
                      EXISTS (SELECT FROM ops.alert_deliveries AS t
                              WHERE t.target = c.target AND t.dedup_key = c.dedup_key AND t.action = 'trigger'
                                AND t.state = 'pending' AND t.alert_id < c.alert_id)
                      OR EXISTS (SELECT FROM ops.alert_outbox AS a
                                 WHERE a.dedup_key = c.dedup_key AND a.action = 'trigger'
                                   AND a.state = 'pending' AND a.routed_at IS NULL AND a.alert_id < c.alert_id)))
                ORDER BY c.next_attempt_at, c.delivery_id
                LIMIT 1
                FOR UPDATE SKIP LOCKED)
            RETURNING d.delivery_id INTO v_id;
            CONTINUE WHEN v_id IS NULL;  -- only resolves waiting for their triggers
        END IF;
        UPDATE ops.alert_targets AS t
        SET next_send_at = v_until, busy_with = v_id,
            busy_attempt = (SELECT d.attempts FROM ops.alert_deliveries AS d WHERE d.delivery_id = v_id)
        WHERE t.target = v_target.target;

        RETURN QUERY
        SELECT d.delivery_id, d.target, split_part(d.target, ':', 1), d.kind, d.action,
               coalesce(d.dedup_key, 'ops.alerts_summarized:' || d.delivery_id), d.attempts, d.created_at,
               (SELECT jsonb_agg(jsonb_build_object(
                           'alert_id', a.alert_id, 'event', a.event, 'severity', a.severity,
                           'summary', a.summary, 'details', a.details, 'dedup_key', a.dedup_key,
                           'created_at', to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                           'action', a.action, 'resolves', a.resolves, 'attempts', m.attempts,
                           'hold_reason', m.hold_reason)
                       ORDER BY a.alert_id)
                FROM ops.alert_deliveries AS m
                JOIN ops.alert_outbox AS a ON a.alert_id = m.alert_id
                WHERE m.delivery_id = d.delivery_id OR m.summary_id = d.delivery_id)
        FROM ops.alert_deliveries AS d WHERE d.delivery_id = v_id;
    END LOOP;
END
$$;

ALTER FUNCTION api.claim_alert_deliveries(p_targets text[], p_limit integer, p_lease_seconds integer) OWNER TO starpass_owner;

-- Name: FUNCTION claim_alert_deliveries(p_targets text[], p_limit integer, p_lease_seconds integer); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.claim_alert_deliveries(p_targets text[], p_limit integer, p_lease_seconds integer) IS 'For dispatchers: leases one send for each free target among p_targets (up to p_limit targets, SKIP LOCKED): its oldest due delivery, or a summary of everything waiting beyond ops.alert_overflow_after; the target sends nothing else until the send is acked or failed.';

-- Name: claim_alerts(integer, integer); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.claim_alerts(p_limit integer DEFAULT 10, p_lease_seconds integer DEFAULT 60) RETURNS TABLE(alert_id bigint, event text, severity text, summary text, details jsonb, dedup_key text, created_at timestamp with time zone, attempts integer, action text, resolves text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 1000, 'p_limit', 'claim 1 to 1000 alerts', NULL);
    PERFORM ops.check_argument(p_lease_seconds BETWEEN 1 AND 3600, 'p_lease_seconds',
        'a lease is 1 to 3600 seconds', NULL);
    -- Alerts waiting to be routed (api.route_alert) that nobody holds a live lease on, oldest
    -- first (a trigger is routed before its resolve); a crashed dispatcher's lease runs out and
    -- its claims come back.
    RETURN QUERY
    WITH due AS (
        SELECT a.alert_id FROM ops.alert_outbox AS a
        WHERE a.state = 'pending' AND a.routed_at IS NULL AND a.next_attempt_at <= v_now
          AND (a.claimed_until IS NULL OR a.claimed_until <= v_now)
        ORDER BY a.next_attempt_at, a.alert_id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE ops.alert_outbox AS a
    SET claimed_until = v_now + p_lease_seconds * interval '1 second', attempts = a.attempts + 1
    FROM due WHERE a.alert_id = due.alert_id
    RETURNING a.alert_id, a.event, a.severity, a.summary, a.details, a.dedup_key, a.created_at, a.attempts,
              a.action, a.resolves;
END
$$;

ALTER FUNCTION api.claim_alerts(p_limit integer, p_lease_seconds integer) OWNER TO starpass_owner;

-- Name: FUNCTION claim_alerts(p_limit integer, p_lease_seconds integer); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.claim_alerts(p_limit integer, p_lease_seconds integer) IS 'For dispatchers: leases up to p_limit pending alerts that are not routed yet (SKIP LOCKED) for p_lease_seconds, to route them with api.route_alert; an expired lease makes an alert claimable again.';

-- Name: claim_telegram_update(bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.claim_telegram_update(p_update_id bigint) RETURNS TABLE(outcome text, attempts integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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

ALTER FUNCTION api.claim_telegram_update(p_update_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION claim_telegram_update(p_update_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.claim_telegram_update(p_update_id bigint) IS 'The webhook''s dedup by update_id: NEW, BUSY (another delivery holds its lease), RETRY (an earlier delivery did not finish within its lease; this one takes it) or DUPLICATE (already handled); prunes entries older than a week.';

-- Name: complete_purchase(bigint, text, text, text, bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.complete_purchase(p_user_id bigint, p_invoice_payload text, p_telegram_payment_charge_id text, p_currency text, p_total_amount bigint) RETURNS api.complete_purchase_result
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now         timestamptz := ops.now();
    v_key         text;
    v_hash        bytea := ops.request_hash(jsonb_build_array(p_user_id, p_invoice_payload, p_currency, p_total_amount));
    v_purchase    billing.purchases;
    v_redemption  promo.promo_redemptions;
    v_result      api.complete_purchase_result;
BEGIN
    PERFORM ops.require_read_committed('complete_purchase');
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(char_length(p_telegram_payment_charge_id) BETWEEN 1 AND 255,
        'p_telegram_payment_charge_id', 'a charge id is 1 to 255 characters', NULL);
    PERFORM ops.check_argument(char_length(p_invoice_payload) BETWEEN 1 AND 255, 'p_invoice_payload',
        'an invoice payload is 1 to 255 characters', NULL);
    PERFORM ops.check_argument(char_length(p_currency) BETWEEN 1 AND 16, 'p_currency',
        'a currency is 1 to 16 characters', NULL);
    PERFORM ops.check_argument(p_total_amount IS NOT NULL, 'p_total_amount', 'the amount is missing', NULL);

    -- The charge id is the payment's idempotency key, but Telegram does not promise it fits the
    -- key's rule (it may be longer than 128 characters or hold other characters): the key is its
    -- hex sha256. billing.payments keeps the charge id itself.
    v_key := encode(pg_catalog.sha256(convert_to(p_telegram_payment_charge_id, 'UTF8')), 'hex');
    v_result := ops.idempotent_answer(NULL::api.complete_purchase_result,
                                      ops.find_idempotent('billing.complete_purchase', v_key, v_hash));
    IF v_result.outcome = 'IDEMPOTENCY_CONFLICT' THEN
        -- Telegram never sends one charge id with two sets of details: someone or something
        -- forged or garbled a payment. Nothing is settled; an operator looks (the alert commits
        -- with this answer).
        PERFORM ops.raise_alert('payments.charge_id_conflict', 'critical',
            left(format('payment %s arrived again with other details (%s %s from user %s)',
                        p_telegram_payment_charge_id, p_total_amount, p_currency, p_user_id), 500),
            jsonb_build_object('telegram_payment_charge_id', p_telegram_payment_charge_id,
                               'user_id', p_user_id, 'currency', p_currency, 'total_amount', p_total_amount),
            'payments.charge_id_conflict:' || v_key);
        RETURN v_result;
    ELSIF v_result.outcome IS NOT NULL THEN
        RETURN v_result;  -- a replay
    END IF;

    -- Lock, in the one order: the payer (as in redemption, before any slot: a referral
    -- registered for this user is either committed before the first payment looks for it, or
    -- refused as ALREADY_PAID), the reservation's capacity slot (its consumption moves a unit),
    -- the reservation, the purchase.
    PERFORM core.ensure_user(p_user_id);
    PERFORM promo.lock_user(p_user_id);
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.invoice_payload = p_invoice_payload;
    IF FOUND AND v_purchase.promo_redemption_id IS NOT NULL THEN
        SELECT * INTO v_redemption FROM promo.promo_redemptions AS r
        WHERE r.promo_redemption_id = v_purchase.promo_redemption_id;
        PERFORM FROM promo.capacity_slots AS s
        WHERE s.promo_code_id = v_redemption.promo_code_id AND s.slot_no = v_redemption.slot_no
        FOR UPDATE;
        SELECT * INTO v_redemption FROM promo.promo_redemptions AS r
        WHERE r.promo_redemption_id = v_purchase.promo_redemption_id
        FOR UPDATE;
    END IF;
    IF v_purchase.purchase_id IS NOT NULL THEN
        SELECT * INTO v_purchase FROM billing.purchases AS p
        WHERE p.purchase_id = v_purchase.purchase_id
        FOR UPDATE;
    END IF;

    -- Decide, from the locked rows.
    v_result.outcome := billing.settlement_outcome(v_purchase, p_user_id, p_currency, p_total_amount);

    -- Then record it, once.
    IF v_result.outcome = 'PAID' THEN
        v_result := billing.settle_purchase(v_purchase, v_redemption, p_telegram_payment_charge_id, v_now);
    ELSE
        PERFORM billing.alert_unsettled_payment(v_result.outcome, v_purchase, p_user_id,
                                                p_telegram_payment_charge_id, p_currency, p_total_amount);
        v_result.purchase_id := v_purchase.purchase_id;
        v_result.replayed := false;
    END IF;
    INSERT INTO billing.payments (telegram_payment_charge_id, user_id, invoice_payload, currency,
                                  total_amount, purchase_id, outcome, received_at)
    VALUES (p_telegram_payment_charge_id, p_user_id, p_invoice_payload, p_currency, p_total_amount,
            v_purchase.purchase_id, v_result.outcome, v_now);
    PERFORM ops.save_idempotent('billing.complete_purchase', v_key, v_hash, to_jsonb(v_result));
    RETURN v_result;
END
$$;

ALTER FUNCTION api.complete_purchase(p_user_id bigint, p_invoice_payload text, p_telegram_payment_charge_id text, p_currency text, p_total_amount bigint) OWNER TO starpass_owner;

-- Name: FUNCTION complete_purchase(p_user_id bigint, p_invoice_payload text, p_telegram_payment_charge_id text, p_currency text, p_total_amount bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.complete_purchase(p_user_id bigint, p_invoice_payload text, p_telegram_payment_charge_id text, p_currency text, p_total_amount bigint) IS 'Settles a successful_payment, idempotently by charge id: PAID (premium granted, reservation consumed, ledger written, referral reward offered on a first purchase), or MISMATCH / DUPLICATE / UNKNOWN_PURCHASE (recorded, alerted, nothing granted); IDEMPOTENCY_CONFLICT (alerted, nothing recorded) for a charge id seen with other details.';

-- Name: create_promo_code(text, text, text, integer, integer, integer, integer, timestamp with time zone, timestamp with time zone, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.create_promo_code(p_code text, p_kind text, p_campaign text, p_grant_days integer DEFAULT NULL::integer, p_discount_percent integer DEFAULT NULL::integer, p_max_uses integer DEFAULT NULL::integer, p_per_user_limit integer DEFAULT 1, p_starts_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_ends_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_prefix text DEFAULT NULL::text, p_actor text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now        timestamptz := ops.now();
    v_starts_at  timestamptz := coalesce(p_starts_at, v_now);
    v_actor      text := coalesce(p_actor, 'db:' || session_user);
    v_code       text := promo.normalize_code(p_code);
    v_prefix     text;
    v_refusal    text;
    v_pepper     bytea := promo.pepper();
    v_pepper_id  bytea := promo.pepper_id(v_pepper);
    v_previous   bytea := promo.pepper(p_previous => true);
    v_hash       bytea := promo.hmac(v_code, v_pepper);
    v_hash_prev  bytea := promo.hmac(v_code, v_previous);  -- NULL without a rotation
    v_id         bigint;
BEGIN
    -- The checks a batch import makes too (promo.check_campaign_terms, promo.code_refusal), each
    -- called as an expression rather than a PERFORM (a full SPI query): creation is benchmarked.
    v_prefix := promo.check_campaign_terms(p_kind, p_campaign, p_grant_days, p_discount_percent,
        p_max_uses, p_per_user_limit, p_starts_at, p_ends_at, p_prefix, v_actor, v_now);
    v_refusal := promo.code_refusal(v_code, v_prefix,
        upper(regexp_replace(p_campaign, '[^A-Za-z0-9]', '', 'g')));
    IF v_refusal IS NOT NULL THEN
        PERFORM promo.refuse_code(v_refusal);
    END IF;
    -- A code with the pattern of a generated batch code must carry its check character: the
    -- redemption refuses it otherwise, before looking it up (docs/promo.md, "Batch codes").
    IF promo.has_wrong_check_character(v_code) THEN
        PERFORM promo.refuse_code('check_character');
    END IF;
    IF v_previous IS NULL THEN
        PERFORM promo.check_rotation(v_pepper_id);
    END IF;
    -- A code hashed under the previous pepper is the same code (one probe of the unique index).
    IF EXISTS (SELECT FROM promo.promo_codes AS c
               WHERE c.code_hash IN (v_hash, v_hash_prev)) THEN
        RAISE EXCEPTION USING ERRCODE = 'SPDUP', CONSTRAINT = 'duplicate_code', MESSAGE = 'promo code already exists',
            DETAIL = 'another campaign uses this code (codes are unique for ever, ended campaigns included)',
            HINT = 'Choose another code.';
    END IF;

    BEGIN
        INSERT INTO promo.promo_codes (campaign, code_hash, pepper_id, kind, grant_days, discount_percent,
                                       max_uses, per_user_limit, starts_at, ends_at, prefix,
                                       created_at, created_by, updated_at)
        VALUES (btrim(p_campaign), v_hash, v_pepper_id, p_kind, p_grant_days,
                p_discount_percent, p_max_uses, p_per_user_limit, v_starts_at, p_ends_at, v_prefix,
                v_now, v_actor, v_now)
        RETURNING promo_code_id INTO v_id;
    EXCEPTION WHEN unique_violation THEN  -- the same code created concurrently
        RAISE EXCEPTION USING ERRCODE = 'SPDUP', CONSTRAINT = 'duplicate_code', MESSAGE = 'promo code already exists',
            DETAIL = 'another campaign uses this code', HINT = 'Choose another code.';
    END;

    INSERT INTO promo.capacity_slots (promo_code_id, slot_no, capacity)
    SELECT v_id, c.slot_no, c.capacity FROM promo.slot_capacities(p_max_uses) AS c;

    PERFORM ops.write_audit(v_actor, 'promo.campaign_created', 'promo_code', v_id::text, NULL,
        jsonb_build_object('campaign', btrim(p_campaign), 'kind', p_kind, 'grant_days', p_grant_days,
                           'discount_percent', p_discount_percent, 'max_uses', p_max_uses,
                           'per_user_limit', p_per_user_limit, 'starts_at', v_starts_at,
                           'ends_at', p_ends_at, 'prefix', v_prefix));
    RETURN v_id;
END
$$;

ALTER FUNCTION api.create_promo_code(p_code text, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text) OWNER TO starpass_owner;

-- Name: FUNCTION create_promo_code(p_code text, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.create_promo_code(p_code text, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text) IS 'Creates a campaign for one code (stored only as its HMAC); validates every field (SP422; timestamps within ops.timestamp_range()), refuses a code in use (SPDUP), audits; returns promo_code_id.';

-- Name: delete_user_data(bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.delete_user_data(p_user_id bigint) RETURNS TABLE(outcome text, data_deleted_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM core.check_user_id(p_user_id);
    -- The profile goes; the Telegram id stays as the key of payments and the ledger, which
    -- German commercial and tax law require us to keep (HGB §257, AO §147: 6 to 10 years).
    UPDATE core.users AS u
    SET username = NULL, first_name = NULL, language_code = NULL, terms_version = NULL,
        terms_accepted_at = NULL, data_deleted_at = v_now, updated_at = v_now
    WHERE u.user_id = p_user_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'NOTHING_STORED'::text, NULL::timestamptz;
        RETURN;
    END IF;
    -- What the user wrote to payment support is personal, not a financial record: it goes too;
    -- that a request was made (and when) stays with the payments it may concern.
    UPDATE billing.support_requests AS s SET message = '(deleted at the user''s request)'
    WHERE s.user_id = p_user_id AND s.message <> '(deleted at the user''s request)';
    PERFORM ops.write_audit('user:' || p_user_id, 'core.user_data_deleted', 'user', p_user_id::text,
                            'request by the user', '{}'::jsonb);
    RETURN QUERY SELECT 'DELETED'::text, v_now;
END
$$;

ALTER FUNCTION api.delete_user_data(p_user_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION delete_user_data(p_user_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.delete_user_data(p_user_id bigint) IS 'A user''s data-deletion request: clears the stored profile (username, first name, language, terms acceptance), keeps financial records and the id they are keyed by; DELETED or NOTHING_STORED; audited.';

-- Name: expire_promo_reservations(integer); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.expire_promo_reservations(p_limit integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now      timestamptz := ops.now();
    v_expired  integer;
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 100000, 'p_limit', 'a batch is 1 to 100000 rows', NULL);
    -- Lock order slot -> redemption, as everywhere: slots are taken with SKIP LOCKED (a busy one
    -- waits for the next run), then the reservations, re-checked: a reservation consumed or
    -- extended meanwhile is left alone.
    WITH candidates AS (
        SELECT r.promo_redemption_id, r.promo_code_id, r.slot_no
        FROM promo.promo_redemptions AS r
        WHERE r.status = 'RESERVED' AND r.reserved_until <= v_now
        ORDER BY r.reserved_until
        LIMIT p_limit
    ), free_slots AS (
        SELECT s.promo_code_id, s.slot_no
        FROM promo.capacity_slots AS s
        WHERE (s.promo_code_id, s.slot_no) IN (SELECT c.promo_code_id, c.slot_no FROM candidates AS c)
        FOR UPDATE OF s SKIP LOCKED
    ), expired AS (
        -- promo.book_capacity releases each expired reservation's unit from its slot.
        UPDATE promo.promo_redemptions AS r
        SET status = 'EXPIRED', expired_at = v_now
        FROM candidates AS c JOIN free_slots AS f USING (promo_code_id, slot_no)
        WHERE r.promo_redemption_id = c.promo_redemption_id
          AND r.status = 'RESERVED' AND r.reserved_until <= v_now
        RETURNING r.promo_redemption_id
    )
    SELECT count(*) INTO v_expired FROM expired;
    RETURN v_expired;
END
$$;

ALTER FUNCTION api.expire_promo_reservations(p_limit integer) OWNER TO starpass_owner;

-- Name: FUNCTION expire_promo_reservations(p_limit integer); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.expire_promo_reservations(p_limit integer) IS 'Job: RESERVED -> EXPIRED for holds that have passed (pre-checkout grace included), releasing their capacity, in one bounded batch; returns how many. Never expires a reservation consumed or extended meanwhile.';

-- Name: fail_alert_delivery(bigint, integer, text, double precision, text, double precision); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.fail_alert_delivery(p_delivery_id bigint, p_attempt integer, p_error text, p_retry_in double precision, p_fallback text DEFAULT NULL::text, p_target_wait double precision DEFAULT NULL::double precision) RETURNS TABLE(delivery_id bigint, state text, changed boolean, next_attempt_at timestamp with time zone, fallbacks integer, send_again_in double precision)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    v_now        timestamptz := ops.now();
    v_delivery   ops.alert_deliveries;
    v_dead       boolean := p_retry_in IS NULL;
    v_fallbacks  integer := 0;
    v_count      integer := 0;
BEGIN
    PERFORM ops.check_argument(p_attempt >= 1, 'p_attempt', 'the attempt a claim returned (1 or more)', NULL);
    PERFORM ops.check_argument(char_length(p_error) BETWEEN 1 AND 2000, 'p_error',
        'say why the delivery failed (1 to 2000 characters)', NULL);
    PERFORM ops.check_argument(p_retry_in IS NULL OR p_retry_in BETWEEN 0 AND 604800, 'p_retry_in',
        'retry within 0 to 604800 seconds (a week), or NULL for dead', NULL);
    PERFORM ops.check_argument(p_target_wait IS NULL OR p_target_wait BETWEEN 0 AND 86400, 'p_target_wait',
        'a target waits 0 to 86400 seconds (a day)', NULL);
    PERFORM ops.check_argument(p_fallback IS NULL OR p_fallback ~ '^(generic|slack|pagerduty)(:[A-Za-z0-9#._-]{1,80})?$',
        'p_fallback', 'a fallback is a target name', NULL);
    v_delivery := ops.lock_alert_delivery(p_delivery_id);

    -- Only the attempt that holds the claim records its failure: one whose lease ran out while
    -- another attempt is under way (or that was delivered meanwhile) changes nothing.
    IF v_delivery.state <> 'pending' OR v_delivery.attempts <> p_attempt THEN
        RETURN QUERY SELECT p_delivery_id, v_delivery.state, false, v_delivery.next_attempt_at, 0,
                            ops.release_alert_target(v_delivery.target, p_delivery_id, p_attempt,
                                                     v_now + p_target_wait * interval '1 second');
        RETURN;
    END IF;
    UPDATE ops.alert_deliveries AS d
    SET last_error = p_error, claimed_until = NULL, failures = d.failures + 1,
        state = CASE WHEN v_dead THEN 'dead' ELSE 'pending' END,
        dead_at = CASE WHEN v_dead THEN v_now END,
        next_attempt_at = CASE WHEN v_dead THEN d.next_attempt_at ELSE v_now + p_retry_in * interval '1 second' END,
        fallback_target = CASE WHEN v_dead AND d.kind = 'alert' THEN p_fallback END
    WHERE d.delivery_id = p_delivery_id
    RETURNING d.* INTO v_delivery;
    UPDATE ops.alert_targets AS t SET failed = t.failed + 1 WHERE t.target = v_delivery.target;

    IF v_dead THEN
        -- A summary's alerts die with it (each may still fall back, as its own delivery).
        UPDATE ops.alert_deliveries AS m
        SET state = 'dead', dead_at = v_now, claimed_until = NULL, last_error = p_error, fallback_target = p_fallback
        WHERE m.summary_id = p_delivery_id AND m.state = 'pending';
        UPDATE ops.alert_targets AS t
        SET dead = t.dead + (SELECT count(*) FROM ops.alert_deliveries AS m
                             WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.kind = 'alert')
        WHERE t.target = v_delivery.target;
        -- Fall back (a provider that refused for good, or ran out of attempts): the same alerts
        -- once more to the fallback target, unless it has them already.
        IF p_fallback IS NOT NULL AND p_fallback <> v_delivery.target THEN
            INSERT INTO ops.alert_targets AS t (target) VALUES (p_fallback) ON CONFLICT (target) DO NOTHING;
            INSERT INTO ops.alert_deliveries AS f (alert_id, target, action, dedup_key, fallback_for, created_at, next_attempt_at)
            SELECT m.alert_id, p_fallback, m.action, m.dedup_key, m.delivery_id, v_now, v_now
            FROM ops.alert_deliveries AS m
            WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.kind = 'alert'
            ON CONFLICT (alert_id, target) DO NOTHING;
            GET DIAGNOSTICS v_fallbacks = ROW_COUNT;
        END IF;
        PERFORM ops.settle_alert(m.alert_id) FROM ops.alert_deliveries AS m
        WHERE (m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id) AND m.alert_id IS NOT NULL;
    END IF;
    RETURN QUERY SELECT p_delivery_id, v_delivery.state, true, v_delivery.next_attempt_at, v_fallbacks,
                        ops.release_alert_target(v_delivery.target, p_delivery_id, p_attempt,
                                                 v_now + p_target_wait * interval '1 second');
END
$_$;

ALTER FUNCTION api.fail_alert_delivery(p_delivery_id bigint, p_attempt integer, p_error text, p_retry_in double precision, p_fallback text, p_target_wait double precision) OWNER TO starpass_owner;

-- Name: FUNCTION fail_alert_delivery(p_delivery_id bigint, p_attempt integer, p_error text, p_retry_in double precision, p_fallback text, p_target_wait double precision); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.fail_alert_delivery(p_delivery_id bigint, p_attempt integer, p_error text, p_retry_in double precision, p_fallback text, p_target_wait double precision) IS 'For dispatchers: records a failed send of this claim: retried in p_retry_in seconds, or dead when NULL (then the alerts fall back to p_fallback); p_target_wait (a Retry-After) holds the whole target; returns the seconds until the target may send again.';

-- Name: finish_telegram_update(bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.finish_telegram_update(p_update_id bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    UPDATE core.telegram_updates AS u SET handled_at = coalesce(u.handled_at, ops.now())
    WHERE u.update_id = p_update_id;
    RETURN FOUND;
END
$$;

ALTER FUNCTION api.finish_telegram_update(p_update_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION finish_telegram_update(p_update_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.finish_telegram_update(p_update_id bigint) IS 'Marks a claimed update handled, so a redelivery is answered as DUPLICATE; false when it was never claimed.';

-- Name: get_alert_metrics(); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.get_alert_metrics() RETURNS TABLE(target text, provider text, delivered bigint, failed bigint, dead bigint, summaries bigint, pending bigint, held bigint, oldest_pending_seconds double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now          timestamptz := ops.now();
    v_maintenance  boolean := ops.now() < ops.setting_timestamptz('ops.alert_maintenance_until');
BEGIN
    -- Per target: the counters (deliveries of alerts delivered and dead, failed sends, summaries
    -- sent) and the backlog (pending deliveries; held: waiting for a flood window or a
    -- maintenance window to end). Database-wide figures: every instance reports the same.
    RETURN QUERY
    SELECT t.target, t.provider, t.delivered, t.failed, t.dead, t.summaries,
           count(d.delivery_id) FILTER (WHERE d.kind = 'alert'),
           count(d.delivery_id) FILTER (WHERE d.kind = 'alert' AND (
               (d.hold_reason = 'flood' AND d.next_attempt_at > v_now)
               OR (v_maintenance AND t.provider = 'pagerduty'))),
           coalesce(extract(epoch FROM v_now - min(d.created_at)), 0)::double precision
    FROM ops.alert_targets AS t
    LEFT JOIN ops.alert_deliveries AS d ON d.target = t.target AND d.state = 'pending'
    GROUP BY t.target, t.provider, t.delivered, t.failed, t.dead, t.summaries
    ORDER BY t.target;
END
$$;

ALTER FUNCTION api.get_alert_metrics() OWNER TO starpass_owner;

-- Name: FUNCTION get_alert_metrics(); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.get_alert_metrics() IS 'Figures for /metrics per alert target: deliveries delivered, dead, failed sends, summaries, and the pending and held backlog with the age of its oldest delivery.';

-- Name: get_ops_metrics(); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.get_ops_metrics() RETURNS TABLE(metric text, label text, value double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    -- Alerts waiting for a dispatcher, by state (dead ones need an operator).
    RETURN QUERY
    SELECT 'alert_outbox_backlog', s.state, count(a.alert_id)::double precision
    FROM unnest(ARRAY['pending', 'dead']) AS s(state)
    LEFT JOIN ops.alert_outbox AS a ON a.state = s.state
    GROUP BY s.state;
    -- Per scheduled job, from pg_cron: job_never_succeeded (1 or 0, for every job, so an alert
    -- rule always has a series) and, only for a job that has succeeded, the seconds since its
    -- last success. A job that never ran has no age to report; its staleness is
    -- api.check_job_health's (counted from when it was installed in its current form).
    IF to_regclass('cron_remote.job_run_details') IS NOT NULL THEN
        RETURN QUERY EXECUTE $q$
            WITH j AS (
                SELECT j.job_name,
                       (SELECT max(d.end_time) FROM cron_remote.job AS c
                        JOIN cron_remote.job_run_details AS d USING (jobid)
                        WHERE c.jobname = j.cron_name AND d.status = 'succeeded') AS last_success
                FROM ops.jobs AS j
            )
            SELECT 'job_never_succeeded', j.job_name,
                   CASE WHEN j.last_success IS NULL THEN 1 ELSE 0 END::double precision
            FROM j
            UNION ALL
            SELECT 'job_seconds_since_success', j.job_name,
                   extract(epoch FROM $1 - j.last_success)::double precision
            FROM j WHERE j.last_success IS NOT NULL
        $q$ USING v_now;
    END IF;
END
$_$;

ALTER FUNCTION api.get_ops_metrics() OWNER TO starpass_owner;

-- Name: FUNCTION get_ops_metrics(); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.get_ops_metrics() IS 'Figures for /metrics: the alert outbox backlog by state; per job, whether it never succeeded and the seconds since its last success (only if it did).';

-- Name: get_premium_status(bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.get_premium_status(p_user_id bigint) RETURNS TABLE(user_id bigint, is_premium boolean, premium_until timestamp with time zone, checked_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now    timestamptz := ops.now();
    v_until  timestamptz;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    SELECT e.premium_until INTO v_until FROM billing.entitlements AS e WHERE e.user_id = p_user_id;
    RETURN QUERY SELECT p_user_id, coalesce(v_until > v_now, false), v_until, v_now;
END
$$;

ALTER FUNCTION api.get_premium_status(p_user_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION get_premium_status(p_user_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.get_premium_status(p_user_id bigint) IS 'Whether a user has premium now and until when (premium_until may lie in the past; NULL if never).';

-- Name: get_promo_campaign(bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.get_promo_campaign(p_promo_code_id bigint) RETURNS TABLE(promo_code_id bigint, campaign text, kind text, grant_days integer, discount_percent integer, max_uses integer, per_user_limit integer, starts_at timestamp with time zone, ends_at timestamp with time zone, prefix text, status text, effective_status text, paused_reason text, created_at timestamp with time zone, created_by text, used_total bigint, applied bigint, live_reservations bigint, consumed bigint, revoked bigint, capacity_left bigint, failed_attempts_24h bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    RETURN QUERY
    SELECT c.promo_code_id, c.campaign, c.kind, c.grant_days, c.discount_percent, c.max_uses,
           c.per_user_limit, c.starts_at, c.ends_at, c.prefix, c.status,
           -- Time and capacity decide before the rollover job writes EXPIRED or DEPLETED.
           CASE WHEN c.ends_at <= v_now THEN 'EXPIRED'
                WHEN c.status = 'ACTIVE' AND c.max_uses - s.used - r.live <= 0 THEN 'DEPLETED'
                ELSE c.status END,
           c.paused_reason, c.created_at, c.created_by,
           s.used, r.applied, r.live, r.consumed, r.revoked,
           c.max_uses - s.used - r.live,
           (SELECT count(*) FROM promo.promo_attempts AS a
            WHERE a.promo_code_id = c.promo_code_id AND a.counted
              AND a.created_at > v_now - interval '24 hours')
    FROM promo.promo_codes AS c
    CROSS JOIN LATERAL (SELECT coalesce(sum(cs.used), 0)::bigint AS used
                        FROM promo.capacity_slots AS cs
                        WHERE cs.promo_code_id = c.promo_code_id) AS s
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE x.status = 'APPLIED') AS applied,
               count(*) FILTER (WHERE x.status = 'RESERVED' AND x.reserved_until > v_now) AS live,
               count(*) FILTER (WHERE x.status = 'CONSUMED') AS consumed,
               count(*) FILTER (WHERE x.status = 'REVOKED') AS revoked
        FROM promo.promo_redemptions AS x WHERE x.promo_code_id = c.promo_code_id) AS r
    WHERE c.promo_code_id = p_promo_code_id
      AND NOT c.internal;  -- the code-less referral campaign is not an admin's: as if absent
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'campaign_not_found', MESSAGE = 'promo campaign not found',
            DETAIL = format('no campaign with id %s', p_promo_code_id);
    END IF;
END
$$;

ALTER FUNCTION api.get_promo_campaign(p_promo_code_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION get_promo_campaign(p_promo_code_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.get_promo_campaign(p_promo_code_id bigint) IS 'A campaign (never its code) with live figures: used_total, applied, live reservations, consumed, revoked, capacity left, failed attempts in 24 h.';

-- Name: get_promo_throttle(bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.get_promo_throttle(p_user_id bigint) RETURNS TABLE(user_id bigint, is_blocked boolean, blocked_until timestamp with time zone, failures_in_window bigint, max_failures integer, window_length interval, counting_since timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now     timestamptz := ops.now();
    v_window  interval := ops.setting_interval('promo.throttle_window');
    v_state   promo.user_throttle;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    SELECT * INTO v_state FROM promo.user_throttle AS t WHERE t.user_id = p_user_id;
    RETURN QUERY
    SELECT p_user_id, coalesce(v_state.blocked_until > v_now, false),
           CASE WHEN v_state.blocked_until > v_now THEN v_state.blocked_until END,
           (SELECT count(*) FROM promo.promo_attempts AS a
            WHERE a.user_id = p_user_id AND a.counted AND a.created_at > v_now - v_window
              AND a.attempt_id > coalesce(v_state.counting_after_attempt_id, 0)),
           ops.setting_integer('promo.throttle_max_failures'), v_window, v_state.counting_since;
END
$$;

ALTER FUNCTION api.get_promo_throttle(p_user_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION get_promo_throttle(p_user_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.get_promo_throttle(p_user_id bigint) IS 'A user''s redemption throttle: blocked and until when, counted failures in the sliding window, the threshold.';

-- Name: get_referral_code(bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.get_referral_code(p_user_id bigint) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    -- 32 symbols without 0/O and 1/I: unambiguous when read aloud or typed.
    c_alphabet  constant text := 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    v_code      text;
    v_bytes     bytea;
BEGIN
    PERFORM core.ensure_user(p_user_id);
    LOOP
        SELECT c.code INTO v_code FROM referral.codes AS c WHERE c.user_id = p_user_id;
        IF FOUND THEN
            RETURN v_code;
        END IF;
        -- Random, never derived from the Telegram id; 50 bits, so a collision is only retried.
        v_bytes := extensions.gen_random_bytes(10);
        SELECT string_agg(substr(c_alphabet, get_byte(v_bytes, i) % 32 + 1, 1), '' ORDER BY i)
        INTO v_code FROM generate_series(0, 9) AS i;
        INSERT INTO referral.codes (user_id, code, created_at)
        VALUES (p_user_id, v_code, ops.now())
        ON CONFLICT DO NOTHING;
    END LOOP;
END
$$;

ALTER FUNCTION api.get_referral_code(p_user_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION get_referral_code(p_user_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.get_referral_code(p_user_id bigint) IS 'The user''s public referral code (10 random characters), created on first use.';

-- Name: get_terms_status(bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.get_terms_status(p_user_id bigint) RETURNS TABLE(terms_version text, terms_accepted boolean, accepted_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_current  text := ops.setting_value('billing.terms_version', 'text');
BEGIN
    PERFORM core.check_user_id(p_user_id);
    RETURN QUERY
    SELECT v_current, coalesce(u.terms_version = v_current, false),
           CASE WHEN u.terms_version = v_current THEN u.terms_accepted_at END
    FROM (SELECT 1) AS one
    LEFT JOIN core.users AS u ON u.user_id = p_user_id;
END
$$;

ALTER FUNCTION api.get_terms_status(p_user_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION get_terms_status(p_user_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.get_terms_status(p_user_id bigint) IS 'The current terms version (billing.terms_version) and whether and when the user accepted it.';

-- Name: greet_user(bigint, text, text, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.greet_user(p_user_id bigint, p_username text DEFAULT NULL::text, p_first_name text DEFAULT NULL::text, p_language_code text DEFAULT NULL::text, p_referral_code text DEFAULT NULL::text) RETURNS TABLE(created boolean, referral_outcome text, is_premium boolean, premium_until timestamp with time zone, referral_code text, terms_version text, terms_accepted boolean, plans jsonb)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_user  record;
BEGIN
    -- The bot's /start in one call: the profile as Telegram sends it now, the deep link's
    -- referral, and what the welcome message shows.
    SELECT * INTO v_user FROM api.touch_user(p_user_id, p_username, p_first_name, p_language_code);
    created := v_user.created;
    IF p_referral_code IS NOT NULL THEN
        SELECT r.outcome INTO referral_outcome FROM api.register_referral(p_user_id, p_referral_code) AS r;
    END IF;
    SELECT s.is_premium, s.premium_until INTO is_premium, premium_until
    FROM api.get_premium_status(p_user_id) AS s;
    referral_code := api.get_referral_code(p_user_id);
    SELECT t.terms_version, t.terms_accepted INTO terms_version, terms_accepted
    FROM api.get_terms_status(p_user_id) AS t;
    -- WITH ORDINALITY keeps list_plans' display order (row_number() OVER () does not promise it),
    -- and the objects carry only the plan's fields.
    SELECT coalesce(jsonb_agg(jsonb_build_object('plan_code', l.plan_code, 'title', l.title,
                                                 'premium_days', l.premium_days, 'price_stars', l.price_stars)
                              ORDER BY l.ord), '[]'::jsonb) INTO plans
    FROM api.list_plans() WITH ORDINALITY
         AS l (plan_code, title, description, premium_days, price_stars, currency, is_active, ord);
    RETURN NEXT;
END
$$;

ALTER FUNCTION api.greet_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text, p_referral_code text) OWNER TO starpass_owner;

-- Name: FUNCTION greet_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text, p_referral_code text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.greet_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text, p_referral_code text) IS 'The bot''s /start: stores the Telegram profile, registers a deep-link referral (referral_outcome as api.register_referral), and returns premium status, the user''s referral code, whether the current terms are accepted and the plans on sale.';

-- Name: import_promo_codes(uuid, text, text, integer, integer, integer, integer, timestamp with time zone, timestamp with time zone, text, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.import_promo_codes(p_batch_id uuid, p_kind text, p_campaign text, p_grant_days integer DEFAULT NULL::integer, p_discount_percent integer DEFAULT NULL::integer, p_max_uses integer DEFAULT 1, p_per_user_limit integer DEFAULT 1, p_starts_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_ends_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_prefix text DEFAULT NULL::text, p_actor text DEFAULT NULL::text, p_mode text DEFAULT 'ALL_OR_NOTHING'::text) RETURNS TABLE(line bigint, promo_code_id bigint, status text, reason text, code text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '64MB'
    SET jit TO 'off'
    AS $$
DECLARE
    v_now        timestamptz := ops.now();
    v_starts_at  timestamptz := coalesce(p_starts_at, v_now);
    v_actor      text := coalesce(p_actor, 'db:' || session_user);
    v_letters    text := upper(regexp_replace(p_campaign, '[^A-Za-z0-9]', '', 'g'));
    v_prefix     text;
    v_pepper     bytea := promo.pepper();
    v_pepper_id  bytea := promo.pepper_id(v_pepper);
    v_previous   bytea := promo.pepper(p_previous => true);
    v_lines      bigint;
    v_refused    bigint;
    v_inserted   bigint;
    v_ids        int8range;
    v_sequence   regclass := pg_catalog.pg_get_serial_sequence('promo.promo_codes', 'promo_code_id')::regclass;
    v_replica    boolean;
    v_grows      boolean;
BEGIN
    IF p_batch_id IS NULL OR current_setting('promo.import_batch', true) IS DISTINCT FROM p_batch_id::text
       OR to_regclass('pg_temp.promo_import') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'import_not_open', MESSAGE = 'no promo import is open',
            DETAIL = 'the lines are read from the staging table api.open_promo_import created in this transaction, under the batch id it returned',
            HINT = 'In one transaction: SELECT api.open_promo_import(); COPY pg_temp.promo_import (line, code) FROM STDIN; then this call with that id.';
    END IF;
    v_prefix := promo.check_campaign_terms(p_kind, p_campaign, p_grant_days, p_discount_percent,
        p_max_uses, p_per_user_limit, p_starts_at, p_ends_at, p_prefix, v_actor, v_now);
    PERFORM ops.check_value(p_mode, 'promo.import_mode', 'p_mode');
    IF v_previous IS NULL THEN
        PERFORM promo.check_rotation(v_pepper_id);
    END IF;
    PERFORM set_config('promo.import_batch', '', true);  -- one import per opening

    -- 1. Every line: normalized, checked without a lookup, hashed; then duplicates within the
    --    batch (the first line of a code counts) and among all campaigns (either pepper, ended
    --    ones included: that campaign's id), in hash order, so the probes walk the unique index
    --    from left to right. One statement over the staged lines, which go right after it.
    --    Input that is canonical once ASCII hyphens and spaces are gone (a generated code,
    --    printed or not) skips promo.normalize_code_or_null, whose answer for it is exactly that
    --    (NFKC leaves ASCII alone, hyphens and spaces go, nothing is left to uppercase): a
    --    million calls cost seconds.
    --    A line to insert draws its campaign id here, in hash order (the order it is inserted
    --    in, so the primary key is written from left to right too): the answer then needs no
    --    join back from the inserted rows. A batch that inserts nothing leaves those ids unused,
    --    as any rolled-back insert does.
    --    The canonical code stays beside its line until the answer, which hands it to the
    --    caller's report, as the staging table held it until here (both are dropped at the end
    --    of the transaction at the latest; nothing else keeps a code).
    CREATE TEMPORARY TABLE pg_temp.promo_import_result ON COMMIT DROP AS
    SELECT l.line, l.code_hash, l.code,
           CASE WHEN l.reason IS NOT NULL THEN 'INVALID'
                WHEN l.first_line < l.line OR l.existing_id IS NOT NULL THEN 'DUPLICATE' END AS status,
           coalesce(l.reason, CASE WHEN l.first_line < l.line THEN 'duplicate_in_file'
                                   WHEN l.existing_id IS NOT NULL THEN 'duplicate_code' END) AS reason,
           l.existing_id AS promo_code_id,
           CASE WHEN l.first_line = l.line THEN l.drawn_id END AS new_id,  -- the row to insert
           l.code_id  -- the campaign the code gets, for its later lines too
    FROM (SELECT d.*, min(d.line) OVER w AS first_line, min(d.drawn_id) OVER w AS code_id
          FROM (SELECT p.*,
                       CASE WHEN p.reason IS NULL AND p.existing_id IS NULL AND p_mode <> 'DRY_RUN'
                            THEN nextval(v_sequence) END AS drawn_id
                FROM (SELECT h.line, h.reason, h.code, h.code_hash, e.promo_code_id AS existing_id
                      FROM (SELECT * FROM (SELECT k.line, k.reason, k.code,
                                   CASE WHEN k.reason IS NULL THEN promo.hmac(k.code, v_pepper) END AS code_hash,
                                   CASE WHEN k.reason IS NULL THEN promo.hmac(k.code, v_previous) END AS code_hash_prev
                            FROM (SELECT n.line, n.code,
                                         coalesce(n.problem,
                                                  CASE WHEN n.code IS NULL THEN 'invalid_code' END,
                                                  promo.code_refusal(n.code, v_prefix, v_letters),
                                                  CASE WHEN promo.is_batch_window(n.w) AND promo.check_sum(n.w) <> 0
                                                       THEN 'check_character' END) AS reason
                                  FROM (SELECT c.line, c.problem, c.code, promo.check_window(c.code) AS w
                                        FROM (SELECT b.line, b.problem,
                                                     CASE WHEN b.bare !~ '[^A-Z0-9]' AND char_length(b.bare) BETWEEN 1 AND 64
                                                          AND char_length(b.raw) <= 256
                                                          THEN b.bare ELSE promo.normalize_code_or_null(b.raw) END AS code
                                              FROM (SELECT s.line, s.problem, s.code AS raw, translate(s.code, '- ', '') AS bare
                                                    FROM pg_temp.promo_import AS s
                                                    OFFSET 0) AS b
                                              OFFSET 0) AS c
                                        -- Each layer's columns stay columns: a column of a flattened
                                        -- subquery is its expression again wherever it is used (the
                                        -- translate() above once ran ten times per line).
                                        OFFSET 0) AS n
                                  OFFSET 0) AS k  -- each reason computed once
                            OFFSET 0  -- each hash computed once
                           ) AS h0
                            ORDER BY h0.code_hash  -- the probes walk the unique index left to right
                            OFFSET 0) AS h
                      LEFT JOIN LATERAL (SELECT c.promo_code_id FROM promo.promo_codes AS c
                                         WHERE c.code_hash IN (h.code_hash, h.code_hash_prev) LIMIT 1) AS e
                             ON h.reason IS NULL) AS p
                OFFSET 0) AS d  -- the ids drawn in hash order
          WINDOW w AS (PARTITION BY d.code_hash)) AS l;
    GET DIAGNOSTICS v_lines = ROW_COUNT;
    DROP TABLE pg_temp.promo_import;
    SELECT count(*) FILTER (WHERE r.status IS NOT NULL), int8range(min(r.new_id), max(r.new_id), '[]')
    INTO v_refused, v_ids
    FROM pg_temp.promo_import_result AS r;
    RAISE NOTICE 'promo import: % lines checked, % refused', v_lines, v_refused;

    -- 2. Only a report: a dry run, or a batch that must go in whole but has refused lines.
    IF p_mode = 'DRY_RUN' OR (p_mode = 'ALL_OR_NOTHING' AND v_refused > 0) THEN
        RETURN QUERY
        SELECT r.line, r.promo_code_id, coalesce(r.status, 'VALID'),
               coalesce(r.reason, CASE p_mode WHEN 'DRY_RUN' THEN 'dry_run' ELSE 'batch_refused' END),
               r.code
        FROM pg_temp.promo_import_result AS r ORDER BY r.line;
        DROP TABLE pg_temp.promo_import_result;
        RETURN;
    END IF;

    -- 3. The campaigns with their capacity slots, inserted in hash order (the order step 1
    --    wrote them in), so the unique index is written from left to right.
    BEGIN
        INSERT INTO promo.promo_codes AS c (promo_code_id, campaign, code_hash, pepper_id, kind,
                                            grant_days, discount_percent, max_uses,
                                            per_user_limit, starts_at, ends_at, prefix,
                                            created_at, created_by, updated_at)
        OVERRIDING SYSTEM VALUE
        SELECT r.new_id, btrim(p_campaign), r.code_hash, v_pepper_id, p_kind, p_grant_days,
               p_discount_percent, p_max_uses, p_per_user_limit, v_starts_at, p_ends_at,
               v_prefix, v_now, v_actor, v_now
        FROM pg_temp.promo_import_result AS r
        WHERE r.new_id IS NOT NULL;
        GET DIAGNOSTICS v_inserted = ROW_COUNT;
    EXCEPTION WHEN unique_violation THEN  -- a code of the batch created meanwhile
        RAISE EXCEPTION USING ERRCODE = 'SPDUP', CONSTRAINT = 'duplicate_code', MESSAGE = 'promo code already exists',
            DETAIL = 'a code of the batch was created by another transaction during the import; nothing was imported',
            HINT = 'Run the import again: that line is then reported DUPLICATE.';
    END;
    -- The capacity slots reference the campaigns inserted just above under the same ids, so
    -- their foreign-key check cannot fail; PostgreSQL 15 still runs it as one locking SELECT
    -- per row (a third of a million-code import). Where the owner may set
    -- session_replication_role (db/bootstrap.sql grants it on a superuser's server), the
    -- INSERT skips it: replica mode skips triggers and rules only, and the foreign key's are
    -- the only ones promo.capacity_slots has (db/tests/promo/10-batch.sql holds that). Elsewhere
    -- the check runs, planned from fresh statistics: with the table taken for one row it chose
    -- promo_codes_status_idx over the primary key and read the whole index for every slot.
    v_replica := pg_catalog.has_parameter_privilege('session_replication_role', 'SET')
                 AND current_setting('session_replication_role') = 'origin';
    -- A batch that grows the campaigns by more than a tenth (autovacuum's own threshold for
    -- an ANALYZE) leaves the next queries planned from the statistics of a far smaller table
    -- until autovacuum catches up: api.check_invariants right after a 200,000-code import ran
    -- past its 60 s on a busy CI machine (2 s once analyzed).
    v_grows := v_inserted > (SELECT greatest(c.reltuples, 0) FROM pg_catalog.pg_class AS c
                             WHERE c.oid = 'promo.promo_codes'::regclass) / 10;
    IF v_replica THEN
        PERFORM set_config('session_replication_role', 'replica', true);
    ELSIF v_grows THEN
        ANALYZE promo.promo_codes;
    END IF;
    -- The slot shapes once: inlined, promo.slot_capacities would read the capacity_slots
    -- setting for every row of the join (6 s a million).
    INSERT INTO promo.capacity_slots (promo_code_id, slot_no, capacity)
    WITH shape AS MATERIALIZED (SELECT * FROM promo.slot_capacities(p_max_uses))
    SELECT r.new_id, s.slot_no, s.capacity
    FROM pg_temp.promo_import_result AS r CROSS JOIN shape AS s
    WHERE r.new_id IS NOT NULL;
    IF v_replica THEN
        PERFORM set_config('session_replication_role', 'origin', true);
    END IF;
    IF v_grows THEN
        ANALYZE promo.capacity_slots;
        IF v_replica THEN
            ANALYZE promo.promo_codes;
        END IF;
    END IF;
    RAISE NOTICE 'promo import: % codes inserted', v_inserted;

    -- One audit row for the batch, never one per code (and never a code).
    IF v_inserted > 0 THEN
        PERFORM ops.write_audit(v_actor, 'promo.codes_imported', 'promo_batch', p_batch_id::text, NULL,
            jsonb_build_object('campaign', btrim(p_campaign), 'kind', p_kind, 'grant_days', p_grant_days,
                               'discount_percent', p_discount_percent, 'max_uses', p_max_uses,
                               'per_user_limit', p_per_user_limit, 'starts_at', v_starts_at,
                               'ends_at', p_ends_at, 'prefix', v_prefix, 'mode', p_mode,
                               'lines', v_lines, 'inserted', v_inserted, 'refused', v_refused,
                               'first_promo_code_id', lower(v_ids), 'last_promo_code_id', upper(v_ids) - 1));
    END IF;

    RETURN QUERY
    SELECT r.line, coalesce(r.promo_code_id, r.code_id), coalesce(r.status, 'INSERTED'), r.reason, r.code
    FROM pg_temp.promo_import_result AS r
    ORDER BY r.line;
    DROP TABLE pg_temp.promo_import_result;
END
$$;

ALTER FUNCTION api.import_promo_codes(p_batch_id uuid, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_mode text) OWNER TO starpass_owner;

-- Name: FUNCTION import_promo_codes(p_batch_id uuid, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_mode text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.import_promo_codes(p_batch_id uuid, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_mode text) IS 'Imports the codes api.open_promo_import staged, one campaign each with the given terms: normalizes, checks (check character included) and hashes every line, finds duplicates in the batch and among all campaigns, then inserts set-based (ALL_OR_NOTHING: only if no line is refused; PARTIAL: the valid lines; DRY_RUN: nothing); one row per line (INSERTED, VALID, DUPLICATE, INVALID with a reason, the promo_code_id, and the canonical code for the caller''s report), one audit row per batch.';

-- Name: init_purchase(bigint, text, bigint, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.init_purchase(p_user_id bigint, p_plan_code text, p_promo_redemption_id bigint, p_idempotency_key text) RETURNS api.init_purchase_result
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now         timestamptz := ops.now();
    v_hash        bytea := ops.request_hash(jsonb_build_array(p_user_id, p_plan_code, p_promo_redemption_id));
    v_plan        billing.plans;
    v_redemption  promo.promo_redemptions;
    v_percent     integer;
    v_purchase    billing.purchases;
    v_replayed    boolean := true;
    v_result      api.init_purchase_result;
BEGIN
    PERFORM ops.require_read_committed('init_purchase');
    PERFORM core.check_user_id(p_user_id);
    v_result := ops.idempotent_answer(NULL::api.init_purchase_result,
                                      ops.find_idempotent('billing.init_purchase', p_idempotency_key, v_hash));
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;  -- a replay, or IDEMPOTENCY_CONFLICT
    END IF;

    SELECT * INTO v_plan FROM billing.plans AS pl WHERE pl.plan_code = p_plan_code;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'plan_not_found', MESSAGE = 'plan not found',
            DETAIL = format('no plan %L', p_plan_code), HINT = 'api.list_plans() lists them.';
    ELSIF NOT v_plan.is_active THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'plan_withdrawn', MESSAGE = 'plan withdrawn',
            DETAIL = format('plan %s is not on sale', p_plan_code);
    END IF;

    IF p_promo_redemption_id IS NOT NULL THEN
        -- Lock order: redemption, then purchase. One reservation backs one open purchase.
        SELECT * INTO v_redemption FROM promo.promo_redemptions AS r
        WHERE r.promo_redemption_id = p_promo_redemption_id
        FOR UPDATE;
        IF NOT FOUND OR v_redemption.user_id <> p_user_id THEN
            RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'reservation_not_found', MESSAGE = 'promo reservation not found',
                DETAIL = format('user %s holds no redemption %s', p_user_id, p_promo_redemption_id);
        END IF;
        IF v_redemption.kind <> 'PERCENT_DISCOUNT' OR v_redemption.status <> 'RESERVED'
           OR v_redemption.reserved_until <= v_now THEN
            RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'reservation_not_usable', MESSAGE = 'promo reservation not usable',
                DETAIL = format('redemption %s is %s%s', p_promo_redemption_id, v_redemption.status,
                                CASE WHEN v_redemption.status = 'RESERVED' THEN ' but its hold ran out' ELSE '' END),
                HINT = 'Redeem the code again for a fresh reservation.';
        END IF;
        SELECT * INTO v_purchase FROM billing.purchases AS p
        WHERE p.promo_redemption_id = p_promo_redemption_id AND p.status IN ('INIT', 'PRECHECKOUT_OK');
        IF FOUND AND v_purchase.plan_code <> p_plan_code THEN
            RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'reservation_backs_purchase', MESSAGE = 'promo reservation already backs a purchase',
                DETAIL = format('purchase %s of plan %s is open with it', v_purchase.purchase_id, v_purchase.plan_code),
                HINT = 'Finish or cancel that purchase first.';
        END IF;
        SELECT c.discount_percent INTO v_percent FROM promo.promo_codes AS c
        WHERE c.promo_code_id = v_redemption.promo_code_id;
    END IF;

    -- A second init with the same reservation (another key) hands back its open purchase.
    IF v_purchase.purchase_id IS NULL THEN
        v_replayed := false;
        -- A bot user's first purchase is often their first contact with us.
        PERFORM core.ensure_user(p_user_id);
        INSERT INTO billing.purchases AS p (user_id, plan_code, premium_days, promo_redemption_id,
                                            idempotency_key, invoice_payload, base_price_stars,
                                            discount_percent, price_stars, created_at)
        VALUES (p_user_id, p_plan_code, v_plan.premium_days, p_promo_redemption_id, p_idempotency_key,
                -- 24 random bytes, URL-safe: opaque, unguessable, nothing personal.
                translate(encode(extensions.gen_random_bytes(24), 'base64'), '+/', '-_'),
                v_plan.price_stars, v_percent, billing.discount_price(v_plan.price_stars, v_percent), v_now)
        RETURNING * INTO v_purchase;
    END IF;

    v_result := ROW('OPENED', v_purchase.purchase_id, v_purchase.invoice_payload, v_purchase.price_stars,
                    v_purchase.base_price_stars, v_purchase.discount_percent, v_purchase.currency,
                    v_plan.title, v_plan.description, v_purchase.premium_days,
                    v_replayed);
    PERFORM ops.save_idempotent('billing.init_purchase', p_idempotency_key, v_hash, to_jsonb(v_result));
    RETURN v_result;
END
$$;

ALTER FUNCTION api.init_purchase(p_user_id bigint, p_plan_code text, p_promo_redemption_id bigint, p_idempotency_key text) OWNER TO starpass_owner;

-- Name: FUNCTION init_purchase(p_user_id bigint, p_plan_code text, p_promo_redemption_id bigint, p_idempotency_key text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.init_purchase(p_user_id bigint, p_plan_code text, p_promo_redemption_id bigint, p_idempotency_key text) IS 'Opens a purchase of a plan at a price fixed now (optionally with the user''s live discount reservation): OPENED with what sendInvoice needs, or IDEMPOTENCY_CONFLICT for a key bound to other arguments; idempotent by key (ops.find_idempotent).';

-- Name: list_alerts(text, integer, bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.list_alerts(p_state text DEFAULT NULL::text, p_limit integer DEFAULT 50, p_before_id bigint DEFAULT NULL::bigint) RETURNS TABLE(alert_id bigint, event text, severity text, action text, state text, summary text, dedup_key text, created_at timestamp with time zone, routed_at timestamp with time zone, settled_at timestamp with time zone, deliveries jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF p_state IS NOT NULL THEN
        PERFORM ops.check_value(p_state, 'ops.alert_state', 'p_state');
    END IF;
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 1000, 'p_limit', 'list 1 to 1000 alerts', NULL);
    -- Newest first, in keyset pages (before p_before_id); each with its deliveries per target.
    RETURN QUERY
    SELECT a.alert_id, a.event, a.severity, a.action, a.state, a.summary, a.dedup_key, a.created_at,
           a.routed_at, coalesce(a.delivered_at, a.dead_at),
           coalesce((SELECT jsonb_agg(jsonb_build_object(
                               'delivery_id', d.delivery_id, 'target', d.target, 'state', d.state,
                               'attempts', d.attempts, 'failures', d.failures, 'hold_reason', d.hold_reason,
                               'summary_id', d.summary_id, 'fallback_for', d.fallback_for,
                               'next_attempt_at', d.next_attempt_at, 'last_error', d.last_error)
                           ORDER BY d.delivery_id)
                     FROM ops.alert_deliveries AS d WHERE d.alert_id = a.alert_id), '[]'::jsonb)
    FROM ops.alert_outbox AS a
    WHERE (p_state IS NULL OR a.state = p_state) AND (p_before_id IS NULL OR a.alert_id < p_before_id)
    ORDER BY a.alert_id DESC
    LIMIT p_limit;
END
$$;

ALTER FUNCTION api.list_alerts(p_state text, p_limit integer, p_before_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION list_alerts(p_state text, p_limit integer, p_before_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.list_alerts(p_state text, p_limit integer, p_before_id bigint) IS 'Operator: alerts newest first (optionally of one state, keyset pages before p_before_id), each with its deliveries per target.';

-- Name: list_audit(text, text, text, text, timestamp with time zone, timestamp with time zone, integer, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.list_audit(p_actor text DEFAULT NULL::text, p_action text DEFAULT NULL::text, p_target_type text DEFAULT NULL::text, p_target_id text DEFAULT NULL::text, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_limit integer DEFAULT 50, p_cursor text DEFAULT NULL::text) RETURNS TABLE(audit_id bigint, occurred_at timestamp with time zone, actor text, db_role text, action text, target_type text, target_id text, reason text, details jsonb, cursor text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

ALTER FUNCTION api.list_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_cursor text) OWNER TO starpass_owner;

-- Name: FUNCTION list_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_cursor text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.list_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_cursor text) IS 'The audit log newest first, filtered by actor, action (or a prefix ending in a dot), target type and id, and a time range (since included, until excluded); keyset pages of up to 500 after p_cursor, the cursor column of the last row of the previous page.';

-- Name: list_plans(boolean); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.list_plans(p_include_inactive boolean DEFAULT false) RETURNS TABLE(plan_code text, title text, description text, premium_days integer, price_stars integer, currency text, is_active boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT p.plan_code, p.title, p.description, p.premium_days, p.price_stars, p.currency, p.is_active
    FROM billing.plans AS p
    WHERE p.is_active OR p_include_inactive
    ORDER BY p.sort_order, p.plan_code
$$;

ALTER FUNCTION api.list_plans(p_include_inactive boolean) OWNER TO starpass_owner;

-- Name: FUNCTION list_plans(p_include_inactive boolean); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.list_plans(p_include_inactive boolean) IS 'The plans on sale (all plans with p_include_inactive), in display order, with German titles for the invoice.';

-- Name: list_promo_campaigns(text[], text, text, integer, bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.list_promo_campaigns(p_status text[] DEFAULT NULL::text[], p_kind text DEFAULT NULL::text, p_q text DEFAULT NULL::text, p_limit integer DEFAULT 50, p_before_id bigint DEFAULT NULL::bigint) RETURNS TABLE(promo_code_id bigint, campaign text, kind text, grant_days integer, discount_percent integer, max_uses integer, per_user_limit integer, starts_at timestamp with time zone, ends_at timestamp with time zone, prefix text, status text, paused_reason text, created_at timestamp with time zone, created_by text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 200, 'p_limit', 'a page is 1 to 200 campaigns', NULL);
    IF p_status IS NOT NULL THEN
        PERFORM ops.check_value(p_status, 'promo.campaign_status', 'p_status');
    END IF;
    IF p_kind IS NOT NULL THEN
        PERFORM ops.check_value(p_kind, 'promo.campaign_kind', 'p_kind');
    END IF;
    PERFORM ops.check_argument(p_q IS NULL OR char_length(p_q) BETWEEN 1 AND 100, 'p_q',
        'a search is 1 to 100 characters', NULL);
    -- Newest first, keyset-paged by id: rows created while a client pages appear before its
    -- cursor, so no page repeats or skips a campaign.
    RETURN QUERY
    SELECT c.promo_code_id, c.campaign, c.kind, c.grant_days, c.discount_percent, c.max_uses,
           c.per_user_limit, c.starts_at, c.ends_at, c.prefix, c.status, c.paused_reason,
           c.created_at, c.created_by
    FROM promo.promo_codes AS c
    WHERE (p_status IS NULL OR c.status = ANY (p_status))
      AND (p_kind IS NULL OR c.kind = p_kind)
      AND (p_q IS NULL OR c.campaign ILIKE '%' || replace(replace(p_q, '%', '\%'), '_', '\_') || '%'
           OR c.prefix = upper(p_q))
      AND (p_before_id IS NULL OR c.promo_code_id < p_before_id)
      AND NOT c.internal  -- the code-less referral campaign is not an admin's
    ORDER BY c.promo_code_id DESC
    LIMIT p_limit;
END
$$;

ALTER FUNCTION api.list_promo_campaigns(p_status text[], p_kind text, p_q text, p_limit integer, p_before_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION list_promo_campaigns(p_status text[], p_kind text, p_q text, p_limit integer, p_before_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.list_promo_campaigns(p_status text[], p_kind text, p_q text, p_limit integer, p_before_id bigint) IS 'Campaigns newest first, filtered by status (any of), kind and a search on name or prefix; keyset pages of up to 200 before p_before_id.';

-- Name: list_settings(); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.list_settings() RETURNS TABLE(key text, value_type text, value text, default_value text, description text, updated_at timestamp with time zone, updated_by text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT s.key, s.value_type, s.value, s.default_value, s.description, s.updated_at, s.updated_by
    FROM ops.settings AS s
    ORDER BY s.key
$$;

ALTER FUNCTION api.list_settings() OWNER TO starpass_owner;

-- Name: FUNCTION list_settings(); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.list_settings() IS 'Every tunable with its type, current value, default and meaning.';

-- Name: mark_purchase_refunded(text, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.mark_purchase_refunded(p_telegram_payment_charge_id text, p_actor text, p_reason text) RETURNS TABLE(outcome text, purchase_id bigint, premium_until timestamp with time zone, replayed boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now       timestamptz := ops.now();
    v_purchase  billing.purchases;
    v_until     timestamptz;
BEGIN
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(char_length(btrim(p_reason)) BETWEEN 1 AND 1000, 'p_reason',
        'a refund needs a reason of 1 to 1000 characters', NULL);
    SELECT * INTO v_purchase FROM billing.purchases AS p
    WHERE p.telegram_payment_charge_id = p_telegram_payment_charge_id
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'paid_purchase_not_found', MESSAGE = 'paid purchase not found',
            DETAIL = 'no purchase was settled by this charge id',
            HINT = 'Payments that settled nothing are in billing.payments; refund them with Telegram directly.';
    END IF;
    IF v_purchase.status = 'REFUNDED' THEN
        -- The first answer: where the refund's own ledger entry left premium_until.
        SELECT l.premium_until_after INTO v_until FROM billing.ledger AS l
        WHERE l.kind = 'REFUND_PREMIUM' AND l.ref_type = 'purchase' AND l.ref_id = v_purchase.purchase_id;
        RETURN QUERY SELECT 'REFUNDED', v_purchase.purchase_id, v_until, true;
        RETURN;
    END IF;
    -- Lock order: reward before entitlement, as api.choose_referral_reward takes them.
    PERFORM FROM referral.rewards AS rw WHERE rw.purchase_id = v_purchase.purchase_id FOR UPDATE;

    UPDATE billing.purchases AS p
    SET status = 'REFUNDED', refunded_at = v_now, refund_actor = p_actor, refund_reason = p_reason
    WHERE p.purchase_id = v_purchase.purchase_id;
    PERFORM billing.post_ledger_entry(v_purchase.user_id, 'REFUND_PAYMENT', v_purchase.purchase_id,
                                      p_stars => -v_purchase.price_stars, p_actor => p_actor);
    v_until := (billing.post_ledger_entry(v_purchase.user_id, 'REFUND_PREMIUM', v_purchase.purchase_id,
                                          p_premium_days => -v_purchase.premium_days,
                                          p_actor => p_actor)).premium_until_after;
    -- A refund before the referrer chose cancels the offer; after the choice nothing is clawed back.
    UPDATE referral.rewards AS rw SET status = 'CANCELLED', cancelled_at = v_now
    WHERE rw.purchase_id = v_purchase.purchase_id AND rw.status = 'OFFERED';
    PERFORM ops.write_audit(p_actor, 'billing.purchase_refunded', 'purchase', v_purchase.purchase_id::text,
                            p_reason, jsonb_build_object('price_stars', v_purchase.price_stars,
                                                         'premium_days', v_purchase.premium_days));
    RETURN QUERY SELECT 'REFUNDED', v_purchase.purchase_id, v_until, false;
END
$$;

ALTER FUNCTION api.mark_purchase_refunded(p_telegram_payment_charge_id text, p_actor text, p_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION mark_purchase_refunded(p_telegram_payment_charge_id text, p_actor text, p_reason text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.mark_purchase_refunded(p_telegram_payment_charge_id text, p_actor text, p_reason text) IS 'PAID -> REFUNDED for the purchase a charge id settled, idempotently: debits its Stars and premium days, cancels a referral offer not yet chosen, audits. Leaves the promo redemption to the rollback.';

-- Name: open_payment_support(bigint, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.open_payment_support(p_user_id bigint, p_message text, p_idempotency_key text) RETURNS api.open_payment_support_result
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now     timestamptz := ops.now();
    v_hash    bytea := ops.request_hash(jsonb_build_array(p_user_id));
    v_result  api.open_payment_support_result;
BEGIN
    PERFORM ops.require_read_committed('open_payment_support');
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(char_length(btrim(p_message, E' \t\r\n')) BETWEEN 1 AND 2000, 'p_message',
        'a support message is 1 to 2000 characters', 'Describe the problem in one message.');
    -- A redelivered update replays the first ticket (whatever its text: Telegram redelivers
    -- the same message); the same key from another user is IDEMPOTENCY_CONFLICT.
    v_result := ops.idempotent_answer(NULL::api.open_payment_support_result,
        ops.find_idempotent('billing.open_payment_support', p_idempotency_key, v_hash));
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;
    END IF;

    PERFORM core.ensure_user(p_user_id);
    INSERT INTO billing.support_requests AS s (user_id, message, idempotency_key, created_at)
    VALUES (p_user_id, btrim(p_message, E' \t\r\n'), p_idempotency_key, v_now)
    RETURNING 'OPENED', s.support_request_id, s.created_at, false INTO v_result;
    -- The alert carries no message text: it is personal data and stays in the table.
    PERFORM ops.raise_alert('payments.support_request', 'warning',
        format('payment support request %s from user %s', v_result.support_request_id, p_user_id),
        jsonb_build_object('support_request_id', v_result.support_request_id, 'user_id', p_user_id),
        'payments.support_request:' || v_result.support_request_id);
    PERFORM ops.save_idempotent('billing.open_payment_support', p_idempotency_key, v_hash, to_jsonb(v_result));
    RETURN v_result;
END
$$;

ALTER FUNCTION api.open_payment_support(p_user_id bigint, p_message text, p_idempotency_key text) OWNER TO starpass_owner;

-- Name: FUNCTION open_payment_support(p_user_id bigint, p_message text, p_idempotency_key text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.open_payment_support(p_user_id bigint, p_message text, p_idempotency_key text) IS 'Records a user''s payment support request from /paysupport and raises the alert payments.support_request: OPENED with the request id the bot shows as the ticket number, or IDEMPOTENCY_CONFLICT for a key of another user''s request; idempotent by key (ops.find_idempotent: a redelivery replays the first ticket).';

-- Name: open_promo_import(); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.open_promo_import() RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_batch_id  uuid := gen_random_uuid();
BEGIN
    IF to_regclass('pg_temp.promo_import') IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'import_already_open',
            MESSAGE = 'a promo import is already open in this transaction',
            HINT = 'Finish it with api.import_promo_codes, or roll the transaction back.';
    END IF;
    -- The staging table: temporary (this session only, never WAL-logged), owned by the owner,
    -- dropped at the end of the transaction at the latest (api.import_promo_codes drops it as
    -- soon as it has read it). The caller may only insert into it (COPY): its raw codes cannot
    -- be read back, and the login roles get no table privilege that outlives the transaction.
    CREATE TEMPORARY TABLE pg_temp.promo_import (
        line     bigint PRIMARY KEY CHECK (line >= 1),
        code     text,
        problem  text CHECK (problem IN ('not_utf8', 'malformed_csv', 'wrong_field_count', 'line_too_long'))
    ) ON COMMIT DROP;
    EXECUTE format('GRANT INSERT ON pg_temp.promo_import TO %I', session_user);
    PERFORM set_config('promo.import_batch', v_batch_id::text, true);
    RETURN v_batch_id;
END
$$;

ALTER FUNCTION api.open_promo_import() OWNER TO starpass_owner;

-- Name: FUNCTION open_promo_import(); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.open_promo_import() IS 'Opens a promo code import in the caller''s transaction: creates the temporary staging table pg_temp.promo_import (line, code, problem) that the caller fills with COPY, and returns the batch id for api.import_promo_codes.';

-- Name: precheckout_purchase(bigint, text, text, bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.precheckout_purchase(p_user_id bigint, p_invoice_payload text, p_currency text, p_total_amount bigint) RETURNS TABLE(ok boolean, refusal text, purchase_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET lock_timeout TO '2s'
    AS $$
DECLARE
    v_now         timestamptz := ops.now();
    v_purchase    billing.purchases;
    v_redemption  promo.promo_redemptions;
    v_refusal     text;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.invoice_payload = p_invoice_payload;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, 'UNKNOWN_PAYLOAD', NULL::bigint;
        RETURN;
    END IF;

    -- Lock order: redemption, then purchase.
    IF v_purchase.promo_redemption_id IS NOT NULL THEN
        SELECT * INTO v_redemption FROM promo.promo_redemptions AS r
        WHERE r.promo_redemption_id = v_purchase.promo_redemption_id
        FOR UPDATE;
    END IF;
    SELECT * INTO v_purchase FROM billing.purchases AS p
    WHERE p.purchase_id = v_purchase.purchase_id
    FOR UPDATE;

    v_refusal := CASE
        WHEN v_purchase.user_id <> p_user_id THEN 'OTHER_USER'
        WHEN v_purchase.status IN ('PAID', 'REFUNDED') THEN 'ALREADY_PAID'
        WHEN v_purchase.status = 'CANCELLED' THEN 'CANCELLED'
        WHEN p_currency IS DISTINCT FROM v_purchase.currency THEN 'WRONG_CURRENCY'
        WHEN p_total_amount IS DISTINCT FROM v_purchase.price_stars THEN 'WRONG_AMOUNT'
        WHEN NOT (SELECT pl.is_active FROM billing.plans AS pl WHERE pl.plan_code = v_purchase.plan_code)
            THEN 'PLAN_WITHDRAWN'
        WHEN v_purchase.promo_redemption_id IS NOT NULL
             AND (v_redemption.status <> 'RESERVED' OR v_redemption.reserved_until <= v_now)
            THEN 'RESERVATION_EXPIRED'
    END;
    IF v_refusal IS NOT NULL THEN
        RETURN QUERY SELECT false, v_refusal, v_purchase.purchase_id;
        RETURN;
    END IF;

    -- Hold the discount through the payment: the expiry job must not release it now.
    IF v_redemption.promo_redemption_id IS NOT NULL THEN
        UPDATE promo.promo_redemptions AS r
        SET reserved_until = greatest(r.reserved_until, v_now + ops.setting_interval('billing.precheckout_grace'))
        WHERE r.promo_redemption_id = v_redemption.promo_redemption_id;
    END IF;
    IF v_purchase.status = 'INIT' THEN
        UPDATE billing.purchases AS p SET status = 'PRECHECKOUT_OK', prechecked_at = v_now
        WHERE p.purchase_id = v_purchase.purchase_id;
    END IF;
    RETURN QUERY SELECT true, NULL::text, v_purchase.purchase_id;
END
$$;

ALTER FUNCTION api.precheckout_purchase(p_user_id bigint, p_invoice_payload text, p_currency text, p_total_amount bigint) OWNER TO starpass_owner;

-- Name: FUNCTION precheckout_purchase(p_user_id bigint, p_invoice_payload text, p_currency text, p_total_amount bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.precheckout_purchase(p_user_id bigint, p_invoice_payload text, p_currency text, p_total_amount bigint) IS 'Answers Telegram''s pre_checkout_query: ok, or a refusal (UNKNOWN_PAYLOAD, OTHER_USER, ALREADY_PAID, CANCELLED, WRONG_CURRENCY, WRONG_AMOUNT, PLAN_WITHDRAWN, RESERVATION_EXPIRED); extends a discount''s hold by the grace period.';

-- Name: prune_history(integer); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.prune_history(p_limit integer DEFAULT 10000) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now            timestamptz := ops.now();
    v_attempts_before timestamptz := promo.attempts_prunable_before();
    v_alerts_before  timestamptz := v_now - ops.setting_interval('retention.delivered_alerts');
    v_cursor         bigint;
    v_scanned_to     bigint;
    v_attempts       integer;
    v_alert_ids      bigint[];
    v_alerts         integer;
    v_resolves       integer;
    v_summaries      integer;
    v_job_runs       integer;
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 100000, 'p_limit', 'a batch is 1 to 100000 rows per table', NULL);

    -- Attempts, in id order from where the last run stopped (ids grow with time): the batch
    -- ends before the first attempt that is not old enough, and the cursor moves past the kept
    -- binding attempts, so no run rescans them. NOWAIT-free: one run at a time holds the cursor.
    SELECT c.scanned_to INTO v_cursor FROM ops.prune_cursors AS c
    WHERE c.name = 'promo.promo_attempts' FOR UPDATE;
    WITH batch AS (
        SELECT a.attempt_id, a.created_at, (a.binding AND a.promo_redemption_id IS NOT NULL) AS kept
        FROM promo.promo_attempts AS a
        WHERE a.attempt_id > v_cursor
        ORDER BY a.attempt_id
        LIMIT p_limit
    ), settled AS (
        SELECT b.* FROM batch AS b
        WHERE b.attempt_id < coalesce((SELECT min(n.attempt_id) FROM batch AS n
                                       WHERE n.created_at >= v_attempts_before), 'Infinity'::numeric)
    ), pruned AS (
        DELETE FROM promo.promo_attempts AS a
        USING settled AS s
        WHERE a.attempt_id = s.attempt_id AND NOT s.kept
        RETURNING a.attempt_id
    )
    SELECT (SELECT count(*) FROM pruned), (SELECT max(s.attempt_id) FROM settled AS s)
    INTO v_attempts, v_scanned_to;
    IF v_scanned_to IS NOT NULL THEN
        UPDATE ops.prune_cursors AS c SET scanned_to = v_scanned_to WHERE c.name = 'promo.promo_attempts';
    END IF;

    -- Delivered alerts with every delivery delivered, except a trigger that is still open (the
    -- newest of its dedup key with no resolve after it: ops.resolve_alert must find it). A
    -- resolve goes once its trigger has gone, which is why this comes first.
    SELECT array_agg(c.alert_id) INTO v_alert_ids
    FROM (
        SELECT o.alert_id FROM ops.alert_outbox AS o
        WHERE o.state = 'delivered' AND o.delivered_at < v_alerts_before
          AND NOT EXISTS (SELECT FROM ops.alert_deliveries AS d
                          WHERE d.alert_id = o.alert_id
                            AND (d.state <> 'delivered' OR d.delivered_at >= v_alerts_before))
          AND (o.action = 'trigger'
               AND (EXISTS (SELECT FROM ops.alert_outbox AS r
                            WHERE r.action = 'resolve' AND r.resolves = o.dedup_key AND r.alert_id > o.alert_id)
                    OR EXISTS (SELECT FROM ops.alert_outbox AS n
                               WHERE n.action = 'trigger' AND n.dedup_key = o.dedup_key AND n.alert_id > o.alert_id)))
        ORDER BY o.delivered_at
        LIMIT p_limit
        FOR UPDATE OF o SKIP LOCKED
    ) AS c;
    v_alerts := ops.delete_alerts(v_alert_ids);

    SELECT array_agg(c.alert_id) INTO v_alert_ids
    FROM (
        SELECT o.alert_id FROM ops.alert_outbox AS o
        WHERE o.state = 'delivered' AND o.delivered_at < v_alerts_before AND o.action = 'resolve'
          AND NOT EXISTS (SELECT FROM ops.alert_deliveries AS d
                          WHERE d.alert_id = o.alert_id
                            AND (d.state <> 'delivered' OR d.delivered_at >= v_alerts_before))
          AND NOT EXISTS (SELECT FROM ops.alert_outbox AS t
                          WHERE t.action = 'trigger' AND t.dedup_key = o.resolves AND t.alert_id < o.alert_id)
        ORDER BY o.delivered_at
        LIMIT p_limit
        FOR UPDATE OF o SKIP LOCKED
    ) AS c;
    v_resolves := ops.delete_alerts(v_alert_ids);

    -- Flood summaries that were delivered and that no held delivery still points at.
    WITH candidates AS (
        SELECT d.delivery_id FROM ops.alert_deliveries AS d
        WHERE d.kind = 'summary' AND d.state = 'delivered' AND d.delivered_at < v_alerts_before
          AND NOT EXISTS (SELECT FROM ops.alert_deliveries AS h WHERE h.summary_id = d.delivery_id)
        ORDER BY d.delivered_at
        LIMIT p_limit
        FOR UPDATE OF d SKIP LOCKED
    ), pruned AS (
        DELETE FROM ops.alert_deliveries AS d USING candidates AS c WHERE d.delivery_id = c.delivery_id
        RETURNING d.delivery_id
    )
    SELECT count(*) INTO v_summaries FROM pruned;

    WITH pruned AS (
        DELETE FROM ops.job_runs AS j
        WHERE j.job_run_id IN (SELECT r.job_run_id FROM ops.job_runs AS r
                               WHERE r.finished_at < v_now - ops.setting_interval('retention.job_runs')
                               ORDER BY r.job_run_id LIMIT p_limit)
        RETURNING j.job_run_id
    )
    SELECT count(*) INTO v_job_runs FROM pruned;

    RETURN v_attempts + v_alerts + v_resolves + v_summaries + v_job_runs;
END
$$;

ALTER FUNCTION api.prune_history(p_limit integer) OWNER TO starpass_owner;

-- Name: FUNCTION prune_history(p_limit integer); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.prune_history(p_limit integer) IS 'Job: deletes what retention lets go, at most p_limit rows per table per run: promo attempts past their windows and retention.promo_attempts (never a redemption''s binding attempt), delivered alerts past retention.delivered_alerts (never an open trigger, a dead alert or a pending delivery), job runs past retention.job_runs. Returns how many rows. The audit log, ledger, payments and redemptions are kept for ever.';

-- Name: quote_discount(bigint, bigint); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.quote_discount(p_user_id bigint, p_promo_redemption_id bigint) RETURNS TABLE(plan_code text, title text, premium_days integer, base_price_stars integer, price_stars integer, discount_percent integer, reserved_until timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM core.check_user_id(p_user_id);
    -- Every plan at the price api.init_purchase would fix with this reservation now; no rows
    -- when the reservation is not the user's live discount.
    RETURN QUERY
    SELECT pl.plan_code, pl.title, pl.premium_days, pl.price_stars,
           billing.discount_price(pl.price_stars, c.discount_percent), c.discount_percent, r.reserved_until
    FROM promo.promo_redemptions AS r
    JOIN promo.promo_codes AS c USING (promo_code_id)
    CROSS JOIN billing.plans AS pl
    WHERE r.promo_redemption_id = p_promo_redemption_id AND r.user_id = p_user_id
      AND r.kind = 'PERCENT_DISCOUNT' AND r.status = 'RESERVED' AND r.reserved_until > v_now
      AND pl.is_active
    ORDER BY pl.sort_order, pl.plan_code;
END
$$;

ALTER FUNCTION api.quote_discount(p_user_id bigint, p_promo_redemption_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION quote_discount(p_user_id bigint, p_promo_redemption_id bigint); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.quote_discount(p_user_id bigint, p_promo_redemption_id bigint) IS 'The plans on sale at the price a user''s live discount reservation gives them (the discount CTA); no rows when the reservation is not live or not theirs.';

-- Name: raise_test_alert(text, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.raise_test_alert(p_event text, p_severity text, p_actor text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    v_id  bigint;
BEGIN
    PERFORM ops.check_argument(p_event ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$' AND char_length(p_event) <= 100, 'p_event',
        format('%L is not an event name', left(p_event, 100)), 'Name an event of the catalog (docs/alerts.md), e.g. jobs.failed.');
    PERFORM ops.check_value(p_severity, 'ops.alert_severity', 'p_severity');
    PERFORM ops.check_actor(p_actor);
    -- Routed like the event itself; marked as a test in its details, never flood-controlled,
    -- and its own dedup key, so each call sends.
    v_id := ops.raise_alert(p_event, p_severity, format('TEST: %s (sent by %s)', p_event, p_actor),
                            jsonb_build_object('test', true, 'actor', p_actor),
                            'test:' || p_event || ':' || pg_catalog.gen_random_uuid());
    PERFORM ops.write_audit(p_actor, 'ops.alert_test_raised', 'alert', v_id::text, NULL,
                            jsonb_build_object('event', p_event));
    RETURN v_id;
END
$_$;

ALTER FUNCTION api.raise_test_alert(p_event text, p_severity text, p_actor text) OWNER TO starpass_owner;

-- Name: FUNCTION raise_test_alert(p_event text, p_severity text, p_actor text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.raise_test_alert(p_event text, p_severity text, p_actor text) IS 'Operator: raises a test alert of an event (details.test = true, its own dedup key), routed and delivered like the event; audited. Returns its id.';

-- Name: reconcile_star_payment(text, bigint, bigint, boolean, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.reconcile_star_payment(p_telegram_payment_charge_id text, p_user_id bigint, p_amount bigint, p_refunded boolean, p_actor text) RETURNS TABLE(outcome text, purchase_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_payment   billing.payments;
    v_purchase  billing.purchases;
BEGIN
    -- One Stars transaction as Telegram's getStarTransactions lists it, against our records:
    -- MATCHED; REFUND_RECORDED (refunded at Telegram, now refunded here too); UNKNOWN_CHARGE or
    -- AMOUNT_DIFFERS (alerted for an operator: a payment we never recorded, or recorded otherwise).
    PERFORM ops.check_actor(p_actor);
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(char_length(p_telegram_payment_charge_id) BETWEEN 1 AND 255,
        'p_telegram_payment_charge_id', 'a charge id is 1 to 255 characters', NULL);
    SELECT * INTO v_payment FROM billing.payments AS p
    WHERE p.telegram_payment_charge_id = p_telegram_payment_charge_id;
    IF NOT FOUND THEN
        PERFORM ops.raise_alert('payments.unknown_charge', 'critical',
            format('Telegram lists a Stars payment of %s by user %s that was never recorded', p_amount, p_user_id),
            jsonb_build_object('user_id', p_user_id, 'amount', p_amount, 'refunded', p_refunded),
            'payments.unknown_charge:' || md5(p_telegram_payment_charge_id));
        RETURN QUERY SELECT 'UNKNOWN_CHARGE'::text, NULL::bigint;
        RETURN;
    END IF;
    IF v_payment.user_id <> p_user_id OR v_payment.total_amount <> p_amount THEN
        PERFORM ops.raise_alert('payments.reconcile_mismatch', 'critical',
            format('payment %s differs from Telegram''s record (user or amount)', v_payment.payment_id),
            jsonb_build_object('payment_id', v_payment.payment_id, 'amount', p_amount),
            'payments.reconcile_mismatch:' || v_payment.payment_id);
        RETURN QUERY SELECT 'AMOUNT_DIFFERS'::text, v_payment.purchase_id;
        RETURN;
    END IF;
    SELECT * INTO v_purchase FROM billing.purchases AS p
    WHERE p.telegram_payment_charge_id = p_telegram_payment_charge_id;
    IF p_refunded AND v_purchase.status = 'PAID' THEN
        PERFORM api.mark_purchase_refunded(p_telegram_payment_charge_id, p_actor,
                                           'refunded at Telegram (reconciliation)');
        RETURN QUERY SELECT 'REFUND_RECORDED'::text, v_purchase.purchase_id;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'MATCHED'::text, v_payment.purchase_id;
END
$$;

ALTER FUNCTION api.reconcile_star_payment(p_telegram_payment_charge_id text, p_user_id bigint, p_amount bigint, p_refunded boolean, p_actor text) OWNER TO starpass_owner;

-- Name: FUNCTION reconcile_star_payment(p_telegram_payment_charge_id text, p_user_id bigint, p_amount bigint, p_refunded boolean, p_actor text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.reconcile_star_payment(p_telegram_payment_charge_id text, p_user_id bigint, p_amount bigint, p_refunded boolean, p_actor text) IS 'Reconciles one transaction from Telegram''s getStarTransactions: MATCHED, REFUND_RECORDED (marks the purchase refunded), UNKNOWN_CHARGE or AMOUNT_DIFFERS (critical alerts).';

-- Name: redeem_promo_code(bigint, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.redeem_promo_code(p_user_id bigint, p_code text, p_idempotency_key text) RETURNS api.redeem_result
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now            timestamptz := ops.now();
    v_pepper         bytea := promo.pepper();
    v_pepper_prev    bytea := promo.pepper(p_previous => true);
    v_code           text := promo.normalize_code_or_null(p_code);
    -- Identifies the request for replays without keeping the code: the code's own hash, or a
    -- hash of the raw input (marked, so it can never equal a code's) when it did not normalize.
    v_request        text := coalesce(v_code, 'invalid:' || left(coalesce(p_code, ''), 256));
    v_request_hash   bytea := promo.hmac(v_request, v_pepper);
    -- What a key binds: this user and this code (under either pepper during a rotation).
    v_binding        bytea := ops.request_hash(jsonb_build_array(p_user_id, encode(v_request_hash, 'hex')));
    v_binding_prev   bytea;
    v_campaign       promo.promo_codes;
    v_result         api.redeem_result;
    v_user_known     boolean;
    v_blocked        timestamptz;
    v_taken          bigint;
    v_live_id        bigint;
    v_live_until     timestamptz;
    v_slot_no        smallint;
    v_attributed_to  bigint;
    v_countable      boolean := true;
BEGIN
    -- Plain IFs: on this hot path a PERFORM costs a query even when the check passes.
    IF NOT core.is_user_id(p_user_id) THEN
        PERFORM core.check_user_id(p_user_id);
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        PERFORM ops.require_read_committed('redeem_promo_code');
    END IF;
    IF v_pepper_prev IS NOT NULL THEN
        v_binding_prev := ops.request_hash(jsonb_build_array(
            p_user_id, encode(promo.hmac(v_request, v_pepper_prev), 'hex')));
    END IF;

    -- Decide: each check either settles the outcome (EXIT decide) or passes to the next, in
    -- the documented order. Nothing is written here except the capacity slot's row lock.
    <<decide>>
    BEGIN
        -- The first answer to a key is binding (a replay, or IDEMPOTENCY_CONFLICT for another
        -- user or code); same-key requests queue on the key's lock (the malformed key: SP422).
        v_result := ops.idempotent_answer(NULL::api.redeem_result,
            ops.find_idempotent('promo.redeem', p_idempotency_key, v_binding, v_binding_prev));
        EXIT decide WHEN v_result.outcome IS NOT NULL;
        v_result.replayed := false;

        -- Throttle, under the user's lock: a blocked user learns nothing about the code. One
        -- read of the user's row says both that it exists and whether the throttle blocks.
        PERFORM promo.lock_user(p_user_id);
        SELECT u.promo_blocked_until INTO v_blocked FROM core.users AS u WHERE u.user_id = p_user_id;
        v_user_known := FOUND;
        IF v_blocked > v_now THEN
            v_result.outcome := 'THROTTLED';
            v_result.blocked_until := v_blocked;
            EXIT decide;
        END IF;
        IF NOT v_user_known THEN
            PERFORM core.ensure_user(p_user_id);
        END IF;

        IF v_code IS NULL THEN
            v_result.outcome := 'INVALID_CODE';
            EXIT decide;
        END IF;
        -- A generated batch code with a wrong check character is a typo: INVALID_CODE before
        -- the lookup, not counted by the throttle (the answer follows from the code alone, so
        -- it tells a guesser nothing; docs/promo.md, "Batch codes").
        IF promo.has_wrong_check_character(v_code) THEN
            v_result.outcome := 'INVALID_CODE';
            v_countable := false;
            EXIT decide;
        END IF;
        SELECT * INTO v_campaign FROM promo.promo_codes AS c WHERE c.code_hash = v_request_hash;
        IF NOT FOUND AND v_pepper_prev IS NOT NULL THEN
            -- During a pepper rotation a code may still carry the previous pepper's hash:
            -- re-hash it now, so the rotation can end.
            UPDATE promo.promo_codes AS c SET code_hash = v_request_hash, pepper_id = promo.pepper_id(v_pepper)
            WHERE c.code_hash = promo.hmac(v_code, v_pepper_prev)
            RETURNING * INTO v_campaign;
            IF NOT FOUND THEN  -- a concurrent redemption re-hashed it first
                SELECT * INTO v_campaign FROM promo.promo_codes AS c WHERE c.code_hash = v_request_hash;
            END IF;
        END IF;
        IF v_campaign.promo_code_id IS NULL THEN
            v_result.outcome := 'NOT_FOUND';
            v_attributed_to := promo.campaign_by_prefix(v_code);
            EXIT decide;
        END IF;
        v_result.promo_code_id := v_campaign.promo_code_id;
        v_result.kind := v_campaign.kind;
        v_result.grant_days := v_campaign.grant_days;
        v_result.discount_percent := v_campaign.discount_percent;
        v_result.outcome := promo.campaign_refusal(v_campaign, v_now);
        EXIT decide WHEN v_result.outcome IS NOT NULL;

        -- Per user (serialized by the user lock): a live reservation is handed back; expired
        -- reservations do not count, revoked redemptions do.
        SELECT count(*) FILTER (WHERE promo.units_used(r.status) = 1
                                      OR (promo.units_held(r.status) = 1 AND r.reserved_until > v_now)),
               (array_agg(r.promo_redemption_id ORDER BY r.reserved_until DESC)
                    FILTER (WHERE r.status = 'RESERVED' AND r.reserved_until > v_now))[1],
               max(r.reserved_until) FILTER (WHERE r.status = 'RESERVED' AND r.reserved_until > v_now)
        INTO v_taken, v_live_id, v_live_until
        FROM promo.promo_redemptions AS r
        WHERE r.promo_code_id = v_campaign.promo_code_id AND r.user_id = p_user_id;
        IF v_live_id IS NOT NULL THEN
            v_result.outcome := 'RESERVED';
            v_result.promo_redemption_id := v_live_id;
            v_result.reserved_until := v_live_until;
            EXIT decide;
        END IF;
        IF v_taken >= v_campaign.per_user_limit THEN
            -- DEPLETED comes first, even before the rollover job marks the campaign (committed
            -- state, no locks: this answer takes nothing).
            v_result.outcome := CASE WHEN promo.has_capacity(v_campaign.promo_code_id, v_now)
                                     THEN 'ALREADY_REDEEMED' ELSE 'DEPLETED' END;
            EXIT decide;
        END IF;

        v_slot_no := promo.take_capacity(v_campaign.promo_code_id, v_now, v_campaign.max_uses);
        IF v_slot_no IS NULL THEN
            -- Depleted, or the campaign's status changed while this call waited for capacity
            -- (take_capacity stops waiting then): re-read it to say which. Read by the code's
            -- hash, as above: no other index of the table joins the locks taken.
            SELECT * INTO v_campaign FROM promo.promo_codes AS c WHERE c.code_hash = v_campaign.code_hash;
            v_result.outcome := coalesce(promo.campaign_refusal(v_campaign, v_now), 'DEPLETED');
        END IF;
    END decide;

    -- Record, once: the booking when the decision took a unit, the attempt (which may block
    -- the user), then the first answer to the key.
    IF v_result.outcome IS NULL THEN
        v_result := promo.book_redemption(v_result, p_user_id, v_slot_no, v_now);
    END IF;
    v_result := promo.record_attempt(p_user_id, p_idempotency_key, v_request_hash, v_result, v_now,
                                     v_attributed_to, v_countable);
    IF NOT v_result.replayed AND v_result.outcome NOT IN ('THROTTLED', 'IDEMPOTENCY_CONFLICT') THEN
        PERFORM ops.save_idempotent('promo.redeem', p_idempotency_key, v_binding, to_jsonb(v_result));
    END IF;
    RETURN v_result;
END
$$;

ALTER FUNCTION api.redeem_promo_code(p_user_id bigint, p_code text, p_idempotency_key text) OWNER TO starpass_owner;

-- Name: FUNCTION redeem_promo_code(p_user_id bigint, p_code text, p_idempotency_key text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.redeem_promo_code(p_user_id bigint, p_code text, p_idempotency_key text) IS 'Redeems a promo code for a user, idempotently by key: APPLIED (premium granted) or RESERVED (discount held) or a refusal outcome; never raises for a business outcome.';

-- Name: register_referral(bigint, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.register_referral(p_referee_user_id bigint, p_referral_code text) RETURNS TABLE(outcome text, referrer_user_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_referrer  bigint;
    v_existing  bigint;
BEGIN
    PERFORM core.check_user_id(p_referee_user_id);
    -- Registrations are rare; one lock for all of them makes the cycle check exact.
    PERFORM pg_catalog.pg_advisory_xact_lock(ops.lock_class('referral.registration'), 0);
    -- Against the referee's first payment, which takes the same user lock.
    PERFORM promo.lock_user(p_referee_user_id);
    SELECT c.user_id INTO v_referrer FROM referral.codes AS c
    WHERE c.code = upper(regexp_replace(coalesce(p_referral_code, ''), '\s', '', 'g'));
    SELECT r.referrer_user_id INTO v_existing FROM referral.referrals AS r
    WHERE r.referee_user_id = p_referee_user_id;

    outcome := CASE
        WHEN v_referrer IS NULL THEN 'UNKNOWN_CODE'
        WHEN v_referrer = p_referee_user_id THEN 'SELF_REFERRAL'
        WHEN v_existing IS NOT NULL THEN 'ALREADY_REFERRED'
        WHEN EXISTS (SELECT FROM billing.purchases AS p
                     WHERE p.user_id = p_referee_user_id AND p.status IN ('PAID', 'REFUNDED'))
            THEN 'ALREADY_PAID'
        -- A cycle: the referee is already above the referrer in the referral chain.
        WHEN EXISTS (
            WITH RECURSIVE chain(user_id) AS (
                SELECT v_referrer
                UNION
                SELECT r.referrer_user_id FROM referral.referrals AS r JOIN chain ON r.referee_user_id = chain.user_id)
            SELECT FROM chain WHERE chain.user_id = p_referee_user_id)
            THEN 'CYCLE'
        ELSE 'REGISTERED'
    END;
    IF outcome = 'REGISTERED' THEN
        PERFORM core.ensure_user(p_referee_user_id);
        INSERT INTO referral.referrals (referee_user_id, referrer_user_id, created_at)
        VALUES (p_referee_user_id, v_referrer, ops.now());
    END IF;
    referrer_user_id := CASE WHEN outcome = 'ALREADY_REFERRED' THEN v_existing
                             WHEN outcome = 'REGISTERED' THEN v_referrer END;
    RETURN NEXT;
END
$$;

ALTER FUNCTION api.register_referral(p_referee_user_id bigint, p_referral_code text) OWNER TO starpass_owner;

-- Name: FUNCTION register_referral(p_referee_user_id bigint, p_referral_code text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.register_referral(p_referee_user_id bigint, p_referral_code text) IS 'Records who referred a user: REGISTERED, or UNKNOWN_CODE, SELF_REFERRAL, ALREADY_REFERRED (the first wins), ALREADY_PAID, CYCLE.';

-- Name: release_telegram_update(bigint, integer); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.release_telegram_update(p_update_id bigint, p_attempts integer) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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

ALTER FUNCTION api.release_telegram_update(p_update_id bigint, p_attempts integer) OWNER TO starpass_owner;

-- Name: FUNCTION release_telegram_update(p_update_id bigint, p_attempts integer); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.release_telegram_update(p_update_id bigint, p_attempts integer) IS 'Gives back the lease of a claim whose handling failed (the claim''s attempts identify it), so the next delivery is RETRY at once; false when that claim no longer holds it (handled, taken over, released, never claimed).';

-- Name: request_purchase_refund(bigint, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.request_purchase_refund(p_purchase_id bigint, p_actor text, p_reason text) RETURNS TABLE(purchase_id bigint, user_id bigint, telegram_payment_charge_id text, status text, refund_request_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_purchase  billing.purchases;
    v_request   bigint;
BEGIN
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(char_length(btrim(p_reason)) BETWEEN 1 AND 1000, 'p_reason',
        'a refund needs a reason of 1 to 1000 characters', NULL);
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.purchase_id = p_purchase_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'purchase_not_found', MESSAGE = 'purchase not found',
            DETAIL = format('no purchase %s', p_purchase_id);
    END IF;
    IF v_purchase.status NOT IN ('PAID', 'REFUNDED') THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'purchase_not_paid', MESSAGE = 'purchase is not paid',
            DETAIL = format('purchase %s is %s', p_purchase_id, v_purchase.status),
            HINT = 'Only a paid purchase can be refunded.';
    END IF;
    -- The intent is on record before Telegram is asked: a crash between the two leaves a
    -- request an operator sees (billing.refund_requests without a REFUNDED purchase) and
    -- finishes by calling the refund endpoint again; a refund Telegram did make is recorded by
    -- `starpass payments reconcile`.
    IF v_purchase.status = 'PAID' THEN
        INSERT INTO billing.refund_requests (purchase_id, requested_at, actor, reason)
        VALUES (p_purchase_id, ops.now(), p_actor, btrim(p_reason))
        RETURNING refund_requests.refund_request_id INTO v_request;
        PERFORM ops.write_audit(p_actor, 'billing.refund_requested', 'purchase', p_purchase_id::text,
                                btrim(p_reason), jsonb_build_object('refund_request_id', v_request));
    END IF;
    RETURN QUERY SELECT v_purchase.purchase_id, v_purchase.user_id, v_purchase.telegram_payment_charge_id,
                        v_purchase.status, v_request;
END
$$;

ALTER FUNCTION api.request_purchase_refund(p_purchase_id bigint, p_actor text, p_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION request_purchase_refund(p_purchase_id bigint, p_actor text, p_reason text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.request_purchase_refund(p_purchase_id bigint, p_actor text, p_reason text) IS 'Records an operator''s refund request for a PAID purchase (audited) and returns what refundStarPayment needs; for a REFUNDED purchase records nothing and says so (status), so a retry does not ask Telegram again.';

-- Name: reset_promo_throttle(bigint, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.reset_promo_throttle(p_user_id bigint, p_actor text, p_reason text) RETURNS TABLE(user_id bigint, is_blocked boolean, blocked_until timestamp with time zone, failures_in_window bigint, max_failures integer, window_length interval, counting_since timestamp with time zone, changed boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now     timestamptz := ops.now();
    v_before  record;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(char_length(btrim(p_reason)) BETWEEN 1 AND 1000, 'p_reason',
        'an unblock needs a reason of 1 to 1000 characters', 'Say why, e.g. the support ticket.');
    PERFORM promo.lock_user(p_user_id);
    SELECT * INTO v_before FROM api.get_promo_throttle(p_user_id);
    IF v_before.is_blocked OR v_before.failures_in_window > 0 THEN
        PERFORM ops.write_audit(p_actor, 'promo.throttle_reset', 'user', p_user_id::text, p_reason,
            jsonb_build_object('blocked_until', v_before.blocked_until,
                               'failures_in_window', v_before.failures_in_window));
        PERFORM core.ensure_user(p_user_id);
        -- Under the user lock every counted attempt of this user has committed: the count
        -- restarts after the last of them.
        INSERT INTO promo.user_throttle AS t (user_id, counting_since, counting_after_attempt_id,
                                              updated_at)
        VALUES (p_user_id, v_now,
                (SELECT max(a.attempt_id) FROM promo.promo_attempts AS a
                 WHERE a.user_id = p_user_id AND a.counted),
                v_now)
        ON CONFLICT ON CONSTRAINT user_throttle_pkey DO UPDATE
        SET blocked_until = NULL, blocked_at = NULL, counting_since = excluded.counting_since,
            counting_after_attempt_id = excluded.counting_after_attempt_id,
            updated_at = excluded.updated_at;
    END IF;
    RETURN QUERY SELECT t.*, v_before.is_blocked OR v_before.failures_in_window > 0
                 FROM api.get_promo_throttle(p_user_id) AS t;
END
$$;

ALTER FUNCTION api.reset_promo_throttle(p_user_id bigint, p_actor text, p_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION reset_promo_throttle(p_user_id bigint, p_actor text, p_reason text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.reset_promo_throttle(p_user_id bigint, p_actor text, p_reason text) IS 'Support unblock: lifts a block and restarts the failure count (audited); a user with nothing to reset is left alone (changed = false).';

-- Name: retry_alert(bigint, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.retry_alert(p_alert_id bigint, p_actor text, p_reason text DEFAULT NULL::text) RETURNS TABLE(alert_id bigint, state text, deliveries integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now    timestamptz := ops.now();
    v_alert  ops.alert_outbox;
    v_count  integer;
BEGIN
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(p_reason IS NULL OR char_length(p_reason) BETWEEN 1 AND 1000, 'p_reason',
        'a reason is 1 to 1000 characters', NULL);
    SELECT * INTO v_alert FROM ops.alert_outbox AS a WHERE a.alert_id = p_alert_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'alert_not_found', MESSAGE = 'alert not found',
            DETAIL = format('no alert %s', p_alert_id);
    ELSIF v_alert.state <> 'dead' THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'alert_not_dead', MESSAGE = 'alert is not dead',
            DETAIL = format('alert %s is %s', p_alert_id, v_alert.state),
            HINT = 'Only a dead alert is retried; a pending one is still being delivered.';
    END IF;
    IF EXISTS (SELECT FROM ops.alert_outbox AS a WHERE a.dedup_key = v_alert.dedup_key AND a.state = 'pending') THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'alert_key_pending', MESSAGE = 'an alert with this dedup key is pending',
            DETAIL = format('alert %s has the dedup key of a pending alert', p_alert_id),
            HINT = 'The condition was raised again and that alert is being delivered; retry this one after it settled.';
    END IF;
    -- Every dead delivery of the alert goes again, to the same target, with a fresh count of
    -- attempts (the old count is in the audit row); delivered ones are not sent twice. An alert
    -- that died inside a summary is sent on its own.
    UPDATE ops.alert_deliveries AS d
    SET state = 'pending', dead_at = NULL, attempts = 0, next_attempt_at = v_now, summary_id = NULL,
        fallback_target = NULL, hold_reason = NULL
    WHERE d.alert_id = p_alert_id AND d.state = 'dead';
    GET DIAGNOSTICS v_count = ROW_COUNT;
    -- An alert that was never routed (refused by every dispatcher) is routed again.
    UPDATE ops.alert_outbox AS a
    SET state = 'pending', dead_at = NULL, next_attempt_at = v_now,
        routed_at = CASE WHEN v_count = 0 THEN NULL ELSE a.routed_at END
    WHERE a.alert_id = p_alert_id;
    PERFORM ops.write_audit(p_actor, 'ops.alert_retried', 'alert', p_alert_id::text, p_reason,
                            jsonb_build_object('event', v_alert.event, 'deliveries', v_count,
                                               'last_error', v_alert.last_error));
    RETURN QUERY SELECT p_alert_id, 'pending'::text, v_count;
END
$$;

ALTER FUNCTION api.retry_alert(p_alert_id bigint, p_actor text, p_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION retry_alert(p_alert_id bigint, p_actor text, p_reason text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.retry_alert(p_alert_id bigint, p_actor text, p_reason text) IS 'Operator: sends a dead alert again (each dead delivery, attempts counted afresh; audited); SP409 unless it is dead or while another alert with its dedup key is pending.';

-- Name: rollback_refunded_promo(bigint, text, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.rollback_refunded_promo(p_purchase_id bigint, p_actor text, p_idempotency_key text, p_reason text DEFAULT NULL::text) RETURNS api.rollback_refunded_promo_result
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_hash    bytea := ops.request_hash(jsonb_build_array(p_purchase_id));
    v_result  api.rollback_refunded_promo_result;
BEGIN
    PERFORM ops.require_read_committed('rollback_refunded_promo');
    PERFORM ops.check_argument(p_reason IS NULL OR char_length(p_reason) BETWEEN 1 AND 1000, 'p_reason',
        'a reason is 1 to 1000 characters', NULL);
    PERFORM ops.check_actor(p_actor);
    v_result := ops.idempotent_answer(NULL::api.rollback_refunded_promo_result,
                                      ops.find_idempotent('promo.rollback_refunded_promo', p_idempotency_key, v_hash));
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;  -- a replay, or IDEMPOTENCY_CONFLICT
    END IF;

    SELECT r.outcome, p_purchase_id, r.promo_redemption_id, false INTO v_result
    FROM promo.revoke_refunded_redemption(p_purchase_id, p_actor) AS r;
    PERFORM ops.write_audit(p_actor, 'promo.rollback_requested', 'purchase', p_purchase_id::text, p_reason,
        jsonb_build_object('outcome', v_result.outcome, 'promo_redemption_id', v_result.promo_redemption_id,
                           'idempotency_key', p_idempotency_key));
    INSERT INTO promo.rollback_requests (idempotency_key, purchase_id, actor, created_at)
    VALUES (p_idempotency_key, p_purchase_id, p_actor, ops.now());
    PERFORM ops.save_idempotent('promo.rollback_refunded_promo', p_idempotency_key, v_hash, to_jsonb(v_result));
    RETURN v_result;
END
$$;

ALTER FUNCTION api.rollback_refunded_promo(p_purchase_id bigint, p_actor text, p_idempotency_key text, p_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION rollback_refunded_promo(p_purchase_id bigint, p_actor text, p_idempotency_key text, p_reason text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.rollback_refunded_promo(p_purchase_id bigint, p_actor text, p_idempotency_key text, p_reason text) IS 'Revokes the promo redemption of a refunded purchase (REVOKED, ALREADY_REVOKED, NO_PROMO; IDEMPOTENCY_CONFLICT for a key bound to another purchase), idempotently by key; SP404/SP409 when the purchase is missing or not refunded. used_total is never decremented.';

-- Name: rollover_promo_campaigns(); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.rollover_promo_campaigns() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now      timestamptz := ops.now();
    v_expired  integer;
    v_depleted integer;
BEGIN
    -- Campaign rows only (SKIP LOCKED: an operator's change in flight wins this run).
    WITH due AS (
        SELECT c.promo_code_id FROM promo.promo_codes AS c
        WHERE c.status IN ('ACTIVE', 'PAUSED') AND c.ends_at <= v_now
        ORDER BY c.ends_at LIMIT 10000
        FOR UPDATE SKIP LOCKED
    )
    UPDATE promo.promo_codes AS c SET status = 'EXPIRED', expired_at = v_now, updated_at = v_now
    FROM due WHERE c.promo_code_id = due.promo_code_id;
    GET DIAGNOSTICS v_expired = ROW_COUNT;

    WITH due AS (
        SELECT c.promo_code_id FROM promo.promo_codes AS c
        WHERE c.status = 'ACTIVE' AND c.max_uses IS NOT NULL
          AND (SELECT sum(s.used) FROM promo.capacity_slots AS s WHERE s.promo_code_id = c.promo_code_id) >= c.max_uses
          AND NOT EXISTS (SELECT FROM promo.promo_redemptions AS r
                          WHERE r.promo_code_id = c.promo_code_id AND r.status = 'RESERVED')
        LIMIT 10000
        FOR UPDATE SKIP LOCKED
    )
    UPDATE promo.promo_codes AS c SET status = 'DEPLETED', depleted_at = v_now, updated_at = v_now
    FROM due WHERE c.promo_code_id = due.promo_code_id;
    GET DIAGNOSTICS v_depleted = ROW_COUNT;
    RETURN v_expired + v_depleted;
END
$$;

ALTER FUNCTION api.rollover_promo_campaigns() OWNER TO starpass_owner;

-- Name: FUNCTION rollover_promo_campaigns(); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.rollover_promo_campaigns() IS 'Job: ACTIVE/PAUSED -> EXPIRED after ends_at; ACTIVE -> DEPLETED when used_total reached max_uses and no reservation remains. Returns how many campaigns changed.';

-- Name: route_alert(bigint, text[], integer, interval); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.route_alert(p_alert_id bigint, p_targets text[], p_flood_limit integer DEFAULT NULL::integer, p_repeat_interval interval DEFAULT NULL::interval) RETURNS TABLE(alert_id bigint, deliveries integer, held_until timestamp with time zone, changed boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    v_now          timestamptz := ops.now();
    v_alert        ops.alert_outbox;
    v_limit        integer;
    v_every        interval;
    v_flood        ops.alert_floods;
    v_held         timestamptz;
    v_maintenance  boolean;
    v_count        integer;
BEGIN
    PERFORM ops.check_argument(cardinality(p_targets) BETWEEN 1 AND 20
                               AND array_position(p_targets, NULL) IS NULL, 'p_targets',
        'route to 1 to 20 targets', 'Name targets as generic, slack, slack:<channel>, pagerduty or pagerduty:<name>.');
    PERFORM ops.check_argument(
        (SELECT bool_and(t ~ '^(generic|slack|pagerduty)(:[A-Za-z0-9#._-]{1,80})?$') FROM unnest(p_targets) AS t),
        'p_targets', 'a target name is generic, slack, slack:<channel>, pagerduty or pagerduty:<name>',
        'A target is a name from the dispatcher''s configuration, never a URL or a key.');
    PERFORM ops.check_argument(p_flood_limit IS NULL OR p_flood_limit BETWEEN 1 AND 100000, 'p_flood_limit',
        'a flood limit is 1 to 100000 alerts per repeat interval', NULL);
    PERFORM ops.check_argument(p_repeat_interval IS NULL
                               OR (p_repeat_interval > interval '0' AND p_repeat_interval <= interval '7 days'),
        'p_repeat_interval', 'a repeat interval is more than 0 and at most 7 days', NULL);

    -- Lock order: the alert, its event's flood window, then the new deliveries.
    SELECT * INTO v_alert FROM ops.alert_outbox AS a WHERE a.alert_id = p_alert_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'alert_not_found', MESSAGE = 'alert not found',
            DETAIL = format('no alert %s', p_alert_id);
    END IF;
    IF v_alert.routed_at IS NOT NULL OR v_alert.state <> 'pending' THEN
        -- Routed already (by another dispatcher whose lease ran out), or settled by hand.
        RETURN QUERY SELECT p_alert_id, (SELECT count(*)::integer FROM ops.alert_deliveries AS d
                                         WHERE d.alert_id = p_alert_id AND d.fallback_for IS NULL),
                            NULL::timestamptz, false;
        RETURN;
    END IF;

    -- Flood control: per event, at most v_limit alerts per repeat interval go out at once; the
    -- rest wait for the end of the interval and then go out together, as one summary per
    -- target. Resolves and test alerts are never held.
    IF v_alert.action = 'trigger' AND NOT coalesce(v_alert.details -> 'test' = 'true'::jsonb, false) THEN
        v_limit := coalesce(p_flood_limit, ops.setting_integer('ops.alert_flood_limit'));
        v_every := coalesce(p_repeat_interval, ops.setting_interval('ops.alert_repeat_interval'));
        INSERT INTO ops.alert_floods AS f (event, window_start, routed) VALUES (v_alert.event, v_now, 0)
        ON CONFLICT (event) DO NOTHING;
        SELECT * INTO v_flood FROM ops.alert_floods AS f WHERE f.event = v_alert.event FOR UPDATE;
        IF v_flood.window_start + v_every <= v_now THEN
            v_flood.window_start := v_now;
            v_flood.routed := 0;
        END IF;
        v_flood.routed := v_flood.routed + 1;
        UPDATE ops.alert_floods AS f SET window_start = v_flood.window_start, routed = v_flood.routed
        WHERE f.event = v_alert.event;
        IF v_flood.routed > v_limit THEN
            v_held := v_flood.window_start + v_every;
        END IF;
    END IF;

    -- A page raised during a maintenance window is held while the window lasts (api.claim_alert_deliveries
    -- reads the window each time, so ending it early releases the pages).
    v_maintenance := v_now < ops.setting_timestamptz('ops.alert_maintenance_until');
    INSERT INTO ops.alert_targets AS t (target) SELECT DISTINCT x FROM unnest(p_targets) AS x
    ON CONFLICT (target) DO NOTHING;
    INSERT INTO ops.alert_deliveries (alert_id, target, action, dedup_key, hold_reason, created_at, next_attempt_at)
    SELECT p_alert_id, x.t, v_alert.action, coalesce(v_alert.resolves, v_alert.dedup_key),
           CASE WHEN v_held IS NOT NULL THEN 'flood'
                WHEN v_maintenance AND split_part(x.t, ':', 1) = 'pagerduty' THEN 'maintenance' END,
           v_now, coalesce(v_held, v_now)
    FROM (SELECT DISTINCT t FROM unnest(p_targets) AS t) AS x;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    UPDATE ops.alert_outbox AS a SET routed_at = v_now, claimed_until = NULL WHERE a.alert_id = p_alert_id;
    RETURN QUERY SELECT p_alert_id, v_count, v_held, true;
END
$_$;

ALTER FUNCTION api.route_alert(p_alert_id bigint, p_targets text[], p_flood_limit integer, p_repeat_interval interval) OWNER TO starpass_owner;

-- Name: FUNCTION route_alert(p_alert_id bigint, p_targets text[], p_flood_limit integer, p_repeat_interval interval); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.route_alert(p_alert_id bigint, p_targets text[], p_flood_limit integer, p_repeat_interval interval) IS 'For dispatchers: routes an alert to its targets (one delivery each), applying flood control per event and the maintenance window for pages; again, nothing changes.';

-- Name: run_promo_bruteforce_guard(text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.run_promo_bruteforce_guard(p_actor text DEFAULT 'job:promo_bruteforce_guard'::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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

ALTER FUNCTION api.run_promo_bruteforce_guard(p_actor text) OWNER TO starpass_owner;

-- Name: FUNCTION run_promo_bruteforce_guard(p_actor text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.run_promo_bruteforce_guard(p_actor text) IS 'Job: pauses ACTIVE campaigns with too many NOT_FOUND guesses on their prefix from enough distinct users in the window (audited as p_actor: the job, or the operator who runs it by hand; alert promo.campaign_autopaused); alerts promo.bruteforce_suspected on a global NOT_FOUND surge. Returns how many it paused.';

-- Name: run_refund_promo_rollback(integer, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.run_refund_promo_rollback(p_limit integer DEFAULT 100, p_actor text DEFAULT 'job:refund_promo_rollback'::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_candidate  record;
    v_revoked    integer := 0;
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 10000, 'p_limit', 'a batch is 1 to 10000 rows', NULL);
    PERFORM ops.check_actor(p_actor);
    -- Redemptions locked with SKIP LOCKED: a manual rollback or another run holding one is
    -- passed over, and whoever holds it finishes it.
    FOR v_candidate IN
        SELECT p.purchase_id
        FROM promo.promo_redemptions AS r
        JOIN billing.purchases AS p ON p.promo_redemption_id = r.promo_redemption_id
        WHERE r.status = 'CONSUMED' AND p.status = 'REFUNDED'
        ORDER BY p.refunded_at
        LIMIT p_limit
        FOR UPDATE OF r SKIP LOCKED
    LOOP
        IF (SELECT v.outcome FROM promo.revoke_refunded_redemption(v_candidate.purchase_id, p_actor) AS v) = 'REVOKED' THEN
            v_revoked := v_revoked + 1;
        END IF;
    END LOOP;
    RETURN v_revoked;
END
$$;

ALTER FUNCTION api.run_refund_promo_rollback(p_limit integer, p_actor text) OWNER TO starpass_owner;

-- Name: FUNCTION run_refund_promo_rollback(p_limit integer, p_actor text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.run_refund_promo_rollback(p_limit integer, p_actor text) IS 'Job: revokes the promo redemptions of refunded purchases in one SKIP LOCKED batch, audited as p_actor (the job, or the operator who runs it by hand); returns how many it revoked. Safe beside itself and the manual rollback.';

-- Name: set_promo_campaign_status(bigint, text, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.set_promo_campaign_status(p_promo_code_id bigint, p_status text, p_actor text, p_reason text DEFAULT NULL::text) RETURNS TABLE(promo_code_id bigint, status text, changed boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_now       timestamptz := ops.now();
    v_campaign  promo.promo_codes;
BEGIN
    PERFORM ops.check_argument(p_status IN ('ACTIVE', 'PAUSED'), 'p_status',
        format('%L is not a status an operator sets', p_status), 'Set ACTIVE or PAUSED.');
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(p_status = 'ACTIVE' OR char_length(btrim(p_reason)) BETWEEN 1 AND 200,
        'p_reason', 'a pause needs a reason of 1 to 200 characters', NULL);
    -- Writes the campaign row only, never its capacity slots: a redemption that read ACTIVE
    -- before this commits is ordered before it (see docs/promo.md).
    SELECT * INTO v_campaign FROM promo.promo_codes AS c WHERE c.promo_code_id = p_promo_code_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'campaign_not_found', MESSAGE = 'promo campaign not found',
            DETAIL = format('no campaign with id %s', p_promo_code_id);
    END IF;
    IF v_campaign.internal THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'campaign_internal', MESSAGE = 'campaign is internal',
            DETAIL = format('campaign %s holds the DISCOUNT referral rewards; it has no code to pause',
                            p_promo_code_id),
            HINT = 'Referral rewards are governed by the referral settings, not by a campaign status.';
    END IF;
    IF v_campaign.status = p_status THEN
        RETURN QUERY SELECT p_promo_code_id, p_status, false;  -- no change, no audit noise
        RETURN;
    END IF;
    IF v_campaign.status IN ('EXPIRED', 'DEPLETED') THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'campaign_ended', MESSAGE = 'campaign has ended',
            DETAIL = format('campaign %s is %s', p_promo_code_id, v_campaign.status),
            HINT = 'An ended campaign cannot be paused or resumed; create a new one.';
    END IF;
    IF p_status = 'ACTIVE' AND v_campaign.ends_at <= v_now THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'campaign_past_end', MESSAGE = 'campaign is past its end',
            DETAIL = format('campaign %s ended at %s', p_promo_code_id, v_campaign.ends_at);
    END IF;

    UPDATE promo.promo_codes AS c
    SET status = p_status,
        paused_at = CASE WHEN p_status = 'PAUSED' THEN v_now END,
        paused_reason = CASE WHEN p_status = 'PAUSED' THEN btrim(p_reason) END,
        -- Attempts before a resume do not make the guard pause it again.
        guard_counting_since = CASE WHEN p_status = 'ACTIVE' THEN v_now ELSE c.guard_counting_since END,
        updated_at = v_now
    WHERE c.promo_code_id = p_promo_code_id;
    PERFORM ops.write_audit(p_actor, CASE p_status WHEN 'PAUSED' THEN 'promo.campaign_paused'
                                                   ELSE 'promo.campaign_resumed' END,
                            'promo_code', p_promo_code_id::text, p_reason,
                            jsonb_build_object('from', v_campaign.status, 'to', p_status));
    IF p_status = 'ACTIVE' AND v_campaign.paused_reason = 'BRUTE_FORCE_GUARD' THEN
        -- The guard's incident is over: its alert is resolved (PagerDuty closes the incident).
        PERFORM ops.resolve_alert('promo.campaign_autopaused', jsonb_build_object('promo_code_id', p_promo_code_id),
            format('campaign %s resumed by %s after the brute-force guard paused it', p_promo_code_id, p_actor));
    END IF;
    RETURN QUERY SELECT p_promo_code_id, p_status, true;
END
$$;

ALTER FUNCTION api.set_promo_campaign_status(p_promo_code_id bigint, p_status text, p_actor text, p_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION set_promo_campaign_status(p_promo_code_id bigint, p_status text, p_actor text, p_reason text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.set_promo_campaign_status(p_promo_code_id bigint, p_status text, p_actor text, p_reason text) IS 'Operator pause/resume (ACTIVE <-> PAUSED only, audited; resuming a campaign the brute-force guard paused resolves its alert); the same status again changes nothing; SP409 for an ended campaign or a resume past ends_at.';

-- Name: set_setting(text, text, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.set_setting(p_key text, p_value text, p_actor text, p_reason text DEFAULT NULL::text) RETURNS TABLE(key text, value text, previous_value text, changed boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_setting  ops.settings;
BEGIN
    PERFORM ops.check_actor(p_actor);
    SELECT * INTO v_setting FROM ops.settings AS s WHERE s.key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'setting_not_found', MESSAGE = 'setting not found',
            DETAIL = format('no setting %L', p_key), HINT = 'api.list_settings() lists them.';
    END IF;
    PERFORM ops.check_argument(p_value IS NOT NULL AND ops.is_valid_setting_value(v_setting.value_type, p_value), 'p_value',
        format('%L is not a valid %s', p_value, v_setting.value_type),
        format('%s takes a %s, e.g. %s', p_key, v_setting.value_type, v_setting.default_value));

    IF v_setting.value = p_value THEN
        RETURN QUERY SELECT p_key, p_value, v_setting.value, false;
        RETURN;
    END IF;
    PERFORM ops.write_audit(p_actor, 'ops.setting_changed', 'setting', p_key, p_reason,
                            jsonb_build_object('from', v_setting.value, 'to', p_value));
    UPDATE ops.settings AS s
    SET value = p_value, updated_at = ops.now(), updated_by = p_actor
    WHERE s.key = p_key;
    RETURN QUERY SELECT p_key, p_value, v_setting.value, true;
END
$$;

ALTER FUNCTION api.set_setting(p_key text, p_value text, p_actor text, p_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION set_setting(p_key text, p_value text, p_actor text, p_reason text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.set_setting(p_key text, p_value text, p_actor text, p_reason text) IS 'Changes a tunable (validated against its type, audited); the same value again changes nothing.';

-- Name: touch_user(bigint, text, text, text); Type: FUNCTION; Schema: api; Owner: starpass_owner

CREATE FUNCTION api.touch_user(p_user_id bigint, p_username text DEFAULT NULL::text, p_first_name text DEFAULT NULL::text, p_language_code text DEFAULT NULL::text) RETURNS TABLE(user_id bigint, username text, first_name text, language_code text, created_at timestamp with time zone, updated_at timestamp with time zone, created boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(p_username IS NULL OR p_username ~ '^[A-Za-z0-9_]{1,32}$', 'p_username',
        'a username is 1 to 32 letters, digits or underscores, without the @', NULL);
    PERFORM ops.check_argument(p_first_name IS NULL OR char_length(p_first_name) BETWEEN 1 AND 64,
        'p_first_name', 'a first name is 1 to 64 characters', NULL);
    PERFORM ops.check_argument(p_language_code IS NULL
                               OR p_language_code ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$',
        'p_language_code', format('%L is not an IETF language tag', p_language_code),
        'Pass Telegram''s from.language_code, e.g. de or pt-br.');

    -- The arguments are the user's current Telegram profile: they replace what was stored.
    INSERT INTO core.users AS u (user_id, username, first_name, language_code,
                                 created_at, updated_at, last_seen_at)
    VALUES (p_user_id, p_username, p_first_name, p_language_code, v_now, v_now, v_now)
    ON CONFLICT ON CONSTRAINT users_pkey DO UPDATE
    SET username      = excluded.username,
        first_name    = excluded.first_name,
        language_code = excluded.language_code,
        updated_at    = CASE
            WHEN (u.username, u.first_name, u.language_code)
                 IS DISTINCT FROM (excluded.username, excluded.first_name, excluded.language_code)
            THEN v_now ELSE u.updated_at END,
        last_seen_at  = v_now
    -- xmax is 0 only on a freshly inserted row version: the insert-or-update tell.
    RETURNING u.user_id, u.username, u.first_name, u.language_code, u.created_at, u.updated_at,
              u.xmax = 0
    INTO user_id, username, first_name, language_code, created_at, updated_at, created;
    RETURN NEXT;
END
$_$;

ALTER FUNCTION api.touch_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text) OWNER TO starpass_owner;

-- Name: FUNCTION touch_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text); Type: COMMENT; Schema: api; Owner: starpass_owner

COMMENT ON FUNCTION api.touch_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text) IS 'Creates or updates a user from their current Telegram profile (username, first name, language); created tells which.';

-- Name: purchases; Type: TABLE; Schema: billing; Owner: starpass_owner

CREATE TABLE billing.purchases (
    purchase_id bigint NOT NULL,
    user_id bigint NOT NULL,
    plan_code text NOT NULL,
    premium_days integer NOT NULL,
    promo_redemption_id bigint,
    idempotency_key ops.idempotency_key NOT NULL,
    invoice_payload text NOT NULL,
    currency text DEFAULT 'XTR'::text NOT NULL,
    base_price_stars integer NOT NULL,
    discount_percent integer,
    price_stars integer NOT NULL,
    status text DEFAULT 'INIT'::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    prechecked_at timestamp with time zone,
    paid_at timestamp with time zone,
    refunded_at timestamp with time zone,
    cancelled_at timestamp with time zone,
    telegram_payment_charge_id text,
    refund_actor text,
    refund_reason text,
    CONSTRAINT purchases_base_price_stars_check CHECK ((base_price_stars > 0)),
    CONSTRAINT purchases_check CHECK (((price_stars >= 1) AND (price_stars <= base_price_stars))),
    CONSTRAINT purchases_currency_check CHECK ((currency = 'XTR'::text)),
    CONSTRAINT purchases_discount_percent_check CHECK (((discount_percent >= 1) AND (discount_percent <= 99))),
    CONSTRAINT purchases_discount_source CHECK (((discount_percent IS NULL) = (promo_redemption_id IS NULL))),
    CONSTRAINT purchases_invoice_payload_check CHECK ((invoice_payload ~ '^[A-Za-z0-9_-]{16,128}$'::text)),
    CONSTRAINT purchases_premium_days_check CHECK ((premium_days > 0)),
    CONSTRAINT purchases_refund_actor_check CHECK (((char_length(refund_actor) >= 1) AND (char_length(refund_actor) <= 128))),
    CONSTRAINT purchases_refund_reason_check CHECK (((char_length(refund_reason) >= 1) AND (char_length(refund_reason) <= 1000))),
    CONSTRAINT purchases_status_check CHECK ((status = ((status)::billing.purchase_status)::text)),
    CONSTRAINT purchases_status_times CHECK (
CASE status
    WHEN 'INIT'::text THEN ((prechecked_at IS NULL) AND (paid_at IS NULL) AND (refunded_at IS NULL) AND (telegram_payment_charge_id IS NULL))
    WHEN 'PRECHECKOUT_OK'::text THEN ((prechecked_at IS NOT NULL) AND (paid_at IS NULL) AND (refunded_at IS NULL) AND (telegram_payment_charge_id IS NULL))
    WHEN 'PAID'::text THEN ((paid_at IS NOT NULL) AND (telegram_payment_charge_id IS NOT NULL) AND (refunded_at IS NULL))
    WHEN 'REFUNDED'::text THEN ((paid_at IS NOT NULL) AND (telegram_payment_charge_id IS NOT NULL) AND (refunded_at IS NOT NULL) AND (refund_actor IS NOT NULL) AND (refund_reason IS NOT NULL))
    WHEN 'CANCELLED'::text THEN ((cancelled_at IS NOT NULL) AND (paid_at IS NULL))
    ELSE NULL::boolean
END),
    CONSTRAINT purchases_telegram_payment_charge_id_check CHECK (((char_length(telegram_payment_charge_id) >= 1) AND (char_length(telegram_payment_charge_id) <= 255)))
);

ALTER TABLE billing.purchases OWNER TO starpass_owner;

-- Name: TABLE purchases; Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON TABLE billing.purchases IS 'An invoice for a plan at a price fixed when it was made: INIT -> PRECHECKOUT_OK -> PAID -> REFUNDED, or CANCELLED.';

-- Name: alert_unsettled_payment(text, billing.purchases, bigint, text, text, bigint); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.alert_unsettled_payment(p_outcome text, p_purchase billing.purchases, p_user_id bigint, p_charge_id text, p_currency text, p_total_amount bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- Telegram took the Stars but nothing was granted: an operator refunds or settles by hand.
    PERFORM ops.raise_alert(
        CASE p_outcome WHEN 'MISMATCH' THEN 'payments.amount_mismatch'
                       WHEN 'DUPLICATE' THEN 'payments.duplicate_payment'
                       ELSE 'payments.unknown_purchase' END,
        'critical',
        left(format('payment %s (%s %s from user %s) did not settle a purchase: %s',
                    p_charge_id, p_total_amount, p_currency, p_user_id, p_outcome), 500),
        jsonb_build_object('telegram_payment_charge_id', p_charge_id,
                           'user_id', p_user_id, 'purchase_id', p_purchase.purchase_id,
                           'currency', p_currency, 'total_amount', p_total_amount,
                           'expected_amount', p_purchase.price_stars,
                           'expected_user_id', p_purchase.user_id),
        'payments:' || md5(p_charge_id));
END
$$;

ALTER FUNCTION billing.alert_unsettled_payment(p_outcome text, p_purchase billing.purchases, p_user_id bigint, p_charge_id text, p_currency text, p_total_amount bigint) OWNER TO starpass_owner;

-- Name: FUNCTION alert_unsettled_payment(p_outcome text, p_purchase billing.purchases, p_user_id bigint, p_charge_id text, p_currency text, p_total_amount bigint); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.alert_unsettled_payment(p_outcome text, p_purchase billing.purchases, p_user_id bigint, p_charge_id text, p_currency text, p_total_amount bigint) IS 'Raises the critical alert of a confirmed payment that settled nothing (MISMATCH, DUPLICATE, UNKNOWN_PURCHASE).';

-- Name: book_purchase(billing.purchases); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.book_purchase(p_purchase billing.purchases) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM billing.post_ledger_entry(p_purchase.user_id, 'PURCHASE_PAYMENT', p_purchase.purchase_id,
                                      p_stars => p_purchase.price_stars, p_actor => 'telegram');
    RETURN (billing.post_ledger_entry(p_purchase.user_id, 'PURCHASE_PREMIUM', p_purchase.purchase_id,
                                      p_premium_days => p_purchase.premium_days,
                                      p_actor => 'telegram')).premium_until_after;
END
$$;

ALTER FUNCTION billing.book_purchase(p_purchase billing.purchases) OWNER TO starpass_owner;

-- Name: FUNCTION book_purchase(p_purchase billing.purchases); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.book_purchase(p_purchase billing.purchases) IS 'Books a paid purchase in the ledger (PURCHASE_PAYMENT +Stars, PURCHASE_PREMIUM +days); returns the premium_until it leaves.';

-- Name: discount_price(integer, integer); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.discount_price(p_base integer, p_percent integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    -- base × (100 − percent) / 100, rounded half up, never below 1 Star.
    SELECT greatest(1, (p_base * (100 - coalesce(p_percent, 0)) + 50) / 100)
$$;

ALTER FUNCTION billing.discount_price(p_base integer, p_percent integer) OWNER TO starpass_owner;

-- Name: FUNCTION discount_price(p_base integer, p_percent integer); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.discount_price(p_base integer, p_percent integer) IS 'The price after a percent discount: rounded half up, at least 1 Star.';

-- Name: guard_purchase_change(); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.guard_purchase_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF (NEW.user_id, NEW.plan_code, NEW.premium_days, NEW.promo_redemption_id, NEW.idempotency_key,
        NEW.invoice_payload, NEW.base_price_stars, NEW.discount_percent, NEW.price_stars, NEW.created_at)
       IS DISTINCT FROM
       (OLD.user_id, OLD.plan_code, OLD.premium_days, OLD.promo_redemption_id, OLD.idempotency_key,
        OLD.invoice_payload, OLD.base_price_stars, OLD.discount_percent, OLD.price_stars, OLD.created_at) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'purchase_terms_immutable', MESSAGE = 'purchase terms are immutable',
            DETAIL = format('purchase %s', OLD.purchase_id);
    END IF;
    IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('INIT', 'PRECHECKOUT_OK'), ('INIT', 'PAID'), ('PRECHECKOUT_OK', 'PAID'), ('PAID', 'REFUNDED'),
        ('INIT', 'CANCELLED'), ('PRECHECKOUT_OK', 'CANCELLED'), ('CANCELLED', 'PAID')) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'forbidden_purchase_transition', MESSAGE = 'forbidden purchase transition',
            DETAIL = format('purchase %s: %s -> %s', OLD.purchase_id, OLD.status, NEW.status),
            HINT = 'INIT -> PRECHECKOUT_OK -> PAID -> REFUNDED; open -> CANCELLED; a confirmed payment is never refused.';
    END IF;
    RETURN NEW;
END
$$;

ALTER FUNCTION billing.guard_purchase_change() OWNER TO starpass_owner;

-- Name: FUNCTION guard_purchase_change(); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.guard_purchase_change() IS 'Trigger: the purchase state machine and its fixed terms.';

-- Name: is_ledger_entry(text, integer, integer); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.is_ledger_entry(p_actor text, p_stars_delta integer, p_premium_days_delta integer) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    -- The body of a table CHECK (ledger_entry), compiled once per connection rather than
    -- parsed by every statement that writes billing.ledger (promo.is_redemption_state says why).
    RETURN char_length(p_actor) BETWEEN 1 AND 128
       AND (p_stars_delta <> 0 OR p_premium_days_delta <> 0);
END
$$;

ALTER FUNCTION billing.is_ledger_entry(p_actor text, p_stars_delta integer, p_premium_days_delta integer) OWNER TO starpass_owner;

-- Name: FUNCTION is_ledger_entry(p_actor text, p_stars_delta integer, p_premium_days_delta integer); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.is_ledger_entry(p_actor text, p_stars_delta integer, p_premium_days_delta integer) IS 'A ledger entry as a table CHECK: an actor of 1-128 characters and a change of stars or premium days.';

-- Name: ledger_kinds(); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.ledger_kinds() RETURNS SETOF billing.ledger_kind
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    -- The one list of ledger kinds. Signs: 1 credit, -1 debit, 0 never, NULL either way.
    VALUES ('PURCHASE_PAYMENT', 'purchase', 1::smallint, 0::smallint, 'Stars received for a purchase.'),
           ('PURCHASE_PREMIUM', 'purchase', 0, 1, 'Premium days granted for a paid purchase.'),
           ('REFUND_PAYMENT', 'purchase', -1, 0, 'Stars returned to the user by a refund.'),
           ('REFUND_PREMIUM', 'purchase', 0, -1, 'Premium days removed by a refund.'),
           ('PROMO_PREMIUM', 'promo_redemption', 0, 1, 'Premium days granted by a PREMIUM_GRANT promo code.'),
           ('REFERRAL_PREMIUM', 'referral_reward', 0, 1, 'Premium days granted as a referral reward.'),
           ('ADMIN_ADJUSTMENT', 'audit_log', 0, NULL, 'Manual correction by an operator; the audit row says why.')
$$;

ALTER FUNCTION billing.ledger_kinds() OWNER TO starpass_owner;

-- Name: FUNCTION ledger_kinds(); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.ledger_kinds() IS 'Ledger entry kinds: the type of object that causes each and the sign each delta may have.';

-- Name: row_ids; Type: SEQUENCE; Schema: ops; Owner: starpass_owner

CREATE SEQUENCE ops.row_ids
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER TABLE ops.row_ids OWNER TO starpass_owner;

-- Name: SEQUENCE row_ids; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON SEQUENCE ops.row_ids IS 'Ids of promo.promo_attempts, promo.promo_redemptions and billing.ledger (one sequence: one relation lock per redemption).';

-- Name: ledger; Type: TABLE; Schema: billing; Owner: starpass_owner

CREATE TABLE billing.ledger (
    ledger_id bigint DEFAULT nextval('ops.row_ids'::regclass) NOT NULL,
    user_id bigint NOT NULL,
    kind text NOT NULL,
    ref_type text NOT NULL,
    ref_id bigint NOT NULL,
    stars_delta integer DEFAULT 0 NOT NULL,
    premium_days_delta integer DEFAULT 0 NOT NULL,
    premium_until_before timestamp with time zone,
    premium_until_after timestamp with time zone,
    actor text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT ledger_entry CHECK (billing.is_ledger_entry(actor, stars_delta, premium_days_delta))
);

ALTER TABLE billing.ledger OWNER TO starpass_owner;

-- Name: TABLE ledger; Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON TABLE billing.ledger IS 'Append-only: one row per credit or debit of Stars and premium days, with what caused it.';

-- Name: post_ledger_entry(bigint, text, bigint, integer, integer, text); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.post_ledger_entry(p_user_id bigint, p_kind text, p_ref_id bigint, p_premium_days integer DEFAULT 0, p_stars integer DEFAULT 0, p_actor text DEFAULT 'system'::text) RETURNS billing.ledger
    LANGUAGE plpgsql
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

ALTER FUNCTION billing.post_ledger_entry(p_user_id bigint, p_kind text, p_ref_id bigint, p_premium_days integer, p_stars integer, p_actor text) OWNER TO starpass_owner;

-- Name: FUNCTION post_ledger_entry(p_user_id bigint, p_kind text, p_ref_id bigint, p_premium_days integer, p_stars integer, p_actor text); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.post_ledger_entry(p_user_id bigint, p_kind text, p_ref_id bigint, p_premium_days integer, p_stars integer, p_actor text) IS 'The one way to move Stars or premium days: appends the ledger row and updates the entitlement in the caller''s transaction, under the user''s entitlement row lock.';

-- Name: premium_after(timestamp with time zone, integer, timestamp with time zone); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.premium_after(p_before timestamp with time zone, p_days integer, p_at timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
    -- Days are 24-hour units so the result never depends on the session's time zone.
    SELECT CASE
        WHEN p_days > 0 THEN greatest(p_at, coalesce(p_before, p_at)) + p_days * interval '24 hours'
        WHEN p_days < 0 THEN p_before + p_days * interval '24 hours'
        ELSE p_before
    END
$$;

ALTER FUNCTION billing.premium_after(p_before timestamp with time zone, p_days integer, p_at timestamp with time zone) OWNER TO starpass_owner;

-- Name: FUNCTION premium_after(p_before timestamp with time zone, p_days integer, p_at timestamp with time zone); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.premium_after(p_before timestamp with time zone, p_days integer, p_at timestamp with time zone) IS 'premium_until after moving p_days at p_at: a grant extends from max(p_at, premium_until), a removal shortens premium_until. The ledger and the invariant check share it.';

-- Name: is_redemption_state(text, text, timestamp with time zone, timestamp with time zone, timestamp with time zone, timestamp with time zone, text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.is_redemption_state(p_kind text, p_status text, p_reserved_until timestamp with time zone, p_consumed_at timestamp with time zone, p_expired_at timestamp with time zone, p_revoked_at timestamp with time zone, p_revoked_reason text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    -- The body of a table CHECK (promo_redemptions_state). PL/pgSQL, not an expression in the
    -- CHECK itself: PostgreSQL parses a table's CHECK expressions anew for every statement that
    -- writes the table, a compiled function once per connection (docs/benchmarks.md, "CHECK
    -- constraints"). NULL, like a CHECK, passes.
    RETURN (p_kind <> 'PREMIUM_GRANT'
            OR (p_status IN ('APPLIED', 'REVOKED') AND p_reserved_until IS NULL
                AND p_consumed_at IS NULL AND p_expired_at IS NULL))
       AND (p_kind <> 'PERCENT_DISCOUNT'
            OR (p_status IN ('RESERVED', 'CONSUMED', 'EXPIRED', 'REVOKED') AND p_reserved_until IS NOT NULL))
       AND coalesce(char_length(p_revoked_reason) BETWEEN 1 AND 1000, true)
       AND CASE p_status
           WHEN 'APPLIED' THEN p_revoked_at IS NULL
           WHEN 'RESERVED' THEN p_consumed_at IS NULL AND p_expired_at IS NULL AND p_revoked_at IS NULL
           WHEN 'CONSUMED' THEN p_consumed_at IS NOT NULL AND p_expired_at IS NULL AND p_revoked_at IS NULL
           WHEN 'EXPIRED' THEN p_expired_at IS NOT NULL AND p_consumed_at IS NULL AND p_revoked_at IS NULL
           WHEN 'REVOKED' THEN p_revoked_at IS NOT NULL AND p_revoked_reason IS NOT NULL
                               AND p_expired_at IS NULL
                               AND (p_kind = 'PREMIUM_GRANT' OR p_consumed_at IS NOT NULL)
           END;
END
$$;

ALTER FUNCTION promo.is_redemption_state(p_kind text, p_status text, p_reserved_until timestamp with time zone, p_consumed_at timestamp with time zone, p_expired_at timestamp with time zone, p_revoked_at timestamp with time zone, p_revoked_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION is_redemption_state(p_kind text, p_status text, p_reserved_until timestamp with time zone, p_consumed_at timestamp with time zone, p_expired_at timestamp with time zone, p_revoked_at timestamp with time zone, p_revoked_reason text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.is_redemption_state(p_kind text, p_status text, p_reserved_until timestamp with time zone, p_consumed_at timestamp with time zone, p_expired_at timestamp with time zone, p_revoked_at timestamp with time zone, p_revoked_reason text) IS 'The redemption state machine as a table CHECK: PREMIUM_GRANT is APPLIED or REVOKED with no reservation, PERCENT_DISCOUNT is RESERVED, CONSUMED, EXPIRED or REVOKED with its reservation time, each status with exactly its timestamps, a revocation with its reason (1-1000 characters).';

-- Name: promo_redemptions; Type: TABLE; Schema: promo; Owner: starpass_owner

CREATE TABLE promo.promo_redemptions (
    promo_redemption_id bigint DEFAULT nextval('ops.row_ids'::regclass) NOT NULL,
    promo_code_id bigint NOT NULL,
    slot_no smallint NOT NULL,
    user_id bigint NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    reserved_until timestamp with time zone,
    consumed_at timestamp with time zone,
    expired_at timestamp with time zone,
    revoked_at timestamp with time zone,
    revoked_reason text,
    CONSTRAINT promo_redemptions_kind_check CHECK ((kind = ((kind)::promo.campaign_kind)::text)),
    CONSTRAINT promo_redemptions_state CHECK (promo.is_redemption_state(kind, status, reserved_until, consumed_at, expired_at, revoked_at, revoked_reason)),
    CONSTRAINT promo_redemptions_status_check CHECK ((status = ((status)::promo.redemption_status)::text))
);

ALTER TABLE promo.promo_redemptions OWNER TO starpass_owner;

-- Name: TABLE promo_redemptions; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON TABLE promo.promo_redemptions IS 'One use of a campaign by a user: APPLIED (premium granted) or RESERVED -> CONSUMED | EXPIRED; APPLIED/CONSUMED -> REVOKED.';

-- Name: settle_purchase(billing.purchases, promo.promo_redemptions, text, timestamp with time zone); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.settle_purchase(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_charge_id text, p_now timestamp with time zone) RETURNS api.complete_purchase_result
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_result  api.complete_purchase_result;
    v_reward  referral.rewards;
BEGIN
    -- The caller holds the locks (slot, redemption, purchase) and decided PAID.
    UPDATE billing.purchases AS p
    SET status = 'PAID', paid_at = p_now, telegram_payment_charge_id = p_charge_id
    WHERE p.purchase_id = p_purchase.purchase_id;
    PERFORM billing.use_purchase_reservation(p_purchase, p_redemption, p_now);
    v_result.premium_until := billing.book_purchase(p_purchase);
    v_reward := referral.offer_first_purchase_reward(p_purchase, p_now);
    v_result.outcome := 'PAID';
    v_result.purchase_id := p_purchase.purchase_id;
    v_result.referral_reward_id := v_reward.referral_reward_id;
    v_result.referrer_user_id := v_reward.referrer_user_id;
    v_result.replayed := false;
    RETURN v_result;
END
$$;

ALTER FUNCTION billing.settle_purchase(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_charge_id text, p_now timestamp with time zone) OWNER TO starpass_owner;

-- Name: FUNCTION settle_purchase(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_charge_id text, p_now timestamp with time zone); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.settle_purchase(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_charge_id text, p_now timestamp with time zone) IS 'The PAID settlement of a locked purchase: PAID with the charge id, its reservation used, Stars and premium booked, a first-purchase referral reward offered; returns api.complete_purchase''s answer.';

-- Name: settlement_outcome(billing.purchases, bigint, text, bigint); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.settlement_outcome(p_purchase billing.purchases, p_user_id bigint, p_currency text, p_total_amount bigint) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN CASE
        WHEN p_purchase.purchase_id IS NULL THEN 'UNKNOWN_PURCHASE'
        WHEN p_purchase.status IN ('PAID', 'REFUNDED') THEN 'DUPLICATE'
        -- A cancelled purchase paid late whose discount another purchase has used meanwhile:
        -- the discount would be paid twice.
        WHEN EXISTS (SELECT FROM billing.purchases AS p
                     WHERE p.promo_redemption_id = p_purchase.promo_redemption_id
                       AND p.status IN ('PAID', 'REFUNDED') AND p.purchase_id <> p_purchase.purchase_id)
            THEN 'DUPLICATE'
        WHEN p_purchase.user_id <> p_user_id OR p_currency <> p_purchase.currency
             OR p_total_amount <> p_purchase.price_stars THEN 'MISMATCH'
        ELSE 'PAID'
    END;
END
$$;

ALTER FUNCTION billing.settlement_outcome(p_purchase billing.purchases, p_user_id bigint, p_currency text, p_total_amount bigint) OWNER TO starpass_owner;

-- Name: FUNCTION settlement_outcome(p_purchase billing.purchases, p_user_id bigint, p_currency text, p_total_amount bigint); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.settlement_outcome(p_purchase billing.purchases, p_user_id bigint, p_currency text, p_total_amount bigint) IS 'What a confirmed payment settles, decided from its locked purchase (NULL row: none): PAID, DUPLICATE, MISMATCH or UNKNOWN_PURCHASE. Changes nothing.';

-- Name: use_purchase_reservation(billing.purchases, promo.promo_redemptions, timestamp with time zone); Type: FUNCTION; Schema: billing; Owner: starpass_owner

CREATE FUNCTION billing.use_purchase_reservation(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_now timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- The user was promised this price: the reservation is consumed even if its hold ran out
    -- meanwhile, unless the expiry job already released the unit (then it stays EXPIRED and
    -- operators are told). The unit moves from held to used with the status (promo.book_capacity).
    IF p_redemption.status = 'RESERVED' THEN
        UPDATE promo.promo_redemptions AS r SET status = 'CONSUMED', consumed_at = p_now
        WHERE r.promo_redemption_id = p_redemption.promo_redemption_id;
    ELSIF p_redemption.promo_redemption_id IS NOT NULL THEN
        PERFORM ops.raise_alert('payments.reservation_lost', 'warning',
            format('purchase %s was paid at its discounted price after reservation %s became %s',
                   p_purchase.purchase_id, p_redemption.promo_redemption_id, p_redemption.status),
            jsonb_build_object('purchase_id', p_purchase.purchase_id,
                               'promo_redemption_id', p_redemption.promo_redemption_id,
                               'redemption_status', p_redemption.status),
            'payments.reservation_lost:' || p_purchase.purchase_id);
    END IF;
END
$$;

ALTER FUNCTION billing.use_purchase_reservation(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_now timestamp with time zone) OWNER TO starpass_owner;

-- Name: FUNCTION use_purchase_reservation(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_now timestamp with time zone); Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON FUNCTION billing.use_purchase_reservation(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_now timestamp with time zone) IS 'Consumes the locked discount reservation of a purchase being paid (RESERVED -> CONSUMED), or alerts payments.reservation_lost when it was released before; nothing without a reservation.';

-- Name: check_user_id(bigint); Type: FUNCTION; Schema: core; Owner: starpass_owner

CREATE FUNCTION core.check_user_id(p_user_id bigint) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF core.is_user_id(p_user_id) THEN
        RETURN;
    END IF;
    PERFORM ops.check_argument(false, 'p_user_id',
        format('user id %s is not a Telegram user id (1 to 2^53-1)', coalesce(p_user_id::text, 'NULL')),
        'Pass the numeric id of the Telegram user (from.id).');
END
$$;

ALTER FUNCTION core.check_user_id(p_user_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION check_user_id(p_user_id bigint); Type: COMMENT; Schema: core; Owner: starpass_owner

COMMENT ON FUNCTION core.check_user_id(p_user_id bigint) IS 'Raises SP422 "invalid argument p_user_id" unless the id is a positive Telegram user id.';

-- Name: ensure_user(bigint); Type: FUNCTION; Schema: core; Owner: starpass_owner

CREATE FUNCTION core.ensure_user(p_user_id bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    IF NOT core.is_user_id(p_user_id) THEN  -- a plain IF: a PERFORM costs a query
        PERFORM core.check_user_id(p_user_id);
    END IF;
    INSERT INTO core.users (user_id, created_at, updated_at, last_seen_at)
    VALUES (p_user_id, v_now, v_now, v_now)
    ON CONFLICT (user_id) DO NOTHING;
END
$$;

ALTER FUNCTION core.ensure_user(p_user_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION ensure_user(p_user_id bigint); Type: COMMENT; Schema: core; Owner: starpass_owner

COMMENT ON FUNCTION core.ensure_user(p_user_id bigint) IS 'Makes sure a user row exists (for callers that know only the id); never changes a profile.';

-- Name: is_user_id(bigint); Type: FUNCTION; Schema: core; Owner: starpass_owner

CREATE FUNCTION core.is_user_id(p_user_id bigint) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    -- Telegram ids fit in 52 bits; the bound also keeps user lock keys (the id itself) clear of
    -- the migration lock key. NULL is not an id.
    SELECT coalesce(p_user_id BETWEEN 1 AND 9007199254740991, false)
$$;

ALTER FUNCTION core.is_user_id(p_user_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION is_user_id(p_user_id bigint); Type: COMMENT; Schema: core; Owner: starpass_owner

COMMENT ON FUNCTION core.is_user_id(p_user_id bigint) IS 'Whether a value is a Telegram user id (1 to 2^53-1).';

-- Name: is_user_profile(text, text, text, text, timestamp with time zone); Type: FUNCTION; Schema: core; Owner: starpass_owner

CREATE FUNCTION core.is_user_profile(p_username text, p_first_name text, p_language_code text, p_terms_version text, p_terms_accepted_at timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $_$
BEGIN
    -- The body of a table CHECK (users_profile), compiled once per connection rather than
    -- parsed by every statement that writes core.users (promo.is_redemption_state says why).
    RETURN coalesce(p_username ~ '^[A-Za-z0-9_]{1,32}$', true)
       AND coalesce(char_length(p_first_name) BETWEEN 1 AND 64, true)
       AND coalesce(p_language_code ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$', true)
       AND coalesce(p_terms_version ~ '^[A-Za-z0-9._-]{1,16}$', true)
       AND (p_terms_version IS NULL) = (p_terms_accepted_at IS NULL);
END
$_$;

ALTER FUNCTION core.is_user_profile(p_username text, p_first_name text, p_language_code text, p_terms_version text, p_terms_accepted_at timestamp with time zone) OWNER TO starpass_owner;

-- Name: FUNCTION is_user_profile(p_username text, p_first_name text, p_language_code text, p_terms_version text, p_terms_accepted_at timestamp with time zone); Type: COMMENT; Schema: core; Owner: starpass_owner

COMMENT ON FUNCTION core.is_user_profile(p_username text, p_first_name text, p_language_code text, p_terms_version text, p_terms_accepted_at timestamp with time zone) IS 'A user''s profile as a table CHECK: username 1-32 of A-Za-z0-9_, first name 1-64 characters, a BCP 47 language tag, terms version 1-16 of A-Za-z0-9._- accepted together with its time; NULLs allowed.';

-- Name: alert_send_interval(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.alert_send_interval(p_provider text) RETURNS interval
    LANGUAGE sql STABLE
    AS $$ SELECT ops.setting_interval('ops.alert_' || p_provider || '_interval') $$;

ALTER FUNCTION ops.alert_send_interval(p_provider text) OWNER TO starpass_owner;

-- Name: FUNCTION alert_send_interval(p_provider text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.alert_send_interval(p_provider text) IS 'The least time between two sends to one target of the provider (settings ops.alert_<provider>_interval).';

-- Name: check_actor(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.check_actor(p_actor text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    -- Every change an operator or service makes is audited under this name.
    IF (char_length(p_actor) BETWEEN 1 AND 128) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_actor', 'the actor is 1 to 128 characters',
            'Name the operator or service responsible.');
    END IF;
END
$$;

ALTER FUNCTION ops.check_actor(p_actor text) OWNER TO starpass_owner;

-- Name: FUNCTION check_actor(p_actor text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.check_actor(p_actor text) IS 'Raises SP422 "invalid argument p_actor" unless the actor is 1 to 128 characters.';

-- Name: check_argument(boolean, text, text, text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.check_argument(p_ok boolean, p_argument text, p_detail text, p_hint text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    -- NULL counts as a failed check: a missing argument is an invalid argument.
    IF p_ok IS TRUE THEN
        RETURN;
    END IF;
    IF p_hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SP422', CONSTRAINT = 'invalid_argument', MESSAGE = format('invalid argument %s', p_argument),
            DETAIL = p_detail;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'SP422', CONSTRAINT = 'invalid_argument', MESSAGE = format('invalid argument %s', p_argument),
        DETAIL = p_detail, HINT = p_hint;
END
$$;

ALTER FUNCTION ops.check_argument(p_ok boolean, p_argument text, p_detail text, p_hint text) OWNER TO starpass_owner;

-- Name: FUNCTION check_argument(p_ok boolean, p_argument text, p_detail text, p_hint text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.check_argument(p_ok boolean, p_argument text, p_detail text, p_hint text) IS 'Raises SP422 "invalid argument <name>" (reason invalid_argument, in the CONSTRAINT field) with DETAIL and HINT unless p_ok is true.';

-- Name: check_idempotency_key(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.check_idempotency_key(p_key text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    -- The one refusal of a malformed key (SP422 invalid argument p_idempotency_key).
    PERFORM ops.check_argument(ops.is_idempotency_key(p_key), 'p_idempotency_key',
        'an idempotency key is 8 to 128 characters of A-Z a-z 0-9 . _ : -',
        'Send one random key per logical request (e.g. a UUID) and reuse it only to retry.');
END
$$;

ALTER FUNCTION ops.check_idempotency_key(p_key text) OWNER TO starpass_owner;

-- Name: FUNCTION check_idempotency_key(p_key text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.check_idempotency_key(p_key text) IS 'Raises SP422 "invalid argument p_idempotency_key" unless the key is an ops.idempotency_key.';

-- Name: check_timestamp(timestamp with time zone, text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.check_timestamp(p_value timestamp with time zone, p_argument text) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_range  tstzrange := ops.timestamp_range();
BEGIN
    -- NULL passes: whether an argument may be missing is the caller's own check.
    IF p_value IS NULL OR v_range @> p_value THEN
        RETURN;
    END IF;
    PERFORM ops.check_argument(false, p_argument,
        format('%s %s is outside the supported range %s to %s (UTC, end excluded)', p_argument, p_value,
               to_char(lower(v_range) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
               to_char(upper(v_range) AT TIME ZONE 'UTC', 'YYYY-MM-DD')),
        'Send a timestamp within that range; leave an optional one out rather than sending a far one.');
END
$$;

ALTER FUNCTION ops.check_timestamp(p_value timestamp with time zone, p_argument text) OWNER TO starpass_owner;

-- Name: FUNCTION check_timestamp(p_value timestamp with time zone, p_argument text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.check_timestamp(p_value timestamp with time zone, p_argument text) IS 'Raises SP422 "invalid argument <name>" unless the timestamp is NULL or within ops.timestamp_range().';

-- Name: check_value(text[], regtype, text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.check_value(p_values text[], p_domain regtype, p_argument text) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $_$
DECLARE
    v_allowed  text[];
    v_bad      text;
BEGIN
    -- The domain's own CHECK decides (a cast), so the allowed values are stated only there.
    -- NULL (the array or an element) counts as a failed check, as in ops.check_argument.
    IF p_values IS NOT NULL AND array_position(p_values, NULL) IS NULL THEN
        BEGIN
            EXECUTE format('SELECT $1::%s[]', p_domain) USING p_values;
            RETURN;
        EXCEPTION WHEN check_violation THEN
            NULL;  -- refused below, with the value and the allowed ones
        END;
    END IF;
    v_allowed := ops.domain_values(p_domain);
    SELECT v INTO v_bad FROM unnest(p_values) AS v WHERE v IS NULL OR v <> ALL (v_allowed) LIMIT 1;
    PERFORM ops.check_argument(false, p_argument,
        format('%s is not a %s', coalesce(quote_literal(v_bad), 'NULL'), p_domain),
        format('Use one of %s.', array_to_string(v_allowed, ', ')));
END
$_$;

ALTER FUNCTION ops.check_value(p_values text[], p_domain regtype, p_argument text) OWNER TO starpass_owner;

-- Name: FUNCTION check_value(p_values text[], p_domain regtype, p_argument text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.check_value(p_values text[], p_domain regtype, p_argument text) IS 'Raises SP422 "invalid argument <name>" unless every value is one the domain allows (NULL is refused); the HINT lists them.';

-- Name: check_value(text, regtype, text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.check_value(p_value text, p_domain regtype, p_argument text) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    PERFORM ops.check_value(ARRAY[p_value], p_domain, p_argument);
END
$$;

ALTER FUNCTION ops.check_value(p_value text, p_domain regtype, p_argument text) OWNER TO starpass_owner;

-- Name: FUNCTION check_value(p_value text, p_domain regtype, p_argument text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.check_value(p_value text, p_domain regtype, p_argument text) IS 'Raises SP422 "invalid argument <name>" unless the value is one the domain allows (NULL is refused); the HINT lists them.';

-- Name: delete_alerts(bigint[]); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.delete_alerts(p_alert_ids bigint[]) RETURNS integer
    LANGUAGE sql
    AS $$
    WITH deliveries AS (
        DELETE FROM ops.alert_deliveries AS d WHERE d.alert_id = ANY (p_alert_ids)
    ), deleted AS (
        DELETE FROM ops.alert_outbox AS o WHERE o.alert_id = ANY (p_alert_ids)
        RETURNING o.alert_id
    )
    SELECT count(*)::integer FROM deleted
$$;

ALTER FUNCTION ops.delete_alerts(p_alert_ids bigint[]) OWNER TO starpass_owner;

-- Name: FUNCTION delete_alerts(p_alert_ids bigint[]); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.delete_alerts(p_alert_ids bigint[]) IS 'Deletes these alerts with all their deliveries; how many alerts. For api.prune_history, which chose and locked them.';

-- Name: domain_values(regtype); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.domain_values(p_domain regtype) RETURNS text[]
    LANGUAGE sql STABLE
    AS $$
    -- The quoted literals of the domain's CHECK (VALUE IN (...)), in their stated order.
    SELECT array_agg(replace(m.v[1], '''''', '''') ORDER BY c.conname, m.n)
    FROM pg_catalog.pg_constraint AS c
    CROSS JOIN LATERAL regexp_matches(pg_catalog.pg_get_constraintdef(c.oid), '''((?:[^'']|'''')*)''', 'g')
        WITH ORDINALITY AS m(v, n)
    WHERE c.contypid = p_domain AND c.contype = 'c'
$$;

ALTER FUNCTION ops.domain_values(p_domain regtype) OWNER TO starpass_owner;

-- Name: FUNCTION domain_values(p_domain regtype); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.domain_values(p_domain regtype) IS 'The values a text domain allows, read from its CHECK (VALUE IN (...)) in the catalogue; for messages, not for checking.';

-- Name: find_idempotent(text, text, bytea, bytea); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.find_idempotent(p_scope text, p_key text, p_request_hash bytea, p_request_hash_alt bytea DEFAULT NULL::bytea) RETURNS ops.idempotent_prior
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_prior  ops.idempotent_prior;
    v_hash   bytea;
BEGIN
    -- On the redemption hot path: plain IFs (a PERFORM of a check that passes costs a query),
    -- one lock, one SELECT.
    IF ops.is_idempotency_key(p_key) IS NOT TRUE THEN
        PERFORM ops.check_idempotency_key(p_key);
    END IF;
    -- Taken first, before any row: requests with one key queue here, and each sees what the
    -- one before it committed (READ COMMITTED: a fresh snapshot for the SELECT below).
    PERFORM pg_catalog.pg_advisory_xact_lock(ops.lock_class('ops.idempotency_key'),
                                             pg_catalog.hashtext(p_scope || ':' || p_key));
    SELECT k.request_hash, k.result INTO v_hash, v_prior.result
    FROM ops.idempotency_keys AS k
    WHERE k.scope = p_scope AND k.idempotency_key = p_key;
    -- The alternative hash: the same request under a previous secret (a pepper rotation).
    v_prior.conflict := FOUND AND v_hash IS DISTINCT FROM p_request_hash
                        AND v_hash IS DISTINCT FROM p_request_hash_alt;
    IF v_prior.conflict THEN
        v_prior.result := NULL;
    END IF;
    RETURN v_prior;
END
$$;

ALTER FUNCTION ops.find_idempotent(p_scope text, p_key text, p_request_hash bytea, p_request_hash_alt bytea) OWNER TO starpass_owner;

-- Name: FUNCTION find_idempotent(p_scope text, p_key text, p_request_hash bytea, p_request_hash_alt bytea); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.find_idempotent(p_scope text, p_key text, p_request_hash bytea, p_request_hash_alt bytea) IS 'Locks an idempotency key of a scope (SP422 for a malformed key) and answers (false, NULL) for a new key, (false, stored result) when it was bound to this request hash (or the alternative), (true, NULL) when bound to another request.';

-- Name: guard_job_run_delete(); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.guard_job_run_delete() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_kept  bigint;
BEGIN
    SELECT g.job_run_id INTO v_kept FROM gone AS g
    WHERE g.finished_at >= ops.now() - ops.setting_interval('retention.job_runs')
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'SP409',
            CONSTRAINT = 'append_only',
            MESSAGE = 'ops.job_runs is append-only until retention',
            DETAIL  = format('job run %s finished within retention.job_runs', v_kept),
            HINT    = 'api.prune_history deletes job runs once retention allows.';
    END IF;
    RETURN NULL;
END
$$;

ALTER FUNCTION ops.guard_job_run_delete() OWNER TO starpass_owner;

-- Name: FUNCTION guard_job_run_delete(); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.guard_job_run_delete() IS 'Trigger (after each DELETE statement): refuses deleting a job run newer than retention.job_runs.';

-- Name: guard_test_clock(); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.guard_test_clock() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF current_setting('starpass.test_clock', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'test_clock_disabled',
            MESSAGE = 'the test clock is off in this database',
            DETAIL = 'ops.now() ignores ops.clock unless starpass.test_clock is on',
            HINT = 'Only test databases pin time: ALTER DATABASE <name> SET starpass.test_clock = on, then reconnect.';
    END IF;
    RETURN NEW;
END
$$;

ALTER FUNCTION ops.guard_test_clock() OWNER TO starpass_owner;

-- Name: FUNCTION guard_test_clock(); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.guard_test_clock() IS 'Trigger: refuses to pin or shift ops.clock where ops.now() would ignore it.';

-- Name: idempotent_answer(anyelement, ops.idempotent_prior); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.idempotent_answer(p_row anyelement, p_prior ops.idempotent_prior) RETURNS anyelement
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- p_row is a NULL of the function's result type (NULL::api.<fn>_result): the stored row is
    -- read back through that type's own column list, never one typed again.
    IF p_prior.conflict THEN
        RETURN jsonb_populate_record(p_row, '{"outcome": "IDEMPOTENCY_CONFLICT", "replayed": false}');
    ELSIF p_prior.result IS NOT NULL THEN
        RETURN jsonb_populate_record(p_row, p_prior.result || '{"replayed": true}');
    END IF;
    RETURN NULL;
END
$$;

ALTER FUNCTION ops.idempotent_answer(p_row anyelement, p_prior ops.idempotent_prior) OWNER TO starpass_owner;

-- Name: FUNCTION idempotent_answer(p_row anyelement, p_prior ops.idempotent_prior); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.idempotent_answer(p_row anyelement, p_prior ops.idempotent_prior) IS 'The answer ops.find_idempotent''s verdict calls for, as a row of the given result type: IDEMPOTENCY_CONFLICT (other columns NULL, replayed false), the stored row whole with replayed true, or NULL for a new key (decide and record it).';

-- Name: is_valid_setting_value(text, text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.is_valid_setting_value(p_value_type text, p_value text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
BEGIN
    CASE p_value_type
        WHEN 'integer'  THEN PERFORM p_value::integer;
        WHEN 'interval' THEN PERFORM p_value::interval;
        WHEN 'boolean'  THEN PERFORM p_value::boolean;
        WHEN 'text'     THEN NULL;
        WHEN 'timestamptz' THEN
            IF p_value IN ('-infinity', 'infinity') THEN
                RETURN true;
            END IF;
            IF p_value !~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)? ?(Z|[+-]\d{2}(:?\d{2})?)$' THEN
                RETURN false;
            END IF;
            RETURN ops.timestamp_range() @> p_value::timestamptz;
        ELSE RETURN false;
    END CASE;
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$_$;

ALTER FUNCTION ops.is_valid_setting_value(p_value_type text, p_value text) OWNER TO starpass_owner;

-- Name: FUNCTION is_valid_setting_value(p_value_type text, p_value text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.is_valid_setting_value(p_value_type text, p_value text) IS 'Whether a setting value parses as its declared type (used by CHECK constraints); a timestamptz is ISO 8601 with an offset, or -infinity/infinity.';

-- Name: alert_deliveries; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.alert_deliveries (
    delivery_id bigint NOT NULL,
    alert_id bigint,
    target text NOT NULL,
    kind text DEFAULT 'alert'::text NOT NULL,
    action text DEFAULT 'trigger'::text NOT NULL,
    dedup_key text,
    state text DEFAULT 'pending'::text NOT NULL,
    hold_reason text,
    summary_id bigint,
    fallback_for bigint,
    fallback_target text,
    attempts integer DEFAULT 0 NOT NULL,
    failures integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    claimed_until timestamp with time zone,
    last_error text,
    delivered_at timestamp with time zone,
    dead_at timestamp with time zone,
    CONSTRAINT alert_deliveries_action_check CHECK ((action = ((action)::ops.alert_action)::text)),
    CONSTRAINT alert_deliveries_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT alert_deliveries_dedup_key_check CHECK (((char_length(dedup_key) >= 1) AND (char_length(dedup_key) <= 200))),
    CONSTRAINT alert_deliveries_failures_check CHECK ((failures >= 0)),
    CONSTRAINT alert_deliveries_hold_reason_check CHECK ((hold_reason = ANY (ARRAY['flood'::text, 'maintenance'::text]))),
    CONSTRAINT alert_deliveries_kind_check CHECK ((kind = ANY (ARRAY['alert'::text, 'summary'::text]))),
    CONSTRAINT alert_deliveries_kind_fields CHECK (
CASE kind
    WHEN 'alert'::text THEN ((alert_id IS NOT NULL) AND (dedup_key IS NOT NULL))
    WHEN 'summary'::text THEN ((alert_id IS NULL) AND (dedup_key IS NULL) AND (summary_id IS NULL) AND (action = 'trigger'::text) AND (fallback_for IS NULL))
    ELSE NULL::boolean
END),
    CONSTRAINT alert_deliveries_last_error_check CHECK ((char_length(last_error) <= 2000)),
    CONSTRAINT alert_deliveries_state_check CHECK ((state = ((state)::ops.alert_state)::text)),
    CONSTRAINT alert_deliveries_state_fields CHECK (
CASE state
    WHEN 'pending'::text THEN ((delivered_at IS NULL) AND (dead_at IS NULL))
    WHEN 'delivered'::text THEN ((delivered_at IS NOT NULL) AND (dead_at IS NULL) AND (claimed_until IS NULL))
    WHEN 'dead'::text THEN ((dead_at IS NOT NULL) AND (delivered_at IS NULL) AND (claimed_until IS NULL))
    ELSE NULL::boolean
END)
);

ALTER TABLE ops.alert_deliveries OWNER TO starpass_owner;

-- Name: TABLE alert_deliveries; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.alert_deliveries IS 'One alert towards one target (or a summary of several towards one target): lease, attempts, backoff, dead letter.';

-- Name: lock_alert_delivery(bigint); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.lock_alert_delivery(p_delivery_id bigint) RETURNS ops.alert_deliveries
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_delivery  ops.alert_deliveries;
BEGIN
    -- For the answer to a send: the alerts it carries (one, or a summary's), by id, then the
    -- delivery itself: the lock order of every function that settles alerts, so two answers
    -- for deliveries of one alert settle it once and never deadlock.
    PERFORM FROM ops.alert_deliveries AS d WHERE d.delivery_id = p_delivery_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'delivery_not_found', MESSAGE = 'alert delivery not found',
            DETAIL = format('no alert delivery %s', p_delivery_id);
    END IF;
    PERFORM FROM ops.alert_outbox AS a
    WHERE a.alert_id IN (SELECT m.alert_id FROM ops.alert_deliveries AS m
                         WHERE m.delivery_id = p_delivery_id OR m.summary_id = p_delivery_id)
    ORDER BY a.alert_id
    FOR UPDATE;
    SELECT * INTO v_delivery FROM ops.alert_deliveries AS d WHERE d.delivery_id = p_delivery_id FOR UPDATE;
    RETURN v_delivery;
END
$$;

ALTER FUNCTION ops.lock_alert_delivery(p_delivery_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION lock_alert_delivery(p_delivery_id bigint); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.lock_alert_delivery(p_delivery_id bigint) IS 'Locks the alerts a delivery carries (by id), then the delivery, and returns it; SP404 delivery_not_found.';

-- Name: lock_class(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.lock_class(p_name text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    -- The advisory lock classes, in the one lock order (docs/architecture.md, "Lock order").
    -- The key is derived from the namespaced name, so no magic number stands in a function; an
    -- inlined call with a constant name folds to that number when the statement is planned.
    SELECT CASE p_name
        WHEN 'ops.idempotency_key'    THEN pg_catalog.hashtext('starpass:ops.idempotency_key')
        WHEN 'referral.registration'  THEN pg_catalog.hashtext('starpass:referral.registration')
        ELSE ops.unknown_lock_class(p_name)
    END
$$;

ALTER FUNCTION ops.lock_class(p_name text) OWNER TO starpass_owner;

-- Name: FUNCTION lock_class(p_name text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.lock_class(p_name text) IS 'The first key of the two-key advisory locks of a named class (ops.idempotency_key, referral.registration); users are locked in the one-bigint key space by id (promo.lock_user).';

-- Name: notify_alert(); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.notify_alert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('ops_alerts', NEW.alert_id::text);
    RETURN NULL;
END
$$;

ALTER FUNCTION ops.notify_alert() OWNER TO starpass_owner;

-- Name: FUNCTION notify_alert(); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.notify_alert() IS 'Trigger: wakes dispatchers listening on channel ops_alerts (sent at commit).';

-- Name: now(); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.now() RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
    -- A single expression, so the planner inlines it into every caller (no function call on
    -- the redemption path, which asks several times). Production databases never read
    -- ops.clock; test databases (starpass.test_clock = on) do.
    SELECT CASE WHEN pg_catalog.current_setting('starpass.test_clock', true) IS DISTINCT FROM 'on'
                THEN pg_catalog.now()
                ELSE ops.test_clock_now() END
$$;

ALTER FUNCTION ops.now() OWNER TO starpass_owner;

-- Name: FUNCTION now(); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.now() IS 'The time every business rule uses: transaction start, unless the database enables the test clock (starpass.test_clock = on) and a test pinned or shifted ops.clock.';

-- Name: raise_alert(text, text, text, jsonb, text, text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.raise_alert(p_event text, p_severity text, p_summary text, p_details jsonb, p_dedup_key text, p_resolves text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_now       timestamptz := ops.now();
    v_alert_id  bigint;
BEGIN
    -- In the caller's transaction: the alert exists exactly when the change that caused it
    -- committed. The same dedup key within the window, or while one is pending, is not raised
    -- again (the partial unique index settles concurrent raises). With p_resolves the alert is a
    -- resolve of the trigger raised with that dedup key (ops.resolve_alert).
    IF EXISTS (SELECT FROM ops.alert_outbox AS a
               WHERE a.dedup_key = p_dedup_key
                 AND (a.state = 'pending' OR a.created_at > v_now - ops.setting_interval('ops.alert_dedup_window'))) THEN
        RETURN NULL;
    END IF;
    INSERT INTO ops.alert_outbox (event, severity, summary, details, dedup_key, created_at, next_attempt_at,
                                  action, resolves)
    VALUES (p_event, p_severity, left(p_summary, 500), coalesce(p_details, '{}'::jsonb), p_dedup_key, v_now, v_now,
            CASE WHEN p_resolves IS NULL THEN 'trigger' ELSE 'resolve' END, p_resolves)
    ON CONFLICT (dedup_key) WHERE state = 'pending' DO NOTHING
    RETURNING alert_id INTO v_alert_id;
    RETURN v_alert_id;
END
$$;

ALTER FUNCTION ops.raise_alert(p_event text, p_severity text, p_summary text, p_details jsonb, p_dedup_key text, p_resolves text) OWNER TO starpass_owner;

-- Name: FUNCTION raise_alert(p_event text, p_severity text, p_summary text, p_details jsonb, p_dedup_key text, p_resolves text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.raise_alert(p_event text, p_severity text, p_summary text, p_details jsonb, p_dedup_key text, p_resolves text) IS 'Raises an operational alert in the caller''s transaction (a resolve of the trigger with dedup key p_resolves when given); returns its id, or NULL when the same dedup key is pending or was raised within ops.alert_dedup_window.';

-- Name: record_job_run(text, text, timestamp with time zone, integer, text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.record_job_run(p_job_name text, p_actor text, p_started_at timestamp with time zone, p_result integer, p_error text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_status      text := CASE WHEN p_error IS NULL THEN 'succeeded' ELSE 'failed' END;
    v_job_run_id  bigint;
BEGIN
    PERFORM ops.check_actor(p_actor);
    -- Wall-clock times, as pg_cron records its own runs: `starpass jobs status` shows both.
    INSERT INTO ops.job_runs (job_name, actor, started_at, finished_at, status, result, error)
    VALUES (p_job_name, p_actor, p_started_at, clock_timestamp(), v_status,
            CASE WHEN p_error IS NULL THEN p_result END, left(p_error, 1000))
    RETURNING job_run_id INTO v_job_run_id;
    PERFORM ops.write_audit(p_actor, 'ops.job_run', 'job', p_job_name, NULL,
        jsonb_strip_nulls(jsonb_build_object('status', v_status, 'result', p_result, 'job_run_id', v_job_run_id)));
    RETURN v_job_run_id;
END
$$;

ALTER FUNCTION ops.record_job_run(p_job_name text, p_actor text, p_started_at timestamp with time zone, p_result integer, p_error text) OWNER TO starpass_owner;

-- Name: FUNCTION record_job_run(p_job_name text, p_actor text, p_started_at timestamp with time zone, p_result integer, p_error text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.record_job_run(p_job_name text, p_actor text, p_started_at timestamp with time zone, p_result integer, p_error text) IS 'Records a job run by hand (`starpass jobs run`) in ops.job_runs and the audit log, as the operator; failed when p_error is given. Returns its id.';

-- Name: refuse_mutation(); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.refuse_mutation() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'SP409',
        CONSTRAINT = 'append_only',
        MESSAGE = format('%s.%s is append-only', TG_TABLE_SCHEMA, TG_TABLE_NAME),
        DETAIL  = format('%s refused', TG_OP),
        HINT    = 'Correct a row by appending a compensating row.';
END
$$;

ALTER FUNCTION ops.refuse_mutation() OWNER TO starpass_owner;

-- Name: FUNCTION refuse_mutation(); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.refuse_mutation() IS 'Trigger: keeps a table append-only.';

-- Name: release_alert_target(text, bigint, integer, timestamp with time zone); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.release_alert_target(p_target text, p_delivery_id bigint, p_attempt integer, p_wait_until timestamp with time zone) RETURNS double precision
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_now   timestamptz := ops.now();
    v_next  timestamptz;
BEGIN
    -- The send of this attempt is over: the target may send again after its provider's interval
    -- (or p_wait_until, a Retry-After, if later). Only the attempt that holds the slot frees it: a
    -- dispatcher that answers after its lease ran out, while another attempt holds the slot,
    -- leaves that one alone (but a Retry-After still pushes the next send back). Returns the
    -- seconds until the next send, so the dispatcher knows when to claim again.
    UPDATE ops.alert_targets AS t
    SET next_send_at = CASE
            WHEN t.busy_with = p_delivery_id AND t.busy_attempt = p_attempt
                THEN greatest(v_now + ops.alert_send_interval(t.provider), coalesce(p_wait_until, '-infinity'))
            ELSE greatest(t.next_send_at, coalesce(p_wait_until, '-infinity')) END,
        busy_with = CASE WHEN t.busy_with = p_delivery_id AND t.busy_attempt = p_attempt THEN NULL ELSE t.busy_with END,
        busy_attempt = CASE WHEN t.busy_with = p_delivery_id AND t.busy_attempt = p_attempt THEN NULL ELSE t.busy_attempt END
    WHERE t.target = p_target
    RETURNING t.next_send_at INTO v_next;
    RETURN greatest(extract(epoch FROM v_next - v_now), 0)::double precision;
END
$$;

ALTER FUNCTION ops.release_alert_target(p_target text, p_delivery_id bigint, p_attempt integer, p_wait_until timestamp with time zone) OWNER TO starpass_owner;

-- Name: FUNCTION release_alert_target(p_target text, p_delivery_id bigint, p_attempt integer, p_wait_until timestamp with time zone); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.release_alert_target(p_target text, p_delivery_id bigint, p_attempt integer, p_wait_until timestamp with time zone) IS 'Frees a target''s send slot held by this delivery attempt (next send after the provider''s interval, or p_wait_until); returns the seconds until its next send.';

-- Name: request_hash(jsonb); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.request_hash(p_arguments jsonb) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    -- jsonb's text form is canonical (one spelling per value, strings quoted and escaped), so an
    -- array of the arguments hashes the same exactly when the arguments are equal.
    SELECT pg_catalog.sha256(pg_catalog.convert_to(p_arguments::text, 'UTF8'))
$$;

ALTER FUNCTION ops.request_hash(p_arguments jsonb) OWNER TO starpass_owner;

-- Name: FUNCTION request_hash(p_arguments jsonb); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.request_hash(p_arguments jsonb) IS 'The request hash an idempotency key binds: sha256 of the binding arguments as a jsonb array (ops.find_idempotent, ops.save_idempotent).';

-- Name: require_read_committed(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.require_read_committed(p_function text) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- Idempotency and per-user checks read what the previous holder of a lock committed: that
    -- needs a fresh snapshot per statement.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'read_committed_required', MESSAGE = format('%s needs READ COMMITTED', p_function),
            DETAIL = format('called at isolation level %s', current_setting('transaction_isolation')),
            HINT = 'Call it in its own READ COMMITTED transaction (the default).';
    END IF;
END
$$;

ALTER FUNCTION ops.require_read_committed(p_function text) OWNER TO starpass_owner;

-- Name: FUNCTION require_read_committed(p_function text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.require_read_committed(p_function text) IS 'Raises SP409 "<function> needs READ COMMITTED" at any other isolation level.';

-- Name: resolve_alert(text, jsonb, text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.resolve_alert(p_event text, p_subject jsonb, p_summary text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_trigger  ops.alert_outbox;
BEGIN
    -- The condition behind the newest trigger of this event for this subject (its details
    -- contain p_subject, e.g. {"promo_code_id": 7}) has cleared: raise its resolve, once. The
    -- resolve carries the trigger's dedup key, which the providers use to close the incident
    -- (PagerDuty: event_action resolve with the same dedup_key and routing key).
    SELECT * INTO v_trigger FROM ops.alert_outbox AS a
    WHERE a.event = p_event AND a.action = 'trigger' AND a.details @> p_subject
    ORDER BY a.alert_id DESC
    LIMIT 1;
    IF NOT FOUND OR EXISTS (SELECT FROM ops.alert_outbox AS r
                            WHERE r.action = 'resolve' AND r.resolves = v_trigger.dedup_key
                              AND r.alert_id > v_trigger.alert_id) THEN
        RETURN NULL;  -- nothing open
    END IF;
    RETURN ops.raise_alert(p_event, v_trigger.severity, p_summary, p_subject || jsonb_build_object('resolves_alert_id', v_trigger.alert_id),
                           'resolve:' || v_trigger.alert_id, v_trigger.dedup_key);
END
$$;

ALTER FUNCTION ops.resolve_alert(p_event text, p_subject jsonb, p_summary text) OWNER TO starpass_owner;

-- Name: FUNCTION resolve_alert(p_event text, p_subject jsonb, p_summary text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.resolve_alert(p_event text, p_subject jsonb, p_summary text) IS 'Raises the resolve of the newest unresolved trigger of p_event whose details contain p_subject (in the caller''s transaction); NULL when none is open.';

-- Name: save_idempotent(text, text, bytea, jsonb); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.save_idempotent(p_scope text, p_key text, p_request_hash bytea, p_result jsonb) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- Under the lock ops.find_idempotent took: no concurrent binding of this key can exist, so a
    -- unique violation here is a caller's bug (no find first), and it should fail loudly.
    INSERT INTO ops.idempotency_keys (scope, idempotency_key, request_hash, result, created_at)
    VALUES (p_scope, p_key, p_request_hash, p_result, ops.now());
END
$$;

ALTER FUNCTION ops.save_idempotent(p_scope text, p_key text, p_request_hash bytea, p_result jsonb) OWNER TO starpass_owner;

-- Name: FUNCTION save_idempotent(p_scope text, p_key text, p_request_hash bytea, p_result jsonb); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.save_idempotent(p_scope text, p_key text, p_request_hash bytea, p_result jsonb) IS 'Binds an idempotency key of a scope to its request hash and result row (call after ops.find_idempotent answered a new key, in the same transaction).';

-- Name: setting_boolean(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.setting_boolean(p_key text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT ops.setting_value(p_key, 'boolean')::boolean $$;

ALTER FUNCTION ops.setting_boolean(p_key text) OWNER TO starpass_owner;

-- Name: FUNCTION setting_boolean(p_key text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.setting_boolean(p_key text) IS 'A boolean setting.';

-- Name: setting_integer(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.setting_integer(p_key text) RETURNS integer
    LANGUAGE sql STABLE
    AS $$ SELECT ops.setting_value(p_key, 'integer')::integer $$;

ALTER FUNCTION ops.setting_integer(p_key text) OWNER TO starpass_owner;

-- Name: FUNCTION setting_integer(p_key text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.setting_integer(p_key text) IS 'An integer setting.';

-- Name: setting_interval(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.setting_interval(p_key text) RETURNS interval
    LANGUAGE sql STABLE
    AS $$ SELECT ops.setting_value(p_key, 'interval')::interval $$;

ALTER FUNCTION ops.setting_interval(p_key text) OWNER TO starpass_owner;

-- Name: FUNCTION setting_interval(p_key text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.setting_interval(p_key text) IS 'An interval setting.';

-- Name: setting_timestamptz(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.setting_timestamptz(p_key text) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$ SELECT ops.setting_value(p_key, 'timestamptz')::timestamptz $$;

ALTER FUNCTION ops.setting_timestamptz(p_key text) OWNER TO starpass_owner;

-- Name: FUNCTION setting_timestamptz(p_key text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.setting_timestamptz(p_key text) IS 'A timestamptz setting (ISO 8601 with an offset, or -infinity/infinity).';

-- Name: setting_value(text, text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.setting_value(p_key text, p_value_type text) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_setting ops.settings;
BEGIN
    SELECT * INTO v_setting FROM ops.settings WHERE key = p_key;
    IF NOT FOUND OR v_setting.value_type <> p_value_type THEN
        RAISE EXCEPTION USING
            ERRCODE = 'SP500',
            CONSTRAINT = 'setting_misconfigured',
            MESSAGE = format('setting %s is not configured as %s', p_key, p_value_type),
            DETAIL  = format('found type %s', coalesce(v_setting.value_type, 'none')),
            HINT    = 'Run `starpass db migrate`; settings are seeded by migrations.';
    END IF;
    RETURN v_setting.value;
END
$$;

ALTER FUNCTION ops.setting_value(p_key text, p_value_type text) OWNER TO starpass_owner;

-- Name: FUNCTION setting_value(p_key text, p_value_type text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.setting_value(p_key text, p_value_type text) IS 'A setting''s value as text, checked against the type the caller expects (SP500 otherwise).';

-- Name: settle_alert(bigint); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.settle_alert(p_alert_id bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_now    timestamptz := ops.now();
    v_state  text;
BEGIN
    -- The caller holds the alert's row lock (taken before its deliveries'), so two dispatchers
    -- finishing the last two deliveries of one alert settle it once. A routed alert is settled
    -- when none of its deliveries is pending: delivered when each target it was routed to
    -- delivered it, directly or through the fallback that target fell back to; dead otherwise.
    IF EXISTS (SELECT FROM ops.alert_deliveries AS d WHERE d.alert_id = p_alert_id AND d.state = 'pending') THEN
        RETURN 'pending';
    END IF;
    v_state := CASE WHEN EXISTS (
                   SELECT FROM ops.alert_deliveries AS d
                   WHERE d.alert_id = p_alert_id AND d.fallback_for IS NULL AND d.state = 'dead'
                     AND NOT EXISTS (SELECT FROM ops.alert_deliveries AS f
                                     WHERE f.alert_id = p_alert_id AND f.target = d.fallback_target
                                       AND f.state = 'delivered'))
               THEN 'dead' ELSE 'delivered' END;
    UPDATE ops.alert_outbox AS a
    SET state = v_state, claimed_until = NULL,
        delivered_at = CASE WHEN v_state = 'delivered' THEN v_now END,
        dead_at = CASE WHEN v_state = 'dead' THEN v_now END
    WHERE a.alert_id = p_alert_id AND a.state = 'pending' AND a.routed_at IS NOT NULL;
    RETURN v_state;
END
$$;

ALTER FUNCTION ops.settle_alert(p_alert_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION settle_alert(p_alert_id bigint); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.settle_alert(p_alert_id bigint) IS 'Sets a routed alert delivered or dead once none of its deliveries is pending (the caller holds its row lock); returns its state.';

-- Name: test_clock_now(); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.test_clock_now() RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN coalesce((SELECT coalesce(c.frozen_at, pg_catalog.now()) + c.shift FROM ops.clock AS c),
                    pg_catalog.now());
END
$$;

ALTER FUNCTION ops.test_clock_now() OWNER TO starpass_owner;

-- Name: FUNCTION test_clock_now(); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.test_clock_now() IS 'The test clock: coalesce(ops.clock.frozen_at, now()) + ops.clock.shift (ops.now() where starpass.test_clock is on).';

-- Name: timestamp_range(); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.timestamp_range() RETURNS tstzrange
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN tstzrange('2000-01-01 00:00:00+00'::timestamp with time zone, '9000-01-01 00:00:00+00'::timestamp with time zone, '[)'::text);

ALTER FUNCTION ops.timestamp_range() OWNER TO starpass_owner;

-- Name: FUNCTION timestamp_range(); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.timestamp_range() IS 'The supported range of caller-supplied timestamps: [2000-01-01, 9000-01-01) UTC (used by CHECK constraints and ops.check_timestamp).';

-- Name: unknown_lock_class(text); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.unknown_lock_class(p_name text) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'SP500', CONSTRAINT = 'unknown_lock_class',
        MESSAGE = format('unknown lock class %L', p_name),
        DETAIL = 'advisory lock classes are listed in ops.lock_class and docs/architecture.md',
        HINT = 'Add the class to ops.lock_class, with its place in the lock order.';
END
$$;

ALTER FUNCTION ops.unknown_lock_class(p_name text) OWNER TO starpass_owner;

-- Name: FUNCTION unknown_lock_class(p_name text); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.unknown_lock_class(p_name text) IS 'Raises SP500 for a lock class ops.lock_class does not list (at plan time, for a constant name).';

-- Name: write_audit(text, text, text, text, text, jsonb); Type: FUNCTION; Schema: ops; Owner: starpass_owner

CREATE FUNCTION ops.write_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_reason text DEFAULT NULL::text, p_details jsonb DEFAULT '{}'::jsonb) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_audit_id bigint;
BEGIN
    PERFORM ops.check_actor(p_actor);
    -- session_user, not current_user: inside SECURITY DEFINER current_user is the owner.
    INSERT INTO ops.audit_log (occurred_at, actor, db_role, action, target_type, target_id, reason,
                               details)
    VALUES (ops.now(), p_actor, session_user, p_action, p_target_type, p_target_id, p_reason,
            coalesce(p_details, '{}'::jsonb))
    RETURNING audit_id INTO v_audit_id;
    RETURN v_audit_id;
END
$$;

ALTER FUNCTION ops.write_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_reason text, p_details jsonb) OWNER TO starpass_owner;

-- Name: FUNCTION write_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_reason text, p_details jsonb); Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON FUNCTION ops.write_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_reason text, p_details jsonb) IS 'Appends one audit row in the caller''s transaction, with the session''s login role; returns its id.';

-- Name: attempts_prunable_before(); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.attempts_prunable_before() RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    -- Past every window that counts attempts (throttle, its block, the guard), and then the
    -- retention period: a pruned attempt can change no count, no block, no pause.
    SELECT ops.now()
           - greatest(ops.setting_interval('promo.throttle_window'),
                      ops.setting_interval('promo.throttle_block'),
                      ops.setting_interval('promo.guard_window'))
           - ops.setting_interval('retention.promo_attempts')
$$;

ALTER FUNCTION promo.attempts_prunable_before() OWNER TO starpass_owner;

-- Name: FUNCTION attempts_prunable_before(); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.attempts_prunable_before() IS 'The time before which a promo attempt may be pruned: now minus the longest counting window (throttle, throttle block, guard) minus retention.promo_attempts.';

-- Name: batch_alphabet(); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.batch_alphabet() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '23456789ABCDEFGHJKMNPQRSTUVWXYZ'::text $$;

ALTER FUNCTION promo.batch_alphabet() OWNER TO starpass_owner;

-- Name: FUNCTION batch_alphabet(); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.batch_alphabet() IS 'The 31 characters of generated batch codes (no 0, 1, I, L, O), in the order that gives each its value 0 to 30 for the check character (app/codes.py holds the same).';

-- Name: batch_values(); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.batch_values() RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT '\x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005d5e5f60616263640000000000000065666768696a6b6c006d6e006f70007172737475767778797a7b000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'::bytea
$$;

ALTER FUNCTION promo.batch_values() OWNER TO starpass_owner;

-- Name: FUNCTION batch_values(); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.batch_values() IS 'Byte b''s value in the batch alphabet: 93 + its place in promo.batch_alphabet() (0 to 30), 0 for any other byte; 256 bytes, read with get_byte(promo.batch_values(), b).';

-- Name: book_capacity(); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.book_capacity() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF promo.units_used(NEW.status) <> 0 OR promo.units_held(NEW.status) <> 0 THEN
        UPDATE promo.capacity_slots AS s
        SET used = s.used + promo.units_used(NEW.status), held = s.held + promo.units_held(NEW.status)
        WHERE s.promo_code_id = NEW.promo_code_id AND s.slot_no = NEW.slot_no;
    END IF;
    RETURN NULL;
END
$$;

ALTER FUNCTION promo.book_capacity() OWNER TO starpass_owner;

-- Name: FUNCTION book_capacity(); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.book_capacity() IS 'Trigger: an inserted redemption uses or holds a unit of its slot.';

-- Name: book_capacity_changes(); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.book_capacity_changes() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    UPDATE promo.capacity_slots AS s SET used = s.used + d.used, held = s.held + d.held
    FROM (SELECT n.promo_code_id, n.slot_no,
                 sum(promo.units_used(n.status) - promo.units_used(o.status)) AS used,
                 sum(promo.units_held(n.status) - promo.units_held(o.status)) AS held
          FROM new_redemptions AS n
          JOIN old_redemptions AS o USING (promo_redemption_id)
          WHERE n.status <> o.status
          GROUP BY n.promo_code_id, n.slot_no) AS d
    WHERE s.promo_code_id = d.promo_code_id AND s.slot_no = d.slot_no
      AND (d.used <> 0 OR d.held <> 0);
    RETURN NULL;
END
$$;

ALTER FUNCTION promo.book_capacity_changes() OWNER TO starpass_owner;

-- Name: FUNCTION book_capacity_changes(); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.book_capacity_changes() IS 'Trigger: the status changes of one statement move their slots'' used/held counters, one UPDATE per slot.';

-- Name: book_redemption(api.redeem_result, bigint, smallint, timestamp with time zone); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.book_redemption(p_result api.redeem_result, p_user_id bigint, p_slot_no smallint, p_now timestamp with time zone) RETURNS api.redeem_result
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_result  api.redeem_result := p_result;
BEGIN
    -- The caller holds the slot's row lock (promo.take_capacity); promo.book_capacity moves its
    -- counters with this insert.
    IF p_result.kind = 'PREMIUM_GRANT' THEN
        INSERT INTO promo.promo_redemptions (promo_code_id, slot_no, user_id, kind, status, created_at)
        VALUES (p_result.promo_code_id, p_slot_no, p_user_id, p_result.kind, 'APPLIED', p_now)
        RETURNING promo_redemption_id INTO v_result.promo_redemption_id;
        v_result.premium_until := (billing.post_ledger_entry(p_user_id, 'PROMO_PREMIUM',
            v_result.promo_redemption_id, p_premium_days => p_result.grant_days,
            p_actor => 'promo')).premium_until_after;
        v_result.outcome := 'APPLIED';
    ELSE
        v_result.reserved_until := p_now + ops.setting_interval('promo.reservation_ttl');
        INSERT INTO promo.promo_redemptions (promo_code_id, slot_no, user_id, kind, status,
                                             created_at, reserved_until)
        VALUES (p_result.promo_code_id, p_slot_no, p_user_id, p_result.kind, 'RESERVED', p_now,
                v_result.reserved_until)
        RETURNING promo_redemption_id INTO v_result.promo_redemption_id;
        v_result.outcome := 'RESERVED';
    END IF;
    RETURN v_result;
END
$$;

ALTER FUNCTION promo.book_redemption(p_result api.redeem_result, p_user_id bigint, p_slot_no smallint, p_now timestamp with time zone) OWNER TO starpass_owner;

-- Name: FUNCTION book_redemption(p_result api.redeem_result, p_user_id bigint, p_slot_no smallint, p_now timestamp with time zone); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.book_redemption(p_result api.redeem_result, p_user_id bigint, p_slot_no smallint, p_now timestamp with time zone) IS 'Books the unit a redemption decided to take: PREMIUM_GRANT -> APPLIED with its premium days in the ledger, PERCENT_DISCOUNT -> RESERVED until now + promo.reservation_ttl. Returns the result with the redemption id and its times.';

-- Name: campaign_by_prefix(text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.campaign_by_prefix(p_code text) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
    -- The campaign whose public prefix the (normalized) input starts with: the longest prefix,
    -- an ACTIVE campaign before others, then the newest. Prefixes are 2 to 16 characters, so
    -- the candidates are the input's first 16..2 characters, longest first, each one backward
    -- probe of promo_codes_prefix_idx (prefix, ACTIVE, id): a batch's million campaigns under
    -- one prefix cost one probe, not a million rows sorted (migration 0025).
    RETURN (SELECT x.promo_code_id
            FROM generate_series(least(16, char_length(p_code)), 2, -1) AS n
            CROSS JOIN LATERAL (SELECT c.promo_code_id FROM promo.promo_codes AS c
                                WHERE c.prefix = left(p_code, n)
                                ORDER BY c.status = 'ACTIVE' DESC, c.promo_code_id DESC
                                LIMIT 1) AS x
            LIMIT 1);
END
$$;

ALTER FUNCTION promo.campaign_by_prefix(p_code text) OWNER TO starpass_owner;

-- Name: FUNCTION campaign_by_prefix(p_code text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.campaign_by_prefix(p_code text) IS 'The campaign a normalized guess is attributed to by its public prefix (for the brute-force guard), or NULL.';

-- Name: promo_codes; Type: TABLE; Schema: promo; Owner: starpass_owner

CREATE TABLE promo.promo_codes (
    promo_code_id bigint NOT NULL,
    campaign text NOT NULL,
    code_hash bytea NOT NULL,
    pepper_id bytea NOT NULL,
    kind text NOT NULL,
    grant_days integer,
    discount_percent integer,
    max_uses integer,
    per_user_limit integer DEFAULT 1 NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone,
    prefix text,
    status text DEFAULT 'ACTIVE'::text NOT NULL,
    paused_at timestamp with time zone,
    paused_reason text,
    expired_at timestamp with time zone,
    depleted_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    created_by text NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    guard_counting_since timestamp with time zone,
    internal boolean DEFAULT false NOT NULL,
    CONSTRAINT promo_codes_active_fields CHECK (((status <> 'ACTIVE'::text) OR ((paused_at IS NULL) AND (paused_reason IS NULL) AND (expired_at IS NULL) AND (depleted_at IS NULL)))),
    CONSTRAINT promo_codes_campaign_check CHECK (((char_length(btrim(campaign)) >= 1) AND (char_length(btrim(campaign)) <= 100))),
    CONSTRAINT promo_codes_code_hash_check CHECK ((octet_length(code_hash) = 32)),
    CONSTRAINT promo_codes_created_by_check CHECK (((char_length(created_by) >= 1) AND (char_length(created_by) <= 128))),
    CONSTRAINT promo_codes_depleted_fields CHECK (((status <> 'DEPLETED'::text) OR ((depleted_at IS NOT NULL) AND (max_uses IS NOT NULL)))),
    CONSTRAINT promo_codes_ends_at_range CHECK (((ends_at IS NULL) OR (ops.timestamp_range() @> ends_at))),
    CONSTRAINT promo_codes_expired_fields CHECK (((status <> 'EXPIRED'::text) OR (expired_at IS NOT NULL))),
    CONSTRAINT promo_codes_kind_check CHECK ((kind = ((kind)::promo.campaign_kind)::text)),
    CONSTRAINT promo_codes_kind_fields CHECK ((((kind = 'PREMIUM_GRANT'::text) AND ((grant_days >= 1) AND (grant_days <= 3660)) AND (discount_percent IS NULL)) OR ((kind = 'PERCENT_DISCOUNT'::text) AND ((discount_percent >= 1) AND (discount_percent <= 99)) AND (grant_days IS NULL)))),
    CONSTRAINT promo_codes_max_uses_check CHECK (((max_uses >= 1) AND (max_uses <= 10000000))),
    CONSTRAINT promo_codes_paused_fields CHECK (((status <> 'PAUSED'::text) OR ((paused_at IS NOT NULL) AND (paused_reason IS NOT NULL)))),
    CONSTRAINT promo_codes_paused_reason_check CHECK (((char_length(paused_reason) >= 1) AND (char_length(paused_reason) <= 200))),
    CONSTRAINT promo_codes_pepper_id_check CHECK ((octet_length(pepper_id) = 8)),
    CONSTRAINT promo_codes_per_user_limit_check CHECK (((per_user_limit >= 1) AND (per_user_limit <= 1000))),
    CONSTRAINT promo_codes_per_user_within_max CHECK (((max_uses IS NULL) OR (per_user_limit <= max_uses))),
    CONSTRAINT promo_codes_period CHECK (((ends_at IS NULL) OR (ends_at > starts_at))),
    CONSTRAINT promo_codes_prefix_check CHECK ((prefix ~ '^[A-Z0-9]{2,16}$'::text)),
    CONSTRAINT promo_codes_starts_at_range CHECK ((ops.timestamp_range() @> starts_at)),
    CONSTRAINT promo_codes_status_check CHECK ((status = ((status)::promo.campaign_status)::text))
);

ALTER TABLE promo.promo_codes OWNER TO starpass_owner;

-- Name: TABLE promo_codes; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON TABLE promo.promo_codes IS 'A campaign: one code (shared or one of a batch), stored only as an HMAC. Capacity and used_total live in promo.capacity_slots.';

-- Name: COLUMN promo_codes.internal; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON COLUMN promo.promo_codes.internal IS 'The referral discount campaign: no code, reserved only by api.choose_referral_reward; not an admin''s to list, read or pause.';

-- Name: campaign_refusal(promo.promo_codes, timestamp with time zone); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.campaign_refusal(p_campaign promo.promo_codes, p_now timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    -- In the order the outcomes are documented; time decides EXPIRED even before the rollover
    -- job has updated the status.
    SELECT CASE
        WHEN p_now < p_campaign.starts_at THEN 'NOT_STARTED'
        WHEN p_campaign.status = 'EXPIRED' OR p_campaign.ends_at <= p_now THEN 'EXPIRED'
        WHEN p_campaign.status = 'PAUSED' THEN 'PAUSED'
        WHEN p_campaign.status = 'DEPLETED' THEN 'DEPLETED'
    END
$$;

ALTER FUNCTION promo.campaign_refusal(p_campaign promo.promo_codes, p_now timestamp with time zone) OWNER TO starpass_owner;

-- Name: FUNCTION campaign_refusal(p_campaign promo.promo_codes, p_now timestamp with time zone); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.campaign_refusal(p_campaign promo.promo_codes, p_now timestamp with time zone) IS 'Why a campaign cannot be redeemed at p_now (NOT_STARTED, EXPIRED, PAUSED, DEPLETED), or NULL.';

-- Name: check_campaign_terms(text, text, integer, integer, integer, integer, timestamp with time zone, timestamp with time zone, text, text, timestamp with time zone); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.check_campaign_terms(p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_now timestamp with time zone) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_starts_at  timestamptz := coalesce(p_starts_at, p_now);
    v_prefix     text := promo.normalize_code_or_null(p_prefix);
BEGIN
    -- Each check as a plain IF: a PERFORM is a full SPI query, and its DETAIL is formatted,
    -- even when the check passes (api.create_promo_code is benchmarked: docs/benchmarks.md).
    PERFORM ops.check_value(p_kind, 'promo.campaign_kind', 'p_kind');
    IF (char_length(btrim(p_campaign)) BETWEEN 1 AND 100) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_campaign',
            'the campaign name is 1 to 100 characters', NULL);
    END IF;
    IF (CASE p_kind WHEN 'PREMIUM_GRANT' THEN p_grant_days BETWEEN 1 AND 3660 ELSE p_grant_days IS NULL END) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_grant_days', format('%s needs %s', p_kind,
                CASE p_kind WHEN 'PREMIUM_GRANT' THEN 'grant_days from 1 to 3660' ELSE 'no grant_days' END),
            NULL);
    END IF;
    IF (CASE p_kind WHEN 'PERCENT_DISCOUNT' THEN p_discount_percent BETWEEN 1 AND 99 ELSE p_discount_percent IS NULL END) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_discount_percent', format('%s needs %s', p_kind,
                CASE p_kind WHEN 'PERCENT_DISCOUNT' THEN 'discount_percent from 1 to 99' ELSE 'no discount_percent' END),
            NULL);
    END IF;
    IF (p_max_uses IS NULL OR p_max_uses BETWEEN 1 AND 10000000) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_max_uses',
            format('max_uses %s is outside 1 to 10000000', p_max_uses), 'NULL means unlimited.');
    END IF;
    IF (p_per_user_limit BETWEEN 1 AND least(1000, coalesce(p_max_uses, 1000))) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_per_user_limit', format('per_user_limit %s is outside 1 to min(1000, max_uses)', p_per_user_limit),
            NULL);
    END IF;
    IF p_starts_at IS NOT NULL THEN
        PERFORM ops.check_timestamp(p_starts_at, 'p_starts_at');
    END IF;
    IF p_ends_at IS NOT NULL THEN
        PERFORM ops.check_timestamp(p_ends_at, 'p_ends_at');
    END IF;
    IF (p_ends_at IS NULL OR (p_ends_at > v_starts_at AND p_ends_at > p_now)) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_ends_at', format('ends_at %s must lie after starts_at %s and in the future', p_ends_at, v_starts_at),
            NULL);
    END IF;
    -- The prefix is public; that a code starts with it is the code's check (promo.code_refusal).
    IF (p_prefix IS NULL OR char_length(v_prefix) BETWEEN 2 AND 16) IS NOT TRUE THEN
        PERFORM promo.refuse_code('prefix_mismatch');
    END IF;
    IF (char_length(p_actor) BETWEEN 1 AND 128) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_actor',
            'the actor is 1 to 128 characters', NULL);
    END IF;
    RETURN v_prefix;
END
$$;

ALTER FUNCTION promo.check_campaign_terms(p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_now timestamp with time zone) OWNER TO starpass_owner;

-- Name: FUNCTION check_campaign_terms(p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_now timestamp with time zone); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.check_campaign_terms(p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_now timestamp with time zone) IS 'The checks of a campaign''s terms, shared by api.create_promo_code and api.import_promo_codes (SP422 invalid_argument for the first that fails); returns the normalized prefix.';

-- Name: check_character(text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.check_character(p_text text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    -- Appending '2' (value 0) moves every character to the weight it has once the check
    -- character follows, and adds nothing.
    v_window  bytea := promo.check_window(p_text || '2');
BEGIN
    RETURN substr(promo.batch_alphabet(), (31 - promo.check_sum(v_window)) % 31 + 1, 1);
END
$$;

ALTER FUNCTION promo.check_character(p_text text) OWNER TO starpass_owner;

-- Name: FUNCTION check_character(p_text text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.check_character(p_text text) IS 'The check character that completes a canonical batch code (the code without it as argument); the batch tool computes the same in Python (app/codes.py), and a test holds them equal.';

-- Name: check_rotation(bytea); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.check_rotation(p_pepper_id bytea) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_pepper_min bytea;
    v_pepper_max bytea;
BEGIN
    -- Called without a previous pepper. During a rotation a code may exist under the previous
    -- pepper: a duplicate check without it would miss it, so creation waits for the previous
    -- pepper to be configured. The rotation is over when no live campaign carries another
    -- pepper (docs/promo.md): ended campaigns under a dropped pepper can never be redeemed, so
    -- they do not hold creation up. The smallest and largest live fingerprint are two index
    -- probes, however many campaigns exist.
    -- (No parameters: a generic plan cannot turn these into scans. bytea has no min/max.)
    v_pepper_min := (SELECT c.pepper_id FROM promo.promo_codes AS c
                     WHERE c.status IN ('ACTIVE', 'PAUSED') AND NOT c.internal
                     ORDER BY c.pepper_id LIMIT 1);
    v_pepper_max := (SELECT c.pepper_id FROM promo.promo_codes AS c
                     WHERE c.status IN ('ACTIVE', 'PAUSED') AND NOT c.internal
                     ORDER BY c.pepper_id DESC LIMIT 1);
    IF v_pepper_min <> p_pepper_id OR v_pepper_max <> p_pepper_id THEN
        RAISE EXCEPTION USING ERRCODE = 'SP500', CONSTRAINT = 'pepper_previous_not_set', MESSAGE = 'promo.pepper_previous is not set',
            DETAIL = 'campaigns hashed with another pepper exist (a rotation is under way)',
            HINT = 'Set PROMO_SECRET_PEPPER_PREVIOUS to the pepper used before the rotation.';
    END IF;
END
$$;

ALTER FUNCTION promo.check_rotation(p_pepper_id bytea) OWNER TO starpass_owner;

-- Name: FUNCTION check_rotation(p_pepper_id bytea); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.check_rotation(p_pepper_id bytea) IS 'Without a previous pepper: SP500 pepper_previous_not_set when live campaigns were hashed by a pepper other than this fingerprint''s (a rotation is under way). Shared by every function that creates codes.';

-- Name: check_sum(bytea); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.check_sum(p_window bytea) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT (16 * get_byte(promo.batch_values(), get_byte(p_window, 0)) +
            15 * get_byte(promo.batch_values(), get_byte(p_window, 1)) +
            14 * get_byte(promo.batch_values(), get_byte(p_window, 2)) +
            13 * get_byte(promo.batch_values(), get_byte(p_window, 3)) +
            12 * get_byte(promo.batch_values(), get_byte(p_window, 4)) +
            11 * get_byte(promo.batch_values(), get_byte(p_window, 5)) +
            10 * get_byte(promo.batch_values(), get_byte(p_window, 6)) +
            9 * get_byte(promo.batch_values(), get_byte(p_window, 7)) +
            8 * get_byte(promo.batch_values(), get_byte(p_window, 8)) +
            7 * get_byte(promo.batch_values(), get_byte(p_window, 9)) +
            6 * get_byte(promo.batch_values(), get_byte(p_window, 10)) +
            5 * get_byte(promo.batch_values(), get_byte(p_window, 11)) +
            4 * get_byte(promo.batch_values(), get_byte(p_window, 12)) +
            3 * get_byte(promo.batch_values(), get_byte(p_window, 13)) +
            2 * get_byte(promo.batch_values(), get_byte(p_window, 14)) +
            1 * get_byte(promo.batch_values(), get_byte(p_window, 15))) % 31
$$;

ALTER FUNCTION promo.check_sum(p_window bytea) OWNER TO starpass_owner;

-- Name: FUNCTION check_sum(p_window bytea); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.check_sum(p_window bytea) IS 'The check sum of a promo.check_window: each character''s value times its position counted from the right (the check character 1, the one before it 2, ... 16), modulo 31; 0 when the check character is right. The weights 1 to 16 differ modulo the prime 31, so any one changed character and any two swapped ones change the sum.';

-- Name: check_window(text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.check_window(p_code text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT convert_to(right(p_code, 16), 'UTF8')
$$;

ALTER FUNCTION promo.check_window(p_code text) OWNER TO starpass_owner;

-- Name: FUNCTION check_window(p_code text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.check_window(p_code text) IS 'The last 16 characters of a canonical code as UTF-8 bytes, which a batch code''s pattern and check character cover (for promo.is_batch_window and promo.check_sum).';

-- Name: code_refusal(text, text, text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.code_refusal(p_code text, p_prefix text, p_campaign_letters text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN char_length(p_code) < 4 THEN 'code_too_short'
        WHEN p_prefix IS NOT NULL
             AND NOT (starts_with(p_code, p_prefix) AND char_length(p_code) >= char_length(p_prefix) + 4)
            THEN 'prefix_mismatch'
        WHEN strpos(p_campaign_letters, p_code) > 0 THEN 'code_in_campaign_name'
    END
$$;

ALTER FUNCTION promo.code_refusal(p_code text, p_prefix text, p_campaign_letters text) OWNER TO starpass_owner;

-- Name: FUNCTION code_refusal(p_code text, p_prefix text, p_campaign_letters text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.code_refusal(p_code text, p_prefix text, p_campaign_letters text) IS 'Why a canonical code cannot belong to a campaign with this normalized prefix and name (the name''s letters and digits, uppercase): code_too_short, prefix_mismatch, code_in_campaign_name, or NULL. Shared by api.create_promo_code (which raises it, promo.refuse_code) and api.import_promo_codes (which reports it per line).';

-- Name: guard_attempt_delete(); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.guard_attempt_delete() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    v_kept  promo.promo_attempts;
BEGIN
    -- Attempts are append-only until retention: a redemption's binding attempt is its record
    -- for ever (api.check_invariants), any other only once it is past
    -- promo.attempts_prunable_before(). Per statement: one cutoff for a batch of thousands.
    SELECT g.* INTO v_kept FROM gone AS g
    WHERE (g.binding AND g.promo_redemption_id IS NOT NULL) OR g.created_at >= promo.attempts_prunable_before()
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'SP409',
            CONSTRAINT = 'append_only',
            MESSAGE = 'promo.promo_attempts is append-only until retention',
            DETAIL  = format('attempt %s is %s', v_kept.attempt_id,
                             CASE WHEN v_kept.binding AND v_kept.promo_redemption_id IS NOT NULL
                                  THEN 'the binding attempt of redemption ' || v_kept.promo_redemption_id
                                  ELSE 'inside its windows and retention.promo_attempts' END),
            HINT    = 'api.prune_history deletes attempts once retention allows.';
    END IF;
    RETURN NULL;
END
$$;

ALTER FUNCTION promo.guard_attempt_delete() OWNER TO starpass_owner;

-- Name: FUNCTION guard_attempt_delete(); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.guard_attempt_delete() IS 'Trigger (after each DELETE statement): refuses deleting a promo attempt retention keeps (a redemption''s binding attempt, or one newer than promo.attempts_prunable_before()).';

-- Name: guard_redemption_change(); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.guard_redemption_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF (NEW.promo_code_id, NEW.slot_no, NEW.user_id, NEW.kind, NEW.created_at)
       IS DISTINCT FROM (OLD.promo_code_id, OLD.slot_no, OLD.user_id, OLD.kind, OLD.created_at) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'redemption_immutable', MESSAGE = 'redemption identity is immutable',
            DETAIL = format('redemption %s', OLD.promo_redemption_id);
    END IF;
    IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
        ('RESERVED', 'CONSUMED'), ('RESERVED', 'EXPIRED'), ('APPLIED', 'REVOKED'), ('CONSUMED', 'REVOKED')) THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'forbidden_redemption_transition', MESSAGE = 'forbidden redemption transition',
            DETAIL = format('redemption %s: %s -> %s', OLD.promo_redemption_id, OLD.status, NEW.status),
            HINT = 'RESERVED -> CONSUMED | EXPIRED; APPLIED | CONSUMED -> REVOKED.';
    END IF;
    RETURN NEW;
END
$$;

ALTER FUNCTION promo.guard_redemption_change() OWNER TO starpass_owner;

-- Name: FUNCTION guard_redemption_change(); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.guard_redemption_change() IS 'Trigger: the redemption state machine and its immutable identity.';

-- Name: has_capacity(bigint, timestamp with time zone); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.has_capacity(p_promo_code_id bigint, p_now timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- As committed now: a slot with room, or a reservation whose hold has run out (its unit is
    -- free for the taking). Takes no locks.
    -- Two statements, not one OR: the second (and its index) is rarely needed.
    IF EXISTS (SELECT FROM promo.capacity_slots AS s
               WHERE s.promo_code_id = p_promo_code_id
                 AND (s.capacity IS NULL OR s.used + s.held < s.capacity)) THEN
        RETURN true;
    END IF;
    RETURN EXISTS (SELECT FROM promo.promo_redemptions AS r
                   WHERE r.status = 'RESERVED' AND r.reserved_until <= p_now
                     AND r.promo_code_id = p_promo_code_id);
END
$$;

ALTER FUNCTION promo.has_capacity(p_promo_code_id bigint, p_now timestamp with time zone) OWNER TO starpass_owner;

-- Name: FUNCTION has_capacity(p_promo_code_id bigint, p_now timestamp with time zone); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.has_capacity(p_promo_code_id bigint, p_now timestamp with time zone) IS 'Whether the campaign has a free unit at p_now, live reservations counted (committed state, no locks).';

-- Name: has_wrong_check_character(text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.has_wrong_check_character(p_code text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    v_window  bytea;
BEGIN
    -- The redemption calls this for every code: a code shorter than the window is no batch
    -- code, and saying so first spares the window's 16 byte reads (78,000 instructions per redemption).
    IF char_length(p_code) < 16 THEN
        RETURN false;
    END IF;
    -- Each helper is one expression, inlined here.
    v_window := promo.check_window(p_code);
    IF promo.is_batch_window(v_window) IS NOT TRUE THEN
        RETURN false;  -- not a generated batch code: it has no check character
    END IF;
    RETURN promo.check_sum(v_window) <> 0;
END
$$;

ALTER FUNCTION promo.has_wrong_check_character(p_code text) OWNER TO starpass_owner;

-- Name: FUNCTION has_wrong_check_character(p_code text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.has_wrong_check_character(p_code text) IS 'Whether a canonical code has the pattern of a generated batch code but a wrong check character (a typo): decided from the code alone, before any lookup.';

-- Name: hash_code(text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.hash_code(p_code text) RETURNS bytea
    LANGUAGE sql STABLE
    AS $$ SELECT promo.hmac(promo.normalize_code(p_code), promo.pepper()) $$;

ALTER FUNCTION promo.hash_code(p_code text) OWNER TO starpass_owner;

-- Name: FUNCTION hash_code(p_code text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.hash_code(p_code text) IS 'HMAC-SHA256 of the normalized code under promo.pepper: the only form in which a code is stored.';

-- Name: hmac(text, bytea); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.hmac(p_text text, p_pepper bytea) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT extensions.hmac(convert_to(p_text, 'UTF8'), p_pepper, 'sha256') $$;

ALTER FUNCTION promo.hmac(p_text text, p_pepper bytea) OWNER TO starpass_owner;

-- Name: FUNCTION hmac(p_text text, p_pepper bytea); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.hmac(p_text text, p_pepper bytea) IS 'HMAC-SHA256 of a text under a pepper (NULL pepper gives NULL).';

-- Name: is_attempt_record(boolean, boolean, text, bytea); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.is_attempt_record(p_counted boolean, p_replayed boolean, p_outcome text, p_request_hash bytea) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    -- The body of a table CHECK (promo_attempts_record), compiled once per connection rather
    -- than parsed by every statement that writes promo.promo_attempts (promo.is_redemption_state
    -- says why).
    RETURN octet_length(p_request_hash) = 32
       AND (NOT p_counted OR (NOT p_replayed AND p_outcome NOT IN ('APPLIED', 'RESERVED', 'THROTTLED')));
END
$$;

ALTER FUNCTION promo.is_attempt_record(p_counted boolean, p_replayed boolean, p_outcome text, p_request_hash bytea) OWNER TO starpass_owner;

-- Name: FUNCTION is_attempt_record(p_counted boolean, p_replayed boolean, p_outcome text, p_request_hash bytea); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.is_attempt_record(p_counted boolean, p_replayed boolean, p_outcome text, p_request_hash bytea) IS 'An attempt as a table CHECK: a 32-byte request hash; only a refusal that was not replayed counts for the throttle.';

-- Name: is_batch_window(bytea); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.is_batch_window(p_window bytea) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT octet_length(p_window) = 16
        AND get_byte(promo.batch_values(), get_byte(p_window, 0)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 1)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 2)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 3)) BETWEEN 93
        AND 100
        AND get_byte(promo.batch_values(), get_byte(p_window, 4)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 5)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 6)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 7)) BETWEEN 93
        AND 100
        AND get_byte(promo.batch_values(), get_byte(p_window, 8)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 9)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 10)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 11)) BETWEEN 93
        AND 100
        AND get_byte(promo.batch_values(), get_byte(p_window, 12)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 13)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 14)) >= 101
        AND get_byte(promo.batch_values(), get_byte(p_window, 15)) >= 93
$$;

ALTER FUNCTION promo.is_batch_window(p_window bytea) OWNER TO starpass_owner;

-- Name: FUNCTION is_batch_window(p_window bytea); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.is_batch_window(p_window bytea) IS 'Whether a promo.check_window has the pattern of a generated batch code: three letters and a digit three times, then three letters and the check character (letters without I, L, O; digits 2 to 9; the check character any of the 31).';

-- Name: is_slot_state(smallint, integer, integer, integer); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.is_slot_state(p_slot_no smallint, p_capacity integer, p_used integer, p_held integer) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    -- The body of a table CHECK (capacity_slots_state), compiled once per connection rather
    -- than parsed by every statement that writes promo.capacity_slots (promo.is_redemption_state
    -- says why): each redemption moves a slot's counters.
    RETURN p_slot_no >= 0 AND coalesce(p_capacity > 0, true) AND p_used >= 0 AND p_held >= 0
       AND (p_capacity IS NULL OR p_used + p_held <= p_capacity);
END
$$;

ALTER FUNCTION promo.is_slot_state(p_slot_no smallint, p_capacity integer, p_used integer, p_held integer) OWNER TO starpass_owner;

-- Name: FUNCTION is_slot_state(p_slot_no smallint, p_capacity integer, p_used integer, p_held integer); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.is_slot_state(p_slot_no smallint, p_capacity integer, p_used integer, p_held integer) IS 'A capacity slot as a table CHECK: slot number from 0, capacity above 0 or none, used and held from 0 and together within the capacity.';

-- Name: lock_user(bigint); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.lock_user(p_user_id bigint) RETURNS void
    LANGUAGE sql
    AS $$ SELECT pg_catalog.pg_advisory_xact_lock(p_user_id) $$;

ALTER FUNCTION promo.lock_user(p_user_id bigint) OWNER TO starpass_owner;

-- Name: FUNCTION lock_user(p_user_id bigint); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.lock_user(p_user_id bigint) IS 'Serializes one user''s redemption attempts and throttle changes (until the transaction ends).';

-- Name: mirror_throttle(); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.mirror_throttle() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE core.users AS u SET promo_blocked_until = NULL, promo_counting_after_attempt_id = NULL
        WHERE u.user_id = OLD.user_id;
    ELSE
        UPDATE core.users AS u
        SET promo_blocked_until = NEW.blocked_until,
            promo_counting_after_attempt_id = NEW.counting_after_attempt_id
        WHERE u.user_id = NEW.user_id
          AND (u.promo_blocked_until, u.promo_counting_after_attempt_id)
              IS DISTINCT FROM (NEW.blocked_until, NEW.counting_after_attempt_id);
    END IF;
    RETURN NULL;
END
$$;

ALTER FUNCTION promo.mirror_throttle() OWNER TO starpass_owner;

-- Name: FUNCTION mirror_throttle(); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.mirror_throttle() IS 'Trigger: copies promo.user_throttle.blocked_until and counting_after_attempt_id to core.users.';

-- Name: normalize_code(text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.normalize_code(p_code text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    v_code text := promo.normalize_code_or_null(p_code);
BEGIN
    -- The DETAIL describes the rule, never the input: codes must not reach any log.
    PERFORM ops.check_argument(v_code IS NOT NULL, 'p_code',
        'a code is 1 to 64 letters A-Z and digits once spaces and hyphens are removed',
        'Use only letters and digits; spaces, hyphens and case do not matter.');
    RETURN v_code;
END
$$;

ALTER FUNCTION promo.normalize_code(p_code text) OWNER TO starpass_owner;

-- Name: FUNCTION normalize_code(p_code text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.normalize_code(p_code text) IS 'The canonical form of a code; raises SP422 when the input cannot be a code.';

-- Name: normalize_code_or_null(text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.normalize_code_or_null(p_code text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $_$
DECLARE
    v_code  text;
BEGIN
    IF p_code IS NULL OR char_length(p_code) > 256 THEN
        RETURN NULL;  -- longer input cannot be a code; do not spend time normalizing it
    END IF;
    -- A length and an unbounded class, not {1,64}: the regex engine unrolls a bounded repetition
    -- into 64 states and builds its automaton on every match (25 times the cost).
    IF char_length(p_code) <= 64 AND p_code ~ '^[A-Z0-9]+$' THEN
        RETURN p_code;  -- already canonical (NFKC leaves ASCII letters and digits alone)
    END IF;
    -- NFKC folds full-width letters and odd spaces; then every space, hyphen and dash goes
    -- (including those a phone keyboard inserts: U+2010-2015, U+2212, soft hyphen, zero-width
    -- spaces); uppercase under the C collation touches only ASCII, so the result is locale-free.
    v_code := upper(regexp_replace(
        normalize(p_code, NFKC),
        '[[:space:]\u00A0\u00AD\u1680\u180E\u2000-\u200D\u2028\u2029\u202F\u205F\u2060\u3000\uFEFF\-\u2010-\u2015\u2043\u2212\uFE58\uFE63\uFF0D]',
        '', 'g') COLLATE "C");
    RETURN CASE WHEN char_length(v_code) <= 64 AND v_code ~ '^[A-Z0-9]+$' THEN v_code END;
END
$_$;

ALTER FUNCTION promo.normalize_code_or_null(p_code text) OWNER TO starpass_owner;

-- Name: FUNCTION normalize_code_or_null(p_code text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.normalize_code_or_null(p_code text) IS 'The canonical form of a code (NFKC, no spaces or dashes, uppercase, 1-64 of A-Z0-9), or NULL when the input cannot be a code.';

-- Name: pepper(boolean); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.pepper(p_previous boolean DEFAULT false) RETURNS bytea
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_name   text := CASE WHEN p_previous THEN 'promo.pepper_previous' ELSE 'promo.pepper' END;
    v_value  text := nullif(current_setting(v_name, true), '');
BEGIN
    IF v_value IS NULL THEN
        IF p_previous THEN
            RETURN NULL;  -- no rotation in progress
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'SP500', CONSTRAINT = 'pepper_not_set', MESSAGE = 'promo.pepper is not set',
            DETAIL = 'promo codes are hashed with a secret pepper that this session does not have',
            HINT = 'The app sets it from PROMO_SECRET_PEPPER on every connection; in psql use `make psql` or SET promo.pepper.';
    END IF;
    IF octet_length(convert_to(v_value, 'UTF8')) < 32 THEN
        RAISE EXCEPTION USING ERRCODE = 'SP500', CONSTRAINT = 'pepper_too_short', MESSAGE = format('%s is too short', v_name),
            DETAIL = format('%s bytes; at least 32 are required', octet_length(convert_to(v_value, 'UTF8'))),
            HINT = 'Generate one with: python3 -c "import secrets; print(secrets.token_urlsafe(48))"';
    END IF;
    RETURN convert_to(v_value, 'UTF8');
END
$$;

ALTER FUNCTION promo.pepper(p_previous boolean) OWNER TO starpass_owner;

-- Name: FUNCTION pepper(p_previous boolean); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.pepper(p_previous boolean) IS 'The pepper from the session setting promo.pepper (or promo.pepper_previous, NULL when unset); SP500 when missing or under 32 bytes.';

-- Name: pepper_id(bytea); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.pepper_id(p_pepper bytea) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT substr(promo.hmac('starpass:pepper-id', p_pepper), 1, 8) $$;

ALTER FUNCTION promo.pepper_id(p_pepper bytea) OWNER TO starpass_owner;

-- Name: FUNCTION pepper_id(p_pepper bytea); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.pepper_id(p_pepper bytea) IS 'An 8-byte fingerprint that tells peppers apart without revealing them.';

-- Name: record_attempt(bigint, text, bytea, api.redeem_result, timestamp with time zone, bigint, boolean); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.record_attempt(p_user_id bigint, p_idempotency_key text, p_request_hash bytea, p_result api.redeem_result, p_now timestamp with time zone, p_attributed_to bigint DEFAULT NULL::bigint, p_countable boolean DEFAULT true) RETURNS api.redeem_result
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_result    api.redeem_result := p_result;
    -- p_countable false: a refusal decided from the code alone, which the throttle ignores
    -- (a wrong check character: docs/promo.md, "Batch codes").
    v_counted   boolean := p_countable AND NOT coalesce(p_result.replayed, false)
                           AND p_result.outcome NOT IN ('APPLIED', 'RESERVED', 'THROTTLED');
    v_after     bigint;
    v_blocked   timestamptz;
    v_failures  bigint;
BEGIN
    v_result.replayed := coalesce(v_result.replayed, false);
    IF v_counted THEN
        PERFORM promo.lock_user(p_user_id);
        -- The user's row mirrors the throttle state (promo.mirror_throttle): no other relation.
        SELECT u.promo_counting_after_attempt_id, u.promo_blocked_until INTO v_after, v_blocked
        FROM core.users AS u WHERE u.user_id = p_user_id;
        -- Nothing a blocked user does counts or extends the block.
        v_counted := NOT coalesce(v_blocked > p_now, false);
    END IF;
    IF v_counted THEN
        SELECT count(*) + 1 INTO v_failures
        FROM promo.promo_attempts AS a
        WHERE a.user_id = p_user_id AND a.counted
          AND a.created_at > p_now - ops.setting_interval('promo.throttle_window')
          AND a.attempt_id > coalesce(v_after, 0);
        IF v_failures >= ops.setting_integer('promo.throttle_max_failures') THEN
            v_result.blocked_until := p_now + ops.setting_interval('promo.throttle_block');
            PERFORM core.ensure_user(p_user_id);
            INSERT INTO promo.user_throttle AS t (user_id, blocked_until, blocked_at, updated_at)
            VALUES (p_user_id, v_result.blocked_until, p_now, p_now)
            ON CONFLICT ON CONSTRAINT user_throttle_pkey DO UPDATE
            SET blocked_until = excluded.blocked_until, blocked_at = excluded.blocked_at,
                updated_at = excluded.updated_at;
        END IF;
    END IF;

    INSERT INTO promo.promo_attempts (user_id, idempotency_key, request_hash, outcome, promo_code_id,
                                      promo_redemption_id, replayed, counted, created_at)
    -- promo_code_id: the campaign of the code, or for a NOT_FOUND guess the campaign whose public
    -- prefix it starts with (for the guard; never returned to the caller).
    VALUES (p_user_id, p_idempotency_key, p_request_hash, v_result.outcome,
            coalesce(v_result.promo_code_id, p_attributed_to),
            v_result.promo_redemption_id, v_result.replayed, v_counted, p_now);
    RETURN v_result;
END
$$;

ALTER FUNCTION promo.record_attempt(p_user_id bigint, p_idempotency_key text, p_request_hash bytea, p_result api.redeem_result, p_now timestamp with time zone, p_attributed_to bigint, p_countable boolean) OWNER TO starpass_owner;

-- Name: FUNCTION record_attempt(p_user_id bigint, p_idempotency_key text, p_request_hash bytea, p_result api.redeem_result, p_now timestamp with time zone, p_attributed_to bigint, p_countable boolean); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.record_attempt(p_user_id bigint, p_idempotency_key text, p_request_hash bytea, p_result api.redeem_result, p_now timestamp with time zone, p_attributed_to bigint, p_countable boolean) IS 'Logs a redemption attempt; a counted refusal (any refusal unless p_countable is false) that reaches the threshold within the window blocks the user (blocked_until is set in the returned result).';

-- Name: refuse_code(text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.refuse_code(p_reason text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    -- The DETAIL describes the rule, never the input: codes must not reach any log.
    CASE p_reason
    WHEN 'code_too_short' THEN
        PERFORM ops.check_argument(false, 'p_code',
            'a code needs at least 4 letters or digits', 'Short codes are guessed; use 8 or more.');
    WHEN 'prefix_mismatch' THEN
        PERFORM ops.check_argument(false, 'p_prefix', 'a prefix is 2 to 16 letters or digits that the code starts with, followed by at least 4 more',
            NULL);
    WHEN 'code_in_campaign_name' THEN
        PERFORM ops.check_argument(false, 'p_campaign',
            'the campaign name must not contain the code (names are stored, audited and shown)', NULL);
    WHEN 'check_character' THEN
        PERFORM ops.check_argument(false, 'p_code',
            'the code has the pattern of a generated batch code (its last 16 characters) but a wrong check character',
            'Generate batch codes with scripts/promo_batch_tool.py, or choose a code without that pattern.');
    END CASE;
END
$$;

ALTER FUNCTION promo.refuse_code(p_reason text) OWNER TO starpass_owner;

-- Name: FUNCTION refuse_code(p_reason text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.refuse_code(p_reason text) IS 'Raises SP422 invalid_argument for a reason of promo.code_refusal (or check_character), naming the argument at fault; api.create_promo_code''s refusal of a code.';

-- Name: revoke_refunded_redemption(bigint, text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.revoke_refunded_redemption(p_purchase_id bigint, p_actor text) RETURNS TABLE(outcome text, promo_redemption_id bigint)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_purchase    billing.purchases;
    v_redemption  promo.promo_redemptions;
BEGIN
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.purchase_id = p_purchase_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'purchase_not_found', MESSAGE = 'purchase not found',
            DETAIL = format('no purchase %s', p_purchase_id);
    END IF;
    -- Lock order: redemption, then purchase.
    IF v_purchase.promo_redemption_id IS NOT NULL THEN
        SELECT * INTO v_redemption FROM promo.promo_redemptions AS r
        WHERE r.promo_redemption_id = v_purchase.promo_redemption_id
        FOR UPDATE;
    END IF;
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.purchase_id = p_purchase_id FOR UPDATE;
    IF v_purchase.status <> 'REFUNDED' THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'purchase_not_refunded', MESSAGE = 'purchase is not refunded',
            DETAIL = format('purchase %s is %s', p_purchase_id, v_purchase.status),
            HINT = 'Only a refunded purchase''s promo redemption is rolled back.';
    END IF;
    IF v_purchase.promo_redemption_id IS NULL THEN
        RETURN QUERY SELECT 'NO_PROMO', NULL::bigint;
        RETURN;
    END IF;
    IF v_redemption.status = 'REVOKED' THEN
        RETURN QUERY SELECT 'ALREADY_REVOKED', v_redemption.promo_redemption_id;
        RETURN;
    END IF;
    IF v_redemption.status <> 'CONSUMED' THEN
        -- Paid after its reservation had expired: nothing was consumed, nothing to revoke.
        RETURN QUERY SELECT 'NO_PROMO', v_redemption.promo_redemption_id;
        RETURN;
    END IF;
    -- used_total is not decremented: the unit stays spent (audit-conservative).
    UPDATE promo.promo_redemptions AS r
    SET status = 'REVOKED', revoked_at = ops.now(), revoked_reason = format('purchase %s refunded', p_purchase_id)
    WHERE r.promo_redemption_id = v_redemption.promo_redemption_id;
    PERFORM ops.write_audit(p_actor, 'promo.redemption_revoked', 'promo_redemption',
                            v_redemption.promo_redemption_id::text, 'purchase refunded',
                            jsonb_build_object('purchase_id', p_purchase_id));
    RETURN QUERY SELECT 'REVOKED', v_redemption.promo_redemption_id;
END
$$;

ALTER FUNCTION promo.revoke_refunded_redemption(p_purchase_id bigint, p_actor text) OWNER TO starpass_owner;

-- Name: FUNCTION revoke_refunded_redemption(p_purchase_id bigint, p_actor text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.revoke_refunded_redemption(p_purchase_id bigint, p_actor text) IS 'Revokes the promo redemption a refunded purchase consumed: REVOKED, ALREADY_REVOKED or NO_PROMO; SP404/SP409 for a missing or unrefunded purchase.';

-- Name: slot_capacities(integer); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.slot_capacities(p_max_uses integer) RETURNS TABLE(slot_no smallint, capacity integer)
    LANGUAGE sql STABLE
    AS $$
    -- Spread capacity evenly; slot i gets one extra unit while the remainder lasts.
    SELECT i::smallint, p_max_uses / s.n + CASE WHEN i < p_max_uses % s.n THEN 1 ELSE 0 END
    FROM (SELECT least(ops.setting_integer('promo.capacity_slots'),
                       coalesce(p_max_uses, 2147483647)) AS n) AS s
    CROSS JOIN generate_series(0, s.n - 1) AS i
$$;

ALTER FUNCTION promo.slot_capacities(p_max_uses integer) OWNER TO starpass_owner;

-- Name: FUNCTION slot_capacities(p_max_uses integer); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.slot_capacities(p_max_uses integer) IS 'The capacity slots of a new campaign: up to promo.capacity_slots rows, max_uses spread evenly (NULL capacities for an unlimited one).';

-- Name: take_capacity(bigint, timestamp with time zone, integer); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.take_capacity(p_promo_code_id bigint, p_now timestamp with time zone, p_max_uses integer DEFAULT NULL::integer) RETURNS smallint
    LANGUAGE plpgsql
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

ALTER FUNCTION promo.take_capacity(p_promo_code_id bigint, p_now timestamp with time zone, p_max_uses integer) OWNER TO starpass_owner;

-- Name: FUNCTION take_capacity(p_promo_code_id bigint, p_now timestamp with time zone, p_max_uses integer); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.take_capacity(p_promo_code_id bigint, p_now timestamp with time zone, p_max_uses integer) IS 'Locks and returns a capacity slot of the campaign with one free unit, reclaiming a reservation whose hold ran out; NULL when depleted (live reservations count) or when the campaign stopped being ACTIVE while it waited for a slot. Never blocks on a slot lock. The caller books the unit.';

-- Name: units_held(text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.units_held(p_status text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (p_status = 'RESERVED')::integer $$;

ALTER FUNCTION promo.units_held(p_status text) OWNER TO starpass_owner;

-- Name: FUNCTION units_held(p_status text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.units_held(p_status text) IS 'Capacity units a redemption in this status holds until it is consumed or expires (1 for RESERVED).';

-- Name: units_used(text); Type: FUNCTION; Schema: promo; Owner: starpass_owner

CREATE FUNCTION promo.units_used(p_status text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (p_status IN ('APPLIED', 'CONSUMED', 'REVOKED'))::integer $$;

ALTER FUNCTION promo.units_used(p_status text) OWNER TO starpass_owner;

-- Name: FUNCTION units_used(p_status text); Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON FUNCTION promo.units_used(p_status text) IS 'Capacity units a redemption in this status uses for good (1 for APPLIED, CONSUMED, REVOKED: a revocation gives nothing back).';

-- Name: discount_campaign_id(); Type: FUNCTION; Schema: referral; Owner: starpass_owner

CREATE FUNCTION referral.discount_campaign_id() RETURNS bigint
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    -- The code-less campaign migration 0008 created for DISCOUNT rewards (there is one: a
    -- unique partial index on promo_codes.internal).
    RETURN (SELECT c.promo_code_id FROM promo.promo_codes AS c WHERE c.internal);
END
$$;

ALTER FUNCTION referral.discount_campaign_id() OWNER TO starpass_owner;

-- Name: FUNCTION discount_campaign_id(); Type: COMMENT; Schema: referral; Owner: starpass_owner

COMMENT ON FUNCTION referral.discount_campaign_id() IS 'The campaign whose reservations are the personal DISCOUNT referral rewards.';

-- Name: rewards; Type: TABLE; Schema: referral; Owner: starpass_owner

CREATE TABLE referral.rewards (
    referral_reward_id bigint NOT NULL,
    referrer_user_id bigint NOT NULL,
    referee_user_id bigint NOT NULL,
    purchase_id bigint NOT NULL,
    status text DEFAULT 'OFFERED'::text NOT NULL,
    choice text,
    created_at timestamp with time zone NOT NULL,
    chosen_at timestamp with time zone,
    cancelled_at timestamp with time zone,
    premium_until timestamp with time zone,
    promo_redemption_id bigint,
    CONSTRAINT rewards_choice_check CHECK ((choice = ((choice)::referral.reward_choice)::text)),
    CONSTRAINT rewards_status_check CHECK ((status = ((status)::referral.reward_status)::text)),
    CONSTRAINT rewards_status_fields CHECK (
CASE status
    WHEN 'OFFERED'::text THEN ((choice IS NULL) AND (chosen_at IS NULL) AND (cancelled_at IS NULL))
    WHEN 'CHOSEN'::text THEN ((choice IS NOT NULL) AND (chosen_at IS NOT NULL) AND (cancelled_at IS NULL) AND ((choice = 'PREMIUM_DAYS'::text) = (promo_redemption_id IS NULL)))
    WHEN 'CANCELLED'::text THEN ((cancelled_at IS NOT NULL) AND (choice IS NULL))
    ELSE NULL::boolean
END)
);

ALTER TABLE referral.rewards OWNER TO starpass_owner;

-- Name: TABLE rewards; Type: COMMENT; Schema: referral; Owner: starpass_owner

COMMENT ON TABLE referral.rewards IS 'One reward per referred user''s first paid purchase, OFFERED to the referrer until chosen (or cancelled by a refund before).';

-- Name: offer_first_purchase_reward(billing.purchases, timestamp with time zone); Type: FUNCTION; Schema: referral; Owner: starpass_owner

CREATE FUNCTION referral.offer_first_purchase_reward(p_purchase billing.purchases, p_now timestamp with time zone) RETURNS referral.rewards
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_referrer  bigint;
    v_reward    referral.rewards;
BEGIN
    -- A referred user's first paid purchase earns the referrer one reward. The payer's user lock
    -- (taken by the settlement) orders this against a registration for the same user.
    SELECT rf.referrer_user_id INTO v_referrer FROM referral.referrals AS rf
    WHERE rf.referee_user_id = p_purchase.user_id;
    IF v_referrer IS NOT NULL AND NOT EXISTS (
        SELECT FROM billing.purchases AS p
        WHERE p.user_id = p_purchase.user_id AND p.status IN ('PAID', 'REFUNDED')
          AND p.purchase_id <> p_purchase.purchase_id) THEN
        INSERT INTO referral.rewards AS rw (referrer_user_id, referee_user_id, purchase_id, created_at)
        VALUES (v_referrer, p_purchase.user_id, p_purchase.purchase_id, p_now)
        ON CONFLICT (referee_user_id) DO NOTHING
        RETURNING * INTO v_reward;
    END IF;
    RETURN v_reward;
END
$$;

ALTER FUNCTION referral.offer_first_purchase_reward(p_purchase billing.purchases, p_now timestamp with time zone) OWNER TO starpass_owner;

-- Name: FUNCTION offer_first_purchase_reward(p_purchase billing.purchases, p_now timestamp with time zone); Type: COMMENT; Schema: referral; Owner: starpass_owner

COMMENT ON FUNCTION referral.offer_first_purchase_reward(p_purchase billing.purchases, p_now timestamp with time zone) IS 'Offers the referrer a reward (OFFERED) when this paid purchase is a referred user''s first; returns the reward, or a NULL row when none is due.';

-- Name: entitlements; Type: TABLE; Schema: billing; Owner: starpass_owner

CREATE TABLE billing.entitlements (
    user_id bigint NOT NULL,
    premium_until timestamp with time zone,
    updated_at timestamp with time zone NOT NULL
);

ALTER TABLE billing.entitlements OWNER TO starpass_owner;

-- Name: TABLE entitlements; Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON TABLE billing.entitlements IS 'Premium state per user; written only by billing.post_ledger_entry, always in step with the ledger.';

-- Name: payments; Type: TABLE; Schema: billing; Owner: starpass_owner

CREATE TABLE billing.payments (
    payment_id bigint NOT NULL,
    telegram_payment_charge_id text NOT NULL,
    user_id bigint NOT NULL,
    invoice_payload text NOT NULL,
    currency text NOT NULL,
    total_amount bigint NOT NULL,
    purchase_id bigint,
    outcome text NOT NULL,
    received_at timestamp with time zone NOT NULL,
    CONSTRAINT payments_currency_check CHECK (((char_length(currency) >= 1) AND (char_length(currency) <= 16))),
    CONSTRAINT payments_invoice_payload_check CHECK (((char_length(invoice_payload) >= 1) AND (char_length(invoice_payload) <= 255))),
    CONSTRAINT payments_outcome_check CHECK ((outcome = ((outcome)::billing.payment_outcome)::text)),
    CONSTRAINT payments_telegram_payment_charge_id_check CHECK (((char_length(telegram_payment_charge_id) >= 1) AND (char_length(telegram_payment_charge_id) <= 255)))
);

ALTER TABLE billing.payments OWNER TO starpass_owner;

-- Name: TABLE payments; Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON TABLE billing.payments IS 'Every successful_payment, keyed by its charge id (the payment''s idempotency key); outcome says whether it settled a purchase.';

-- Name: payments_payment_id_seq; Type: SEQUENCE; Schema: billing; Owner: starpass_owner

ALTER TABLE billing.payments ALTER COLUMN payment_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME billing.payments_payment_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: plans; Type: TABLE; Schema: billing; Owner: starpass_owner

CREATE TABLE billing.plans (
    plan_code text NOT NULL,
    premium_days integer NOT NULL,
    price_stars integer NOT NULL,
    currency text DEFAULT 'XTR'::text NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    sort_order integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT plans_code_fits_callback CHECK ((char_length(plan_code) <= 20)),
    CONSTRAINT plans_currency_check CHECK ((currency = 'XTR'::text)),
    CONSTRAINT plans_description_check CHECK (((char_length(description) >= 1) AND (char_length(description) <= 255))),
    CONSTRAINT plans_plan_code_check CHECK ((plan_code ~ '^[a-z][a-z0-9_]{1,31}$'::text)),
    CONSTRAINT plans_premium_days_check CHECK (((premium_days >= 1) AND (premium_days <= 3660))),
    CONSTRAINT plans_price_stars_check CHECK (((price_stars >= 1) AND (price_stars <= 1000000))),
    CONSTRAINT plans_title_check CHECK (((char_length(title) >= 1) AND (char_length(title) <= 32)))
);

ALTER TABLE billing.plans OWNER TO starpass_owner;

-- Name: TABLE plans; Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON TABLE billing.plans IS 'What can be bought for Stars. Titles are German (the bot''s first language).';

-- Name: purchases_purchase_id_seq; Type: SEQUENCE; Schema: billing; Owner: starpass_owner

ALTER TABLE billing.purchases ALTER COLUMN purchase_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME billing.purchases_purchase_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: refund_requests; Type: TABLE; Schema: billing; Owner: starpass_owner

CREATE TABLE billing.refund_requests (
    refund_request_id bigint NOT NULL,
    purchase_id bigint NOT NULL,
    requested_at timestamp with time zone NOT NULL,
    actor text NOT NULL,
    reason text NOT NULL,
    CONSTRAINT refund_requests_actor_check CHECK (((char_length(actor) >= 1) AND (char_length(actor) <= 128))),
    CONSTRAINT refund_requests_reason_check CHECK (((char_length(reason) >= 1) AND (char_length(reason) <= 1000)))
);

ALTER TABLE billing.refund_requests OWNER TO starpass_owner;

-- Name: TABLE refund_requests; Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON TABLE billing.refund_requests IS 'Refunds an operator asked for, written before refundStarPayment is called; the purchase becomes REFUNDED when Telegram confirms.';

-- Name: refund_requests_refund_request_id_seq; Type: SEQUENCE; Schema: billing; Owner: starpass_owner

ALTER TABLE billing.refund_requests ALTER COLUMN refund_request_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME billing.refund_requests_refund_request_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: support_requests; Type: TABLE; Schema: billing; Owner: starpass_owner

CREATE TABLE billing.support_requests (
    support_request_id bigint NOT NULL,
    user_id bigint NOT NULL,
    message text NOT NULL,
    idempotency_key ops.idempotency_key NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT support_requests_message_check CHECK (((char_length(message) >= 1) AND (char_length(message) <= 2000)))
);

ALTER TABLE billing.support_requests OWNER TO starpass_owner;

-- Name: TABLE support_requests; Type: COMMENT; Schema: billing; Owner: starpass_owner

COMMENT ON TABLE billing.support_requests IS 'Payment support requests sent through the bot''s /paysupport; each raises the alert payments.support_request.';

-- Name: support_requests_support_request_id_seq; Type: SEQUENCE; Schema: billing; Owner: starpass_owner

ALTER TABLE billing.support_requests ALTER COLUMN support_request_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME billing.support_requests_support_request_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: telegram_updates; Type: TABLE; Schema: core; Owner: starpass_owner

CREATE TABLE core.telegram_updates (
    update_id bigint NOT NULL,
    received_at timestamp with time zone NOT NULL,
    handled_at timestamp with time zone,
    attempts integer DEFAULT 1 NOT NULL,
    claimed_at timestamp with time zone,
    CONSTRAINT telegram_updates_attempts_check CHECK ((attempts >= 1)),
    CONSTRAINT telegram_updates_update_id_check CHECK ((update_id >= 0))
);

ALTER TABLE core.telegram_updates OWNER TO starpass_owner;

-- Name: TABLE telegram_updates; Type: COMMENT; Schema: core; Owner: starpass_owner

COMMENT ON TABLE core.telegram_updates IS 'Updates the bot received (by Telegram''s update_id) and whether handling finished; a redelivery of a handled update is answered without acting again.';

-- Name: COLUMN telegram_updates.claimed_at; Type: COMMENT; Schema: core; Owner: starpass_owner

COMMENT ON COLUMN core.telegram_updates.claimed_at IS 'When the latest delivery that took the update claimed it; its lease runs core.telegram_update_lease from then (NULL: no delivery holds it).';

-- Name: users; Type: TABLE; Schema: core; Owner: starpass_owner

CREATE TABLE core.users (
    user_id bigint NOT NULL,
    username text,
    first_name text,
    language_code text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    terms_version text,
    terms_accepted_at timestamp with time zone,
    data_deleted_at timestamp with time zone,
    promo_blocked_until timestamp with time zone,
    promo_counting_after_attempt_id bigint,
    CONSTRAINT users_profile CHECK (core.is_user_profile(username, first_name, language_code, terms_version, terms_accepted_at)),
    CONSTRAINT users_user_id_check CHECK ((user_id > 0))
);

ALTER TABLE core.users OWNER TO starpass_owner;

-- Name: TABLE users; Type: COMMENT; Schema: core; Owner: starpass_owner

COMMENT ON TABLE core.users IS 'Telegram users, keyed by their Telegram user id.';

-- Name: COLUMN users.data_deleted_at; Type: COMMENT; Schema: core; Owner: starpass_owner

COMMENT ON COLUMN core.users.data_deleted_at IS 'When the user last asked for their data to be deleted: profile fields were cleared then; payments, ledger and audit are kept (retention duty). Using the bot again stores the profile Telegram sends anew.';

-- Name: COLUMN users.promo_blocked_until; Type: COMMENT; Schema: core; Owner: starpass_owner

COMMENT ON COLUMN core.users.promo_blocked_until IS 'Mirror of promo.user_throttle.blocked_until (trigger promo.mirror_throttle), so a redemption reads one row for the user.';

-- Name: COLUMN users.promo_counting_after_attempt_id; Type: COMMENT; Schema: core; Owner: starpass_owner

COMMENT ON COLUMN core.users.promo_counting_after_attempt_id IS 'Mirror of promo.user_throttle.counting_after_attempt_id (trigger promo.mirror_throttle).';

-- Name: alert_deliveries_delivery_id_seq; Type: SEQUENCE; Schema: ops; Owner: starpass_owner

ALTER TABLE ops.alert_deliveries ALTER COLUMN delivery_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.alert_deliveries_delivery_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: alert_floods; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.alert_floods (
    event text NOT NULL,
    window_start timestamp with time zone NOT NULL,
    routed integer NOT NULL,
    CONSTRAINT alert_floods_routed_check CHECK ((routed >= 0))
);

ALTER TABLE ops.alert_floods OWNER TO starpass_owner;

-- Name: TABLE alert_floods; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.alert_floods IS 'Flood control: per event, the start of its current repeat interval and how many alerts were routed in it.';

-- Name: alert_outbox; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.alert_outbox (
    alert_id bigint NOT NULL,
    event text NOT NULL,
    severity text NOT NULL,
    summary text NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    dedup_key text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    claimed_until timestamp with time zone,
    last_error text,
    delivered_at timestamp with time zone,
    dead_at timestamp with time zone,
    action text DEFAULT 'trigger'::text NOT NULL,
    resolves text,
    routed_at timestamp with time zone,
    CONSTRAINT alert_outbox_action_check CHECK ((action = ((action)::ops.alert_action)::text)),
    CONSTRAINT alert_outbox_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT alert_outbox_dedup_key_check CHECK (((char_length(dedup_key) >= 1) AND (char_length(dedup_key) <= 200))),
    CONSTRAINT alert_outbox_details_check CHECK ((jsonb_typeof(details) = 'object'::text)),
    CONSTRAINT alert_outbox_event_check CHECK ((event ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'::text)),
    CONSTRAINT alert_outbox_last_error_check CHECK ((char_length(last_error) <= 2000)),
    CONSTRAINT alert_outbox_resolve_names_trigger CHECK (((action = 'resolve'::text) = (resolves IS NOT NULL))),
    CONSTRAINT alert_outbox_resolves_check CHECK (((char_length(resolves) >= 1) AND (char_length(resolves) <= 200))),
    CONSTRAINT alert_outbox_severity_check CHECK ((severity = ((severity)::ops.alert_severity)::text)),
    CONSTRAINT alert_outbox_state_check CHECK ((state = ((state)::ops.alert_state)::text)),
    CONSTRAINT alert_outbox_state_fields CHECK (
CASE state
    WHEN 'pending'::text THEN ((delivered_at IS NULL) AND (dead_at IS NULL))
    WHEN 'delivered'::text THEN ((delivered_at IS NOT NULL) AND (dead_at IS NULL) AND (claimed_until IS NULL))
    WHEN 'dead'::text THEN ((dead_at IS NOT NULL) AND (delivered_at IS NULL) AND (claimed_until IS NULL))
    ELSE NULL::boolean
END),
    CONSTRAINT alert_outbox_summary_check CHECK (((char_length(summary) >= 1) AND (char_length(summary) <= 500)))
);

ALTER TABLE ops.alert_outbox OWNER TO starpass_owner;

-- Name: TABLE alert_outbox; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.alert_outbox IS 'Operational alerts, written in the transaction that caused them.';

-- Name: COLUMN alert_outbox.routed_at; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON COLUMN ops.alert_outbox.routed_at IS 'When a dispatcher routed the alert to its targets (ops.alert_deliveries); NULL: waiting to be routed.';

-- Name: alert_outbox_alert_id_seq; Type: SEQUENCE; Schema: ops; Owner: starpass_owner

ALTER TABLE ops.alert_outbox ALTER COLUMN alert_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.alert_outbox_alert_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: alert_targets; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.alert_targets (
    target text NOT NULL,
    provider text GENERATED ALWAYS AS (split_part(target, ':'::text, 1)) STORED,
    next_send_at timestamp with time zone DEFAULT '-infinity'::timestamp with time zone NOT NULL,
    busy_with bigint,
    busy_attempt integer,
    delivered bigint DEFAULT 0 NOT NULL,
    failed bigint DEFAULT 0 NOT NULL,
    dead bigint DEFAULT 0 NOT NULL,
    summaries bigint DEFAULT 0 NOT NULL,
    CONSTRAINT alert_targets_check CHECK (((busy_with IS NULL) = (busy_attempt IS NULL))),
    CONSTRAINT alert_targets_dead_check CHECK ((dead >= 0)),
    CONSTRAINT alert_targets_delivered_check CHECK ((delivered >= 0)),
    CONSTRAINT alert_targets_failed_check CHECK ((failed >= 0)),
    CONSTRAINT alert_targets_summaries_check CHECK ((summaries >= 0)),
    CONSTRAINT alert_targets_target_check CHECK ((target ~ '^(generic|slack|pagerduty)(:[A-Za-z0-9#._-]{1,80})?$'::text))
);

ALTER TABLE ops.alert_targets OWNER TO starpass_owner;

-- Name: TABLE alert_targets; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.alert_targets IS 'Alert targets by name: the send slot (one in flight, spaced by the provider''s interval) and delivery counters for /metrics.';

-- Name: audit_log; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.audit_log (
    audit_id bigint NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id text,
    reason text,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    db_role text DEFAULT SESSION_USER,
    CONSTRAINT audit_log_action_check CHECK ((action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'::text)),
    CONSTRAINT audit_log_actor_check CHECK (((char_length(actor) >= 1) AND (char_length(actor) <= 128))),
    CONSTRAINT audit_log_db_role_check CHECK (((char_length(db_role) >= 1) AND (char_length(db_role) <= 63))),
    CONSTRAINT audit_log_details_check CHECK ((jsonb_typeof(details) = 'object'::text)),
    CONSTRAINT audit_log_reason_check CHECK ((char_length(reason) <= 1000)),
    CONSTRAINT audit_log_target_id_check CHECK ((char_length(target_id) <= 128)),
    CONSTRAINT audit_log_target_type_check CHECK ((target_type ~ '^[a-z][a-z_]*$'::text))
);

ALTER TABLE ops.audit_log OWNER TO starpass_owner;

-- Name: TABLE audit_log; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.audit_log IS 'Who did what to which object, when and why. Append-only.';

-- Name: COLUMN audit_log.db_role; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON COLUMN ops.audit_log.db_role IS 'The login role of the session (session_user) that wrote the row: which surface acted; actor is who the caller says acted.';

-- Name: audit_log_audit_id_seq; Type: SEQUENCE; Schema: ops; Owner: starpass_owner

ALTER TABLE ops.audit_log ALTER COLUMN audit_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.audit_log_audit_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: clock; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.clock (
    singleton boolean DEFAULT true NOT NULL,
    frozen_at timestamp with time zone,
    shift interval DEFAULT '00:00:00'::interval NOT NULL,
    CONSTRAINT clock_singleton_check CHECK (singleton)
);

ALTER TABLE ops.clock OWNER TO starpass_owner;

-- Name: TABLE clock; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.clock IS 'Test clock: ops.now() = coalesce(frozen_at, now()) + shift. Leave NULL/0 in production.';

-- Name: idempotency_keys; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.idempotency_keys (
    scope text NOT NULL,
    idempotency_key ops.idempotency_key NOT NULL,
    request_hash bytea NOT NULL,
    result jsonb NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT idempotency_keys_request_hash_check CHECK ((octet_length(request_hash) = 32)),
    CONSTRAINT idempotency_keys_scope_check CHECK ((scope = ((scope)::ops.idempotency_scope)::text))
);

ALTER TABLE ops.idempotency_keys OWNER TO starpass_owner;

-- Name: TABLE idempotency_keys; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.idempotency_keys IS 'The first answer to each idempotency key per scope, bound to a hash of its request''s arguments (ops.find_idempotent, ops.save_idempotent).';

-- Name: job_runs; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.job_runs (
    job_run_id bigint NOT NULL,
    job_name text NOT NULL,
    actor text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    status text NOT NULL,
    result integer,
    error text,
    CONSTRAINT job_runs_actor_check CHECK (((char_length(actor) >= 1) AND (char_length(actor) <= 128))),
    CONSTRAINT job_runs_check CHECK ((finished_at >= started_at)),
    CONSTRAINT job_runs_check1 CHECK (((status = 'succeeded'::text) = ((result IS NOT NULL) AND (error IS NULL)))),
    CONSTRAINT job_runs_error_check CHECK ((char_length(error) <= 1000)),
    CONSTRAINT job_runs_job_name_check CHECK ((job_name ~ '^[a-z][a-z0-9_]*$'::text)),
    CONSTRAINT job_runs_status_check CHECK ((status = ANY (ARRAY['succeeded'::text, 'failed'::text])))
);

ALTER TABLE ops.job_runs OWNER TO starpass_owner;

-- Name: TABLE job_runs; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.job_runs IS 'Jobs run by hand (`starpass jobs run`): who, when, the outcome and the count the job returned. pg_cron''s own runs are in cron.job_run_details.';

-- Name: job_runs_job_run_id_seq; Type: SEQUENCE; Schema: ops; Owner: starpass_owner

ALTER TABLE ops.job_runs ALTER COLUMN job_run_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ops.job_runs_job_run_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: jobs; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.jobs (
    job_name text NOT NULL,
    cron_name text NOT NULL,
    schedule text NOT NULL,
    command text NOT NULL,
    every interval NOT NULL,
    installed_at timestamp with time zone NOT NULL,
    CONSTRAINT jobs_every_check CHECK ((every > '00:00:00'::interval)),
    CONSTRAINT jobs_job_name_check CHECK ((job_name ~ '^[a-z][a-z0-9_]*$'::text))
);

ALTER TABLE ops.jobs OWNER TO starpass_owner;

-- Name: TABLE jobs; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.jobs IS 'Jobs scheduled on pg_cron by `starpass jobs install`, with the interval they should run at.';

-- Name: prune_cursors; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.prune_cursors (
    name text NOT NULL,
    scanned_to bigint NOT NULL,
    CONSTRAINT prune_cursors_name_check CHECK ((name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'::text)),
    CONSTRAINT prune_cursors_scanned_to_check CHECK ((scanned_to >= 0))
);

ALTER TABLE ops.prune_cursors OWNER TO starpass_owner;

-- Name: TABLE prune_cursors; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.prune_cursors IS 'api.prune_history''s progress through tables it scans in key order (promo.promo_attempts).';

-- Name: settings; Type: TABLE; Schema: ops; Owner: starpass_owner

CREATE TABLE ops.settings (
    key text NOT NULL,
    value_type text NOT NULL,
    value text NOT NULL,
    default_value text NOT NULL,
    description text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_by text DEFAULT 'migration'::text NOT NULL,
    CONSTRAINT settings_default_has_type CHECK (ops.is_valid_setting_value(value_type, default_value)),
    CONSTRAINT settings_description_check CHECK (((char_length(description) >= 10) AND (char_length(description) <= 500))),
    CONSTRAINT settings_key_check CHECK ((key ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'::text)),
    CONSTRAINT settings_value_has_type CHECK (ops.is_valid_setting_value(value_type, value)),
    CONSTRAINT settings_value_type_check CHECK ((value_type = ANY (ARRAY['integer'::text, 'interval'::text, 'boolean'::text, 'text'::text, 'timestamptz'::text])))
);

ALTER TABLE ops.settings OWNER TO starpass_owner;

-- Name: TABLE settings; Type: COMMENT; Schema: ops; Owner: starpass_owner

COMMENT ON TABLE ops.settings IS 'Every tunable, typed, with its documented default.';

-- Name: capacity_slots; Type: TABLE; Schema: promo; Owner: starpass_owner

CREATE TABLE promo.capacity_slots (
    promo_code_id bigint NOT NULL,
    slot_no smallint NOT NULL,
    capacity integer,
    used integer DEFAULT 0 NOT NULL,
    held integer DEFAULT 0 NOT NULL,
    CONSTRAINT capacity_slots_state CHECK (promo.is_slot_state(slot_no, capacity, used, held))
)
WITH (fillfactor='50');

ALTER TABLE promo.capacity_slots OWNER TO starpass_owner;

-- Name: TABLE capacity_slots; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON TABLE promo.capacity_slots IS 'Capacity of a campaign in slots; used + held <= capacity per slot; sum(capacity) = max_uses; sum(used) = used_total.';

-- Name: promo_attempts; Type: TABLE; Schema: promo; Owner: starpass_owner

CREATE TABLE promo.promo_attempts (
    attempt_id bigint DEFAULT nextval('ops.row_ids'::regclass) NOT NULL,
    user_id bigint NOT NULL,
    idempotency_key ops.idempotency_key NOT NULL,
    request_hash bytea NOT NULL,
    outcome text NOT NULL,
    promo_code_id bigint,
    promo_redemption_id bigint,
    replayed boolean DEFAULT false NOT NULL,
    counted boolean DEFAULT false NOT NULL,
    binding boolean GENERATED ALWAYS AS (((NOT replayed) AND (outcome <> ALL (ARRAY['THROTTLED'::text, 'IDEMPOTENCY_CONFLICT'::text])))) STORED,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT promo_attempts_outcome_check CHECK ((outcome = ((outcome)::promo.redeem_outcome)::text)),
    CONSTRAINT promo_attempts_record CHECK (promo.is_attempt_record(counted, replayed, outcome, request_hash))
);

ALTER TABLE promo.promo_attempts OWNER TO starpass_owner;

-- Name: TABLE promo_attempts; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON TABLE promo.promo_attempts IS 'Every redemption attempt (never the code). binding marks the attempt that first answered its key (the answer is in ops.idempotency_keys); counted rows feed the throttle.';

-- Name: promo_codes_promo_code_id_seq; Type: SEQUENCE; Schema: promo; Owner: starpass_owner

ALTER TABLE promo.promo_codes ALTER COLUMN promo_code_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME promo.promo_codes_promo_code_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: rollback_requests; Type: TABLE; Schema: promo; Owner: starpass_owner

CREATE TABLE promo.rollback_requests (
    idempotency_key ops.idempotency_key NOT NULL,
    purchase_id bigint NOT NULL,
    actor text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT rollback_requests_actor_check CHECK (((char_length(actor) >= 1) AND (char_length(actor) <= 128)))
);

ALTER TABLE promo.rollback_requests OWNER TO starpass_owner;

-- Name: TABLE rollback_requests; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON TABLE promo.rollback_requests IS 'Who asked api.rollback_refunded_promo for which purchase, by idempotency key (the answer is in ops.idempotency_keys).';

-- Name: user_throttle; Type: TABLE; Schema: promo; Owner: starpass_owner

CREATE TABLE promo.user_throttle (
    user_id bigint NOT NULL,
    blocked_until timestamp with time zone,
    blocked_at timestamp with time zone,
    counting_since timestamp with time zone,
    updated_at timestamp with time zone NOT NULL,
    counting_after_attempt_id bigint,
    CONSTRAINT user_throttle_check CHECK (((blocked_until IS NULL) = (blocked_at IS NULL)))
);

ALTER TABLE promo.user_throttle OWNER TO starpass_owner;

-- Name: TABLE user_throttle; Type: COMMENT; Schema: promo; Owner: starpass_owner

COMMENT ON TABLE promo.user_throttle IS 'Per-user throttle state; the failures themselves are the counted rows of promo.promo_attempts.';

-- Name: codes; Type: TABLE; Schema: referral; Owner: starpass_owner

CREATE TABLE referral.codes (
    user_id bigint NOT NULL,
    code text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT codes_code_check CHECK ((code ~ '^[A-Z2-9]{10}$'::text))
);

ALTER TABLE referral.codes OWNER TO starpass_owner;

-- Name: TABLE codes; Type: COMMENT; Schema: referral; Owner: starpass_owner

COMMENT ON TABLE referral.codes IS 'Each user''s public referral code: random, never derived from the Telegram id.';

-- Name: referrals; Type: TABLE; Schema: referral; Owner: starpass_owner

CREATE TABLE referral.referrals (
    referee_user_id bigint NOT NULL,
    referrer_user_id bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT referrals_check CHECK ((referee_user_id <> referrer_user_id))
);

ALTER TABLE referral.referrals OWNER TO starpass_owner;

-- Name: TABLE referrals; Type: COMMENT; Schema: referral; Owner: starpass_owner

COMMENT ON TABLE referral.referrals IS 'Who referred whom: one referrer per user, the first valid registration wins.';

-- Name: rewards_referral_reward_id_seq; Type: SEQUENCE; Schema: referral; Owner: starpass_owner

ALTER TABLE referral.rewards ALTER COLUMN referral_reward_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME referral.rewards_referral_reward_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: entitlements entitlements_pkey; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.entitlements
    ADD CONSTRAINT entitlements_pkey PRIMARY KEY (user_id);

-- Name: ledger ledger_once_per_cause; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.ledger
    ADD CONSTRAINT ledger_once_per_cause UNIQUE (kind, ref_type, ref_id);

-- Name: ledger ledger_pkey; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.ledger
    ADD CONSTRAINT ledger_pkey PRIMARY KEY (ledger_id);

-- Name: payments payments_pkey; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.payments
    ADD CONSTRAINT payments_pkey PRIMARY KEY (payment_id);

-- Name: payments payments_telegram_payment_charge_id_key; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.payments
    ADD CONSTRAINT payments_telegram_payment_charge_id_key UNIQUE (telegram_payment_charge_id);

-- Name: plans plans_pkey; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.plans
    ADD CONSTRAINT plans_pkey PRIMARY KEY (plan_code);

-- Name: purchases purchases_idempotency_key_key; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.purchases
    ADD CONSTRAINT purchases_idempotency_key_key UNIQUE (idempotency_key);

-- Name: purchases purchases_invoice_payload_key; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.purchases
    ADD CONSTRAINT purchases_invoice_payload_key UNIQUE (invoice_payload);

-- Name: purchases purchases_pkey; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.purchases
    ADD CONSTRAINT purchases_pkey PRIMARY KEY (purchase_id);

-- Name: purchases purchases_telegram_payment_charge_id_key; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.purchases
    ADD CONSTRAINT purchases_telegram_payment_charge_id_key UNIQUE (telegram_payment_charge_id);

-- Name: refund_requests refund_requests_pkey; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.refund_requests
    ADD CONSTRAINT refund_requests_pkey PRIMARY KEY (refund_request_id);

-- Name: support_requests support_requests_idempotency_key_key; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.support_requests
    ADD CONSTRAINT support_requests_idempotency_key_key UNIQUE (idempotency_key);

-- Name: support_requests support_requests_pkey; Type: CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.support_requests
    ADD CONSTRAINT support_requests_pkey PRIMARY KEY (support_request_id);

-- Name: telegram_updates telegram_updates_pkey; Type: CONSTRAINT; Schema: core; Owner: starpass_owner

ALTER TABLE ONLY core.telegram_updates
    ADD CONSTRAINT telegram_updates_pkey PRIMARY KEY (update_id);

-- Name: users users_pkey; Type: CONSTRAINT; Schema: core; Owner: starpass_owner

ALTER TABLE ONLY core.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (user_id);

-- Name: alert_deliveries alert_deliveries_alert_id_target_key; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.alert_deliveries
    ADD CONSTRAINT alert_deliveries_alert_id_target_key UNIQUE (alert_id, target);

-- Name: alert_deliveries alert_deliveries_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.alert_deliveries
    ADD CONSTRAINT alert_deliveries_pkey PRIMARY KEY (delivery_id);

-- Name: alert_floods alert_floods_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.alert_floods
    ADD CONSTRAINT alert_floods_pkey PRIMARY KEY (event);

-- Name: alert_outbox alert_outbox_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.alert_outbox
    ADD CONSTRAINT alert_outbox_pkey PRIMARY KEY (alert_id);

-- Name: alert_targets alert_targets_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.alert_targets
    ADD CONSTRAINT alert_targets_pkey PRIMARY KEY (target);

-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (audit_id);

-- Name: clock clock_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.clock
    ADD CONSTRAINT clock_pkey PRIMARY KEY (singleton);

-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, idempotency_key);

-- Name: job_runs job_runs_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.job_runs
    ADD CONSTRAINT job_runs_pkey PRIMARY KEY (job_run_id);

-- Name: jobs jobs_cron_name_key; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.jobs
    ADD CONSTRAINT jobs_cron_name_key UNIQUE (cron_name);

-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (job_name);

-- Name: prune_cursors prune_cursors_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.prune_cursors
    ADD CONSTRAINT prune_cursors_pkey PRIMARY KEY (name);

-- Name: settings settings_pkey; Type: CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (key);

-- Name: capacity_slots capacity_slots_pkey; Type: CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.capacity_slots
    ADD CONSTRAINT capacity_slots_pkey PRIMARY KEY (promo_code_id, slot_no);

-- Name: promo_attempts promo_attempts_pkey; Type: CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.promo_attempts
    ADD CONSTRAINT promo_attempts_pkey PRIMARY KEY (attempt_id);

-- Name: promo_codes promo_codes_code_hash_key; Type: CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.promo_codes
    ADD CONSTRAINT promo_codes_code_hash_key UNIQUE (code_hash);

-- Name: promo_codes promo_codes_pkey; Type: CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.promo_codes
    ADD CONSTRAINT promo_codes_pkey PRIMARY KEY (promo_code_id);

-- Name: promo_redemptions promo_redemptions_pkey; Type: CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.promo_redemptions
    ADD CONSTRAINT promo_redemptions_pkey PRIMARY KEY (promo_redemption_id);

-- Name: rollback_requests rollback_requests_pkey; Type: CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.rollback_requests
    ADD CONSTRAINT rollback_requests_pkey PRIMARY KEY (idempotency_key);

-- Name: user_throttle user_throttle_pkey; Type: CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.user_throttle
    ADD CONSTRAINT user_throttle_pkey PRIMARY KEY (user_id);

-- Name: codes codes_code_key; Type: CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.codes
    ADD CONSTRAINT codes_code_key UNIQUE (code);

-- Name: codes codes_pkey; Type: CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.codes
    ADD CONSTRAINT codes_pkey PRIMARY KEY (user_id);

-- Name: referrals referrals_pkey; Type: CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.referrals
    ADD CONSTRAINT referrals_pkey PRIMARY KEY (referee_user_id);

-- Name: rewards rewards_pkey; Type: CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.rewards
    ADD CONSTRAINT rewards_pkey PRIMARY KEY (referral_reward_id);

-- Name: rewards rewards_purchase_id_key; Type: CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.rewards
    ADD CONSTRAINT rewards_purchase_id_key UNIQUE (purchase_id);

-- Name: rewards rewards_referee_user_id_key; Type: CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.rewards
    ADD CONSTRAINT rewards_referee_user_id_key UNIQUE (referee_user_id);

-- Name: ledger_user_idx; Type: INDEX; Schema: billing; Owner: starpass_owner

CREATE INDEX ledger_user_idx ON billing.ledger USING btree (user_id, ledger_id);

-- Name: purchases_open_redemption_idx; Type: INDEX; Schema: billing; Owner: starpass_owner

CREATE UNIQUE INDEX purchases_open_redemption_idx ON billing.purchases USING btree (promo_redemption_id) WHERE (status = ANY (ARRAY['INIT'::text, 'PRECHECKOUT_OK'::text]));

-- Name: purchases_paid_redemption_idx; Type: INDEX; Schema: billing; Owner: starpass_owner

CREATE UNIQUE INDEX purchases_paid_redemption_idx ON billing.purchases USING btree (promo_redemption_id) WHERE (status = ANY (ARRAY['PAID'::text, 'REFUNDED'::text]));

-- Name: purchases_user_idx; Type: INDEX; Schema: billing; Owner: starpass_owner

CREATE INDEX purchases_user_idx ON billing.purchases USING btree (user_id, status);

-- Name: refund_requests_purchase_idx; Type: INDEX; Schema: billing; Owner: starpass_owner

CREATE INDEX refund_requests_purchase_idx ON billing.refund_requests USING btree (purchase_id);

-- Name: support_requests_user_idx; Type: INDEX; Schema: billing; Owner: starpass_owner

CREATE INDEX support_requests_user_idx ON billing.support_requests USING btree (user_id, created_at);

-- Name: telegram_updates_received_idx; Type: INDEX; Schema: core; Owner: starpass_owner

CREATE INDEX telegram_updates_received_idx ON core.telegram_updates USING btree (received_at);

-- Name: alert_deliveries_due_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX alert_deliveries_due_idx ON ops.alert_deliveries USING btree (target, next_attempt_at) WHERE ((state = 'pending'::text) AND (summary_id IS NULL));

-- Name: alert_deliveries_fallback_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX alert_deliveries_fallback_idx ON ops.alert_deliveries USING btree (fallback_for) WHERE (fallback_for IS NOT NULL);

-- Name: alert_deliveries_pending_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX alert_deliveries_pending_idx ON ops.alert_deliveries USING btree (target) WHERE (state = 'pending'::text);

-- Name: alert_deliveries_summary_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX alert_deliveries_summary_idx ON ops.alert_deliveries USING btree (summary_id) WHERE (summary_id IS NOT NULL);

-- Name: alert_deliveries_trigger_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX alert_deliveries_trigger_idx ON ops.alert_deliveries USING btree (target, dedup_key) WHERE ((state = 'pending'::text) AND (action = 'trigger'::text));

-- Name: alert_outbox_dedup_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX alert_outbox_dedup_idx ON ops.alert_outbox USING btree (dedup_key, created_at);

-- Name: alert_outbox_delivered_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX alert_outbox_delivered_idx ON ops.alert_outbox USING btree (delivered_at) WHERE (state = 'delivered'::text);

-- Name: alert_outbox_pending_dedup_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE UNIQUE INDEX alert_outbox_pending_dedup_idx ON ops.alert_outbox USING btree (dedup_key) WHERE (state = 'pending'::text);

-- Name: alert_outbox_resolves_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX alert_outbox_resolves_idx ON ops.alert_outbox USING btree (resolves) WHERE (action = 'resolve'::text);

-- Name: alert_outbox_trigger_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX alert_outbox_trigger_idx ON ops.alert_outbox USING btree (event, alert_id) WHERE (action = 'trigger'::text);

-- Name: alert_outbox_unrouted_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX alert_outbox_unrouted_idx ON ops.alert_outbox USING btree (next_attempt_at) WHERE ((state = 'pending'::text) AND (routed_at IS NULL));

-- Name: audit_log_actor_at_id_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX audit_log_actor_at_id_idx ON ops.audit_log USING btree (actor, occurred_at, audit_id);

-- Name: audit_log_occurred_at_id_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX audit_log_occurred_at_id_idx ON ops.audit_log USING btree (occurred_at, audit_id);

-- Name: audit_log_target_at_id_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX audit_log_target_at_id_idx ON ops.audit_log USING btree (target_type, target_id, occurred_at, audit_id);

-- Name: job_runs_job_name_idx; Type: INDEX; Schema: ops; Owner: starpass_owner

CREATE INDEX job_runs_job_name_idx ON ops.job_runs USING btree (job_name, job_run_id);

-- Name: promo_attempts_campaign_refused_idx; Type: INDEX; Schema: promo; Owner: starpass_owner

CREATE INDEX promo_attempts_campaign_refused_idx ON promo.promo_attempts USING btree (promo_code_id, created_at) WHERE (counted AND (promo_code_id IS NOT NULL));

-- Name: promo_attempts_counted_idx; Type: INDEX; Schema: promo; Owner: starpass_owner

CREATE INDEX promo_attempts_counted_idx ON promo.promo_attempts USING btree (user_id, created_at) WHERE counted;

-- Name: promo_attempts_not_found_idx; Type: INDEX; Schema: promo; Owner: starpass_owner

CREATE INDEX promo_attempts_not_found_idx ON promo.promo_attempts USING btree (created_at) WHERE (outcome = 'NOT_FOUND'::text);

-- Name: promo_codes_internal_key; Type: INDEX; Schema: promo; Owner: starpass_owner

CREATE UNIQUE INDEX promo_codes_internal_key ON promo.promo_codes USING btree (internal) WHERE internal;

-- Name: promo_codes_live_pepper_idx; Type: INDEX; Schema: promo; Owner: starpass_owner

CREATE INDEX promo_codes_live_pepper_idx ON promo.promo_codes USING btree (pepper_id) WHERE (status = ANY (ARRAY['ACTIVE'::text, 'PAUSED'::text]));

-- Name: promo_codes_prefix_idx; Type: INDEX; Schema: promo; Owner: starpass_owner

CREATE INDEX promo_codes_prefix_idx ON promo.promo_codes USING btree (prefix, ((status = 'ACTIVE'::text)), promo_code_id) WHERE (prefix IS NOT NULL);

-- Name: promo_codes_status_idx; Type: INDEX; Schema: promo; Owner: starpass_owner

CREATE INDEX promo_codes_status_idx ON promo.promo_codes USING btree (status, promo_code_id);

-- Name: promo_redemptions_reserved_until_idx; Type: INDEX; Schema: promo; Owner: starpass_owner

CREATE INDEX promo_redemptions_reserved_until_idx ON promo.promo_redemptions USING btree (reserved_until) WHERE (status = 'RESERVED'::text);

-- Name: promo_redemptions_user_idx; Type: INDEX; Schema: promo; Owner: starpass_owner

CREATE INDEX promo_redemptions_user_idx ON promo.promo_redemptions USING btree (promo_code_id, user_id);

-- Name: referrals_referrer_idx; Type: INDEX; Schema: referral; Owner: starpass_owner

CREATE INDEX referrals_referrer_idx ON referral.referrals USING btree (referrer_user_id);

-- Name: rewards_referrer_idx; Type: INDEX; Schema: referral; Owner: starpass_owner

CREATE INDEX rewards_referrer_idx ON referral.rewards USING btree (referrer_user_id);

-- Name: ledger ledger_append_only; Type: TRIGGER; Schema: billing; Owner: starpass_owner

CREATE TRIGGER ledger_append_only BEFORE DELETE OR UPDATE ON billing.ledger FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();

-- Name: ledger ledger_no_truncate; Type: TRIGGER; Schema: billing; Owner: starpass_owner

CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON billing.ledger FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_mutation();

-- Name: payments payments_append_only; Type: TRIGGER; Schema: billing; Owner: starpass_owner

CREATE TRIGGER payments_append_only BEFORE DELETE OR UPDATE ON billing.payments FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();

-- Name: payments payments_no_truncate; Type: TRIGGER; Schema: billing; Owner: starpass_owner

CREATE TRIGGER payments_no_truncate BEFORE TRUNCATE ON billing.payments FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_mutation();

-- Name: purchases purchases_guard; Type: TRIGGER; Schema: billing; Owner: starpass_owner

CREATE TRIGGER purchases_guard BEFORE UPDATE ON billing.purchases FOR EACH ROW EXECUTE FUNCTION billing.guard_purchase_change();

-- Name: alert_outbox alert_outbox_notify; Type: TRIGGER; Schema: ops; Owner: starpass_owner

CREATE TRIGGER alert_outbox_notify AFTER INSERT ON ops.alert_outbox FOR EACH ROW EXECUTE FUNCTION ops.notify_alert();

-- Name: audit_log audit_log_append_only; Type: TRIGGER; Schema: ops; Owner: starpass_owner

CREATE TRIGGER audit_log_append_only BEFORE DELETE OR UPDATE ON ops.audit_log FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();

-- Name: audit_log audit_log_no_truncate; Type: TRIGGER; Schema: ops; Owner: starpass_owner

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON ops.audit_log FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_mutation();

-- Name: clock clock_guard; Type: TRIGGER; Schema: ops; Owner: starpass_owner

CREATE TRIGGER clock_guard BEFORE UPDATE ON ops.clock FOR EACH ROW WHEN (((new.frozen_at IS NOT NULL) OR (new.shift <> '00:00:00'::interval))) EXECUTE FUNCTION ops.guard_test_clock();

-- Name: idempotency_keys idempotency_keys_append_only; Type: TRIGGER; Schema: ops; Owner: starpass_owner

CREATE TRIGGER idempotency_keys_append_only BEFORE DELETE OR UPDATE ON ops.idempotency_keys FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();

-- Name: idempotency_keys idempotency_keys_no_truncate; Type: TRIGGER; Schema: ops; Owner: starpass_owner

CREATE TRIGGER idempotency_keys_no_truncate BEFORE TRUNCATE ON ops.idempotency_keys FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_mutation();

-- Name: job_runs job_runs_append_only; Type: TRIGGER; Schema: ops; Owner: starpass_owner

CREATE TRIGGER job_runs_append_only BEFORE UPDATE ON ops.job_runs FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();

-- Name: job_runs job_runs_retention; Type: TRIGGER; Schema: ops; Owner: starpass_owner

CREATE TRIGGER job_runs_retention AFTER DELETE ON ops.job_runs REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ops.guard_job_run_delete();

-- Name: promo_attempts promo_attempts_append_only; Type: TRIGGER; Schema: promo; Owner: starpass_owner

CREATE TRIGGER promo_attempts_append_only BEFORE UPDATE ON promo.promo_attempts FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();

-- Name: promo_attempts promo_attempts_no_truncate; Type: TRIGGER; Schema: promo; Owner: starpass_owner

CREATE TRIGGER promo_attempts_no_truncate BEFORE TRUNCATE ON promo.promo_attempts FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_mutation();

-- Name: promo_attempts promo_attempts_retention; Type: TRIGGER; Schema: promo; Owner: starpass_owner

CREATE TRIGGER promo_attempts_retention AFTER DELETE ON promo.promo_attempts REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION promo.guard_attempt_delete();

-- Name: promo_redemptions promo_redemptions_book_capacity; Type: TRIGGER; Schema: promo; Owner: starpass_owner

CREATE TRIGGER promo_redemptions_book_capacity AFTER INSERT ON promo.promo_redemptions FOR EACH ROW EXECUTE FUNCTION promo.book_capacity();

-- Name: promo_redemptions promo_redemptions_book_capacity_changes; Type: TRIGGER; Schema: promo; Owner: starpass_owner

CREATE TRIGGER promo_redemptions_book_capacity_changes AFTER UPDATE ON promo.promo_redemptions REFERENCING OLD TABLE AS old_redemptions NEW TABLE AS new_redemptions FOR EACH STATEMENT EXECUTE FUNCTION promo.book_capacity_changes();

-- Name: promo_redemptions promo_redemptions_guard; Type: TRIGGER; Schema: promo; Owner: starpass_owner

CREATE TRIGGER promo_redemptions_guard BEFORE UPDATE ON promo.promo_redemptions FOR EACH ROW EXECUTE FUNCTION promo.guard_redemption_change();

-- Name: user_throttle user_throttle_mirror; Type: TRIGGER; Schema: promo; Owner: starpass_owner

CREATE TRIGGER user_throttle_mirror AFTER INSERT OR DELETE OR UPDATE OF blocked_until, counting_after_attempt_id ON promo.user_throttle FOR EACH ROW EXECUTE FUNCTION promo.mirror_throttle();

-- Name: entitlements entitlements_user_id_fkey; Type: FK CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.entitlements
    ADD CONSTRAINT entitlements_user_id_fkey FOREIGN KEY (user_id) REFERENCES core.users(user_id);

-- Name: ledger ledger_user_id_fkey; Type: FK CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.ledger
    ADD CONSTRAINT ledger_user_id_fkey FOREIGN KEY (user_id) REFERENCES core.users(user_id);

-- Name: payments payments_purchase_id_fkey; Type: FK CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.payments
    ADD CONSTRAINT payments_purchase_id_fkey FOREIGN KEY (purchase_id) REFERENCES billing.purchases(purchase_id);

-- Name: purchases purchases_plan_code_fkey; Type: FK CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.purchases
    ADD CONSTRAINT purchases_plan_code_fkey FOREIGN KEY (plan_code) REFERENCES billing.plans(plan_code);

-- Name: purchases purchases_promo_redemption_id_fkey; Type: FK CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.purchases
    ADD CONSTRAINT purchases_promo_redemption_id_fkey FOREIGN KEY (promo_redemption_id) REFERENCES promo.promo_redemptions(promo_redemption_id);

-- Name: purchases purchases_user_id_fkey; Type: FK CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.purchases
    ADD CONSTRAINT purchases_user_id_fkey FOREIGN KEY (user_id) REFERENCES core.users(user_id);

-- Name: refund_requests refund_requests_purchase_id_fkey; Type: FK CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.refund_requests
    ADD CONSTRAINT refund_requests_purchase_id_fkey FOREIGN KEY (purchase_id) REFERENCES billing.purchases(purchase_id);

-- Name: support_requests support_requests_user_id_fkey; Type: FK CONSTRAINT; Schema: billing; Owner: starpass_owner

ALTER TABLE ONLY billing.support_requests
    ADD CONSTRAINT support_requests_user_id_fkey FOREIGN KEY (user_id) REFERENCES core.users(user_id);

-- Name: alert_deliveries alert_deliveries_alert_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.alert_deliveries
    ADD CONSTRAINT alert_deliveries_alert_id_fkey FOREIGN KEY (alert_id) REFERENCES ops.alert_outbox(alert_id);

-- Name: alert_deliveries alert_deliveries_fallback_for_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.alert_deliveries
    ADD CONSTRAINT alert_deliveries_fallback_for_fkey FOREIGN KEY (fallback_for) REFERENCES ops.alert_deliveries(delivery_id);

-- Name: alert_deliveries alert_deliveries_summary_id_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.alert_deliveries
    ADD CONSTRAINT alert_deliveries_summary_id_fkey FOREIGN KEY (summary_id) REFERENCES ops.alert_deliveries(delivery_id);

-- Name: alert_deliveries alert_deliveries_target_fkey; Type: FK CONSTRAINT; Schema: ops; Owner: starpass_owner

ALTER TABLE ONLY ops.alert_deliveries
    ADD CONSTRAINT alert_deliveries_target_fkey FOREIGN KEY (target) REFERENCES ops.alert_targets(target);

-- Name: capacity_slots capacity_slots_promo_code_id_fkey; Type: FK CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.capacity_slots
    ADD CONSTRAINT capacity_slots_promo_code_id_fkey FOREIGN KEY (promo_code_id) REFERENCES promo.promo_codes(promo_code_id);

-- Name: promo_redemptions promo_redemptions_promo_code_id_slot_no_fkey; Type: FK CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.promo_redemptions
    ADD CONSTRAINT promo_redemptions_promo_code_id_slot_no_fkey FOREIGN KEY (promo_code_id, slot_no) REFERENCES promo.capacity_slots(promo_code_id, slot_no);

-- Name: promo_redemptions promo_redemptions_user_id_fkey; Type: FK CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.promo_redemptions
    ADD CONSTRAINT promo_redemptions_user_id_fkey FOREIGN KEY (user_id) REFERENCES core.users(user_id);

-- Name: rollback_requests rollback_requests_purchase_id_fkey; Type: FK CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.rollback_requests
    ADD CONSTRAINT rollback_requests_purchase_id_fkey FOREIGN KEY (purchase_id) REFERENCES billing.purchases(purchase_id);

-- Name: user_throttle user_throttle_user_id_fkey; Type: FK CONSTRAINT; Schema: promo; Owner: starpass_owner

ALTER TABLE ONLY promo.user_throttle
    ADD CONSTRAINT user_throttle_user_id_fkey FOREIGN KEY (user_id) REFERENCES core.users(user_id);

-- Name: codes codes_user_id_fkey; Type: FK CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.codes
    ADD CONSTRAINT codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES core.users(user_id);

-- Name: referrals referrals_referee_user_id_fkey; Type: FK CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.referrals
    ADD CONSTRAINT referrals_referee_user_id_fkey FOREIGN KEY (referee_user_id) REFERENCES core.users(user_id);

-- Name: referrals referrals_referrer_user_id_fkey; Type: FK CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.referrals
    ADD CONSTRAINT referrals_referrer_user_id_fkey FOREIGN KEY (referrer_user_id) REFERENCES core.users(user_id);

-- Name: rewards rewards_promo_redemption_id_fkey; Type: FK CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.rewards
    ADD CONSTRAINT rewards_promo_redemption_id_fkey FOREIGN KEY (promo_redemption_id) REFERENCES promo.promo_redemptions(promo_redemption_id);

-- Name: rewards rewards_purchase_id_fkey; Type: FK CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.rewards
    ADD CONSTRAINT rewards_purchase_id_fkey FOREIGN KEY (purchase_id) REFERENCES billing.purchases(purchase_id);

-- Name: rewards rewards_referee_user_id_fkey; Type: FK CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.rewards
    ADD CONSTRAINT rewards_referee_user_id_fkey FOREIGN KEY (referee_user_id) REFERENCES referral.referrals(referee_user_id);

-- Name: rewards rewards_referrer_user_id_fkey; Type: FK CONSTRAINT; Schema: referral; Owner: starpass_owner

ALTER TABLE ONLY referral.rewards
    ADD CONSTRAINT rewards_referrer_user_id_fkey FOREIGN KEY (referrer_user_id) REFERENCES core.users(user_id);

-- Name: SCHEMA api; Type: ACL; Schema: -; Owner: starpass_owner

GRANT USAGE ON SCHEMA api TO starpass_app;
GRANT USAGE ON SCHEMA api TO starpass_admin;
GRANT USAGE ON SCHEMA api TO starpass_jobs;
GRANT USAGE ON SCHEMA api TO starpass_alerts;

-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: pg_database_owner

REVOKE USAGE ON SCHEMA public FROM PUBLIC;

-- Name: FUNCTION is_idempotency_key(p_key text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.is_idempotency_key(p_key text) FROM PUBLIC;

-- Name: FUNCTION accept_terms(p_user_id bigint, p_terms_version text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.accept_terms(p_user_id bigint, p_terms_version text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.accept_terms(p_user_id bigint, p_terms_version text) TO starpass_app;

-- Name: FUNCTION ack_alert_delivery(p_delivery_id bigint, p_attempt integer); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.ack_alert_delivery(p_delivery_id bigint, p_attempt integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.ack_alert_delivery(p_delivery_id bigint, p_attempt integer) TO starpass_alerts;

-- Name: FUNCTION adjust_premium_days(p_user_id bigint, p_days integer, p_actor text, p_reason text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.adjust_premium_days(p_user_id bigint, p_days integer, p_actor text, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.adjust_premium_days(p_user_id bigint, p_days integer, p_actor text, p_reason text) TO starpass_admin;

-- Name: FUNCTION block_promo_user(p_user_id bigint, p_until timestamp with time zone, p_actor text, p_reason text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.block_promo_user(p_user_id bigint, p_until timestamp with time zone, p_actor text, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.block_promo_user(p_user_id bigint, p_until timestamp with time zone, p_actor text, p_reason text) TO starpass_admin;

-- Name: FUNCTION cancel_abandoned_purchases(p_limit integer); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.cancel_abandoned_purchases(p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.cancel_abandoned_purchases(p_limit integer) TO starpass_jobs;

-- Name: FUNCTION check_invariants(); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.check_invariants() FROM PUBLIC;
GRANT ALL ON FUNCTION api.check_invariants() TO starpass_admin;

-- Name: FUNCTION check_job_health(); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.check_job_health() FROM PUBLIC;
GRANT ALL ON FUNCTION api.check_job_health() TO starpass_jobs;

-- Name: FUNCTION check_pepper(); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.check_pepper() FROM PUBLIC;
GRANT ALL ON FUNCTION api.check_pepper() TO starpass_app;
GRANT ALL ON FUNCTION api.check_pepper() TO starpass_admin;

-- Name: FUNCTION choose_referral_reward(p_user_id bigint, p_reward_id bigint, p_choice text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.choose_referral_reward(p_user_id bigint, p_reward_id bigint, p_choice text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.choose_referral_reward(p_user_id bigint, p_reward_id bigint, p_choice text) TO starpass_app;

-- Name: FUNCTION claim_alert_deliveries(p_targets text[], p_limit integer, p_lease_seconds integer); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.claim_alert_deliveries(p_targets text[], p_limit integer, p_lease_seconds integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.claim_alert_deliveries(p_targets text[], p_limit integer, p_lease_seconds integer) TO starpass_alerts;

-- Name: FUNCTION claim_alerts(p_limit integer, p_lease_seconds integer); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.claim_alerts(p_limit integer, p_lease_seconds integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.claim_alerts(p_limit integer, p_lease_seconds integer) TO starpass_alerts;

-- Name: FUNCTION claim_telegram_update(p_update_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.claim_telegram_update(p_update_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.claim_telegram_update(p_update_id bigint) TO starpass_app;

-- Name: FUNCTION complete_purchase(p_user_id bigint, p_invoice_payload text, p_telegram_payment_charge_id text, p_currency text, p_total_amount bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.complete_purchase(p_user_id bigint, p_invoice_payload text, p_telegram_payment_charge_id text, p_currency text, p_total_amount bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.complete_purchase(p_user_id bigint, p_invoice_payload text, p_telegram_payment_charge_id text, p_currency text, p_total_amount bigint) TO starpass_app;

-- Name: FUNCTION create_promo_code(p_code text, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.create_promo_code(p_code text, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.create_promo_code(p_code text, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text) TO starpass_admin;

-- Name: FUNCTION delete_user_data(p_user_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.delete_user_data(p_user_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.delete_user_data(p_user_id bigint) TO starpass_app;

-- Name: FUNCTION expire_promo_reservations(p_limit integer); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.expire_promo_reservations(p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.expire_promo_reservations(p_limit integer) TO starpass_jobs;

-- Name: FUNCTION fail_alert_delivery(p_delivery_id bigint, p_attempt integer, p_error text, p_retry_in double precision, p_fallback text, p_target_wait double precision); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.fail_alert_delivery(p_delivery_id bigint, p_attempt integer, p_error text, p_retry_in double precision, p_fallback text, p_target_wait double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION api.fail_alert_delivery(p_delivery_id bigint, p_attempt integer, p_error text, p_retry_in double precision, p_fallback text, p_target_wait double precision) TO starpass_alerts;

-- Name: FUNCTION finish_telegram_update(p_update_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.finish_telegram_update(p_update_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.finish_telegram_update(p_update_id bigint) TO starpass_app;

-- Name: FUNCTION get_alert_metrics(); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.get_alert_metrics() FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_alert_metrics() TO starpass_app;
GRANT ALL ON FUNCTION api.get_alert_metrics() TO starpass_admin;

-- Name: FUNCTION get_ops_metrics(); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.get_ops_metrics() FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_ops_metrics() TO starpass_app;
GRANT ALL ON FUNCTION api.get_ops_metrics() TO starpass_admin;

-- Name: FUNCTION get_premium_status(p_user_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.get_premium_status(p_user_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_premium_status(p_user_id bigint) TO starpass_app;
GRANT ALL ON FUNCTION api.get_premium_status(p_user_id bigint) TO starpass_admin;

-- Name: FUNCTION get_promo_campaign(p_promo_code_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.get_promo_campaign(p_promo_code_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_promo_campaign(p_promo_code_id bigint) TO starpass_admin;

-- Name: FUNCTION get_promo_throttle(p_user_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.get_promo_throttle(p_user_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_promo_throttle(p_user_id bigint) TO starpass_admin;

-- Name: FUNCTION get_referral_code(p_user_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.get_referral_code(p_user_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_referral_code(p_user_id bigint) TO starpass_app;

-- Name: FUNCTION get_terms_status(p_user_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.get_terms_status(p_user_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_terms_status(p_user_id bigint) TO starpass_app;

-- Name: FUNCTION greet_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text, p_referral_code text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.greet_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text, p_referral_code text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.greet_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text, p_referral_code text) TO starpass_app;

-- Name: FUNCTION import_promo_codes(p_batch_id uuid, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_mode text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.import_promo_codes(p_batch_id uuid, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_mode text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.import_promo_codes(p_batch_id uuid, p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_mode text) TO starpass_admin;

-- Name: FUNCTION init_purchase(p_user_id bigint, p_plan_code text, p_promo_redemption_id bigint, p_idempotency_key text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.init_purchase(p_user_id bigint, p_plan_code text, p_promo_redemption_id bigint, p_idempotency_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.init_purchase(p_user_id bigint, p_plan_code text, p_promo_redemption_id bigint, p_idempotency_key text) TO starpass_app;

-- Name: FUNCTION list_alerts(p_state text, p_limit integer, p_before_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.list_alerts(p_state text, p_limit integer, p_before_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.list_alerts(p_state text, p_limit integer, p_before_id bigint) TO starpass_admin;

-- Name: FUNCTION list_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_cursor text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.list_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_cursor text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.list_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_cursor text) TO starpass_admin;

-- Name: FUNCTION list_plans(p_include_inactive boolean); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.list_plans(p_include_inactive boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION api.list_plans(p_include_inactive boolean) TO starpass_app;
GRANT ALL ON FUNCTION api.list_plans(p_include_inactive boolean) TO starpass_admin;

-- Name: FUNCTION list_promo_campaigns(p_status text[], p_kind text, p_q text, p_limit integer, p_before_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.list_promo_campaigns(p_status text[], p_kind text, p_q text, p_limit integer, p_before_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.list_promo_campaigns(p_status text[], p_kind text, p_q text, p_limit integer, p_before_id bigint) TO starpass_admin;

-- Name: FUNCTION list_settings(); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.list_settings() FROM PUBLIC;
GRANT ALL ON FUNCTION api.list_settings() TO starpass_admin;

-- Name: FUNCTION mark_purchase_refunded(p_telegram_payment_charge_id text, p_actor text, p_reason text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.mark_purchase_refunded(p_telegram_payment_charge_id text, p_actor text, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.mark_purchase_refunded(p_telegram_payment_charge_id text, p_actor text, p_reason text) TO starpass_app;
GRANT ALL ON FUNCTION api.mark_purchase_refunded(p_telegram_payment_charge_id text, p_actor text, p_reason text) TO starpass_admin;

-- Name: FUNCTION open_payment_support(p_user_id bigint, p_message text, p_idempotency_key text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.open_payment_support(p_user_id bigint, p_message text, p_idempotency_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.open_payment_support(p_user_id bigint, p_message text, p_idempotency_key text) TO starpass_app;

-- Name: FUNCTION open_promo_import(); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.open_promo_import() FROM PUBLIC;
GRANT ALL ON FUNCTION api.open_promo_import() TO starpass_admin;

-- Name: FUNCTION precheckout_purchase(p_user_id bigint, p_invoice_payload text, p_currency text, p_total_amount bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.precheckout_purchase(p_user_id bigint, p_invoice_payload text, p_currency text, p_total_amount bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.precheckout_purchase(p_user_id bigint, p_invoice_payload text, p_currency text, p_total_amount bigint) TO starpass_app;

-- Name: FUNCTION prune_history(p_limit integer); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.prune_history(p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.prune_history(p_limit integer) TO starpass_jobs;

-- Name: FUNCTION quote_discount(p_user_id bigint, p_promo_redemption_id bigint); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.quote_discount(p_user_id bigint, p_promo_redemption_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.quote_discount(p_user_id bigint, p_promo_redemption_id bigint) TO starpass_app;

-- Name: FUNCTION raise_test_alert(p_event text, p_severity text, p_actor text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.raise_test_alert(p_event text, p_severity text, p_actor text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.raise_test_alert(p_event text, p_severity text, p_actor text) TO starpass_admin;

-- Name: FUNCTION reconcile_star_payment(p_telegram_payment_charge_id text, p_user_id bigint, p_amount bigint, p_refunded boolean, p_actor text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.reconcile_star_payment(p_telegram_payment_charge_id text, p_user_id bigint, p_amount bigint, p_refunded boolean, p_actor text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.reconcile_star_payment(p_telegram_payment_charge_id text, p_user_id bigint, p_amount bigint, p_refunded boolean, p_actor text) TO starpass_admin;

-- Name: FUNCTION redeem_promo_code(p_user_id bigint, p_code text, p_idempotency_key text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.redeem_promo_code(p_user_id bigint, p_code text, p_idempotency_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.redeem_promo_code(p_user_id bigint, p_code text, p_idempotency_key text) TO starpass_app;

-- Name: FUNCTION register_referral(p_referee_user_id bigint, p_referral_code text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.register_referral(p_referee_user_id bigint, p_referral_code text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.register_referral(p_referee_user_id bigint, p_referral_code text) TO starpass_app;

-- Name: FUNCTION release_telegram_update(p_update_id bigint, p_attempts integer); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.release_telegram_update(p_update_id bigint, p_attempts integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.release_telegram_update(p_update_id bigint, p_attempts integer) TO starpass_app;

-- Name: FUNCTION request_purchase_refund(p_purchase_id bigint, p_actor text, p_reason text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.request_purchase_refund(p_purchase_id bigint, p_actor text, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.request_purchase_refund(p_purchase_id bigint, p_actor text, p_reason text) TO starpass_admin;

-- Name: FUNCTION reset_promo_throttle(p_user_id bigint, p_actor text, p_reason text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.reset_promo_throttle(p_user_id bigint, p_actor text, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.reset_promo_throttle(p_user_id bigint, p_actor text, p_reason text) TO starpass_admin;

-- Name: FUNCTION retry_alert(p_alert_id bigint, p_actor text, p_reason text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.retry_alert(p_alert_id bigint, p_actor text, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.retry_alert(p_alert_id bigint, p_actor text, p_reason text) TO starpass_admin;

-- Name: FUNCTION rollback_refunded_promo(p_purchase_id bigint, p_actor text, p_idempotency_key text, p_reason text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.rollback_refunded_promo(p_purchase_id bigint, p_actor text, p_idempotency_key text, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.rollback_refunded_promo(p_purchase_id bigint, p_actor text, p_idempotency_key text, p_reason text) TO starpass_admin;

-- Name: FUNCTION rollover_promo_campaigns(); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.rollover_promo_campaigns() FROM PUBLIC;
GRANT ALL ON FUNCTION api.rollover_promo_campaigns() TO starpass_jobs;

-- Name: FUNCTION route_alert(p_alert_id bigint, p_targets text[], p_flood_limit integer, p_repeat_interval interval); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.route_alert(p_alert_id bigint, p_targets text[], p_flood_limit integer, p_repeat_interval interval) FROM PUBLIC;
GRANT ALL ON FUNCTION api.route_alert(p_alert_id bigint, p_targets text[], p_flood_limit integer, p_repeat_interval interval) TO starpass_alerts;

-- Name: FUNCTION run_promo_bruteforce_guard(p_actor text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.run_promo_bruteforce_guard(p_actor text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.run_promo_bruteforce_guard(p_actor text) TO starpass_jobs;

-- Name: FUNCTION run_refund_promo_rollback(p_limit integer, p_actor text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.run_refund_promo_rollback(p_limit integer, p_actor text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.run_refund_promo_rollback(p_limit integer, p_actor text) TO starpass_jobs;

-- Name: FUNCTION set_promo_campaign_status(p_promo_code_id bigint, p_status text, p_actor text, p_reason text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.set_promo_campaign_status(p_promo_code_id bigint, p_status text, p_actor text, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.set_promo_campaign_status(p_promo_code_id bigint, p_status text, p_actor text, p_reason text) TO starpass_admin;

-- Name: FUNCTION set_setting(p_key text, p_value text, p_actor text, p_reason text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.set_setting(p_key text, p_value text, p_actor text, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.set_setting(p_key text, p_value text, p_actor text, p_reason text) TO starpass_admin;

-- Name: FUNCTION touch_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text); Type: ACL; Schema: api; Owner: starpass_owner

REVOKE ALL ON FUNCTION api.touch_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.touch_user(p_user_id bigint, p_username text, p_first_name text, p_language_code text) TO starpass_app;

-- Name: FUNCTION alert_unsettled_payment(p_outcome text, p_purchase billing.purchases, p_user_id bigint, p_charge_id text, p_currency text, p_total_amount bigint); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.alert_unsettled_payment(p_outcome text, p_purchase billing.purchases, p_user_id bigint, p_charge_id text, p_currency text, p_total_amount bigint) FROM PUBLIC;

-- Name: FUNCTION book_purchase(p_purchase billing.purchases); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.book_purchase(p_purchase billing.purchases) FROM PUBLIC;

-- Name: FUNCTION discount_price(p_base integer, p_percent integer); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.discount_price(p_base integer, p_percent integer) FROM PUBLIC;

-- Name: FUNCTION guard_purchase_change(); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.guard_purchase_change() FROM PUBLIC;

-- Name: FUNCTION is_ledger_entry(p_actor text, p_stars_delta integer, p_premium_days_delta integer); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.is_ledger_entry(p_actor text, p_stars_delta integer, p_premium_days_delta integer) FROM PUBLIC;

-- Name: FUNCTION ledger_kinds(); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.ledger_kinds() FROM PUBLIC;

-- Name: FUNCTION post_ledger_entry(p_user_id bigint, p_kind text, p_ref_id bigint, p_premium_days integer, p_stars integer, p_actor text); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.post_ledger_entry(p_user_id bigint, p_kind text, p_ref_id bigint, p_premium_days integer, p_stars integer, p_actor text) FROM PUBLIC;

-- Name: FUNCTION premium_after(p_before timestamp with time zone, p_days integer, p_at timestamp with time zone); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.premium_after(p_before timestamp with time zone, p_days integer, p_at timestamp with time zone) FROM PUBLIC;

-- Name: FUNCTION is_redemption_state(p_kind text, p_status text, p_reserved_until timestamp with time zone, p_consumed_at timestamp with time zone, p_expired_at timestamp with time zone, p_revoked_at timestamp with time zone, p_revoked_reason text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.is_redemption_state(p_kind text, p_status text, p_reserved_until timestamp with time zone, p_consumed_at timestamp with time zone, p_expired_at timestamp with time zone, p_revoked_at timestamp with time zone, p_revoked_reason text) FROM PUBLIC;

-- Name: FUNCTION settle_purchase(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_charge_id text, p_now timestamp with time zone); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.settle_purchase(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_charge_id text, p_now timestamp with time zone) FROM PUBLIC;

-- Name: FUNCTION settlement_outcome(p_purchase billing.purchases, p_user_id bigint, p_currency text, p_total_amount bigint); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.settlement_outcome(p_purchase billing.purchases, p_user_id bigint, p_currency text, p_total_amount bigint) FROM PUBLIC;

-- Name: FUNCTION use_purchase_reservation(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_now timestamp with time zone); Type: ACL; Schema: billing; Owner: starpass_owner

REVOKE ALL ON FUNCTION billing.use_purchase_reservation(p_purchase billing.purchases, p_redemption promo.promo_redemptions, p_now timestamp with time zone) FROM PUBLIC;

-- Name: FUNCTION check_user_id(p_user_id bigint); Type: ACL; Schema: core; Owner: starpass_owner

REVOKE ALL ON FUNCTION core.check_user_id(p_user_id bigint) FROM PUBLIC;

-- Name: FUNCTION ensure_user(p_user_id bigint); Type: ACL; Schema: core; Owner: starpass_owner

REVOKE ALL ON FUNCTION core.ensure_user(p_user_id bigint) FROM PUBLIC;

-- Name: FUNCTION is_user_id(p_user_id bigint); Type: ACL; Schema: core; Owner: starpass_owner

REVOKE ALL ON FUNCTION core.is_user_id(p_user_id bigint) FROM PUBLIC;

-- Name: FUNCTION is_user_profile(p_username text, p_first_name text, p_language_code text, p_terms_version text, p_terms_accepted_at timestamp with time zone); Type: ACL; Schema: core; Owner: starpass_owner

REVOKE ALL ON FUNCTION core.is_user_profile(p_username text, p_first_name text, p_language_code text, p_terms_version text, p_terms_accepted_at timestamp with time zone) FROM PUBLIC;

-- Name: FUNCTION alert_send_interval(p_provider text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.alert_send_interval(p_provider text) FROM PUBLIC;

-- Name: FUNCTION check_actor(p_actor text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.check_actor(p_actor text) FROM PUBLIC;

-- Name: FUNCTION check_argument(p_ok boolean, p_argument text, p_detail text, p_hint text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.check_argument(p_ok boolean, p_argument text, p_detail text, p_hint text) FROM PUBLIC;

-- Name: FUNCTION check_idempotency_key(p_key text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.check_idempotency_key(p_key text) FROM PUBLIC;

-- Name: FUNCTION check_timestamp(p_value timestamp with time zone, p_argument text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.check_timestamp(p_value timestamp with time zone, p_argument text) FROM PUBLIC;

-- Name: FUNCTION check_value(p_values text[], p_domain regtype, p_argument text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.check_value(p_values text[], p_domain regtype, p_argument text) FROM PUBLIC;

-- Name: FUNCTION check_value(p_value text, p_domain regtype, p_argument text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.check_value(p_value text, p_domain regtype, p_argument text) FROM PUBLIC;

-- Name: FUNCTION delete_alerts(p_alert_ids bigint[]); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.delete_alerts(p_alert_ids bigint[]) FROM PUBLIC;

-- Name: FUNCTION domain_values(p_domain regtype); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.domain_values(p_domain regtype) FROM PUBLIC;

-- Name: FUNCTION find_idempotent(p_scope text, p_key text, p_request_hash bytea, p_request_hash_alt bytea); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.find_idempotent(p_scope text, p_key text, p_request_hash bytea, p_request_hash_alt bytea) FROM PUBLIC;

-- Name: FUNCTION guard_job_run_delete(); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.guard_job_run_delete() FROM PUBLIC;

-- Name: FUNCTION guard_test_clock(); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.guard_test_clock() FROM PUBLIC;

-- Name: FUNCTION idempotent_answer(p_row anyelement, p_prior ops.idempotent_prior); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.idempotent_answer(p_row anyelement, p_prior ops.idempotent_prior) FROM PUBLIC;

-- Name: FUNCTION is_valid_setting_value(p_value_type text, p_value text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.is_valid_setting_value(p_value_type text, p_value text) FROM PUBLIC;

-- Name: FUNCTION lock_alert_delivery(p_delivery_id bigint); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.lock_alert_delivery(p_delivery_id bigint) FROM PUBLIC;

-- Name: FUNCTION lock_class(p_name text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.lock_class(p_name text) FROM PUBLIC;

-- Name: FUNCTION notify_alert(); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.notify_alert() FROM PUBLIC;

-- Name: FUNCTION now(); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.now() FROM PUBLIC;

-- Name: FUNCTION raise_alert(p_event text, p_severity text, p_summary text, p_details jsonb, p_dedup_key text, p_resolves text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.raise_alert(p_event text, p_severity text, p_summary text, p_details jsonb, p_dedup_key text, p_resolves text) FROM PUBLIC;

-- Name: FUNCTION record_job_run(p_job_name text, p_actor text, p_started_at timestamp with time zone, p_result integer, p_error text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.record_job_run(p_job_name text, p_actor text, p_started_at timestamp with time zone, p_result integer, p_error text) FROM PUBLIC;

-- Name: FUNCTION refuse_mutation(); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.refuse_mutation() FROM PUBLIC;

-- Name: FUNCTION release_alert_target(p_target text, p_delivery_id bigint, p_attempt integer, p_wait_until timestamp with time zone); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.release_alert_target(p_target text, p_delivery_id bigint, p_attempt integer, p_wait_until timestamp with time zone) FROM PUBLIC;

-- Name: FUNCTION request_hash(p_arguments jsonb); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.request_hash(p_arguments jsonb) FROM PUBLIC;

-- Name: FUNCTION require_read_committed(p_function text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.require_read_committed(p_function text) FROM PUBLIC;

-- Name: FUNCTION resolve_alert(p_event text, p_subject jsonb, p_summary text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.resolve_alert(p_event text, p_subject jsonb, p_summary text) FROM PUBLIC;

-- Name: FUNCTION save_idempotent(p_scope text, p_key text, p_request_hash bytea, p_result jsonb); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.save_idempotent(p_scope text, p_key text, p_request_hash bytea, p_result jsonb) FROM PUBLIC;

-- Name: FUNCTION setting_boolean(p_key text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.setting_boolean(p_key text) FROM PUBLIC;

-- Name: FUNCTION setting_integer(p_key text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.setting_integer(p_key text) FROM PUBLIC;

-- Name: FUNCTION setting_interval(p_key text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.setting_interval(p_key text) FROM PUBLIC;

-- Name: FUNCTION setting_timestamptz(p_key text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.setting_timestamptz(p_key text) FROM PUBLIC;

-- Name: FUNCTION setting_value(p_key text, p_value_type text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.setting_value(p_key text, p_value_type text) FROM PUBLIC;

-- Name: FUNCTION settle_alert(p_alert_id bigint); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.settle_alert(p_alert_id bigint) FROM PUBLIC;

-- Name: FUNCTION test_clock_now(); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.test_clock_now() FROM PUBLIC;

-- Name: FUNCTION timestamp_range(); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.timestamp_range() FROM PUBLIC;

-- Name: FUNCTION unknown_lock_class(p_name text); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.unknown_lock_class(p_name text) FROM PUBLIC;

-- Name: FUNCTION write_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_reason text, p_details jsonb); Type: ACL; Schema: ops; Owner: starpass_owner

REVOKE ALL ON FUNCTION ops.write_audit(p_actor text, p_action text, p_target_type text, p_target_id text, p_reason text, p_details jsonb) FROM PUBLIC;

-- Name: FUNCTION attempts_prunable_before(); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.attempts_prunable_before() FROM PUBLIC;

-- Name: FUNCTION batch_alphabet(); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.batch_alphabet() FROM PUBLIC;

-- Name: FUNCTION batch_values(); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.batch_values() FROM PUBLIC;

-- Name: FUNCTION book_capacity(); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.book_capacity() FROM PUBLIC;

-- Name: FUNCTION book_capacity_changes(); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.book_capacity_changes() FROM PUBLIC;

-- Name: FUNCTION book_redemption(p_result api.redeem_result, p_user_id bigint, p_slot_no smallint, p_now timestamp with time zone); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.book_redemption(p_result api.redeem_result, p_user_id bigint, p_slot_no smallint, p_now timestamp with time zone) FROM PUBLIC;

-- Name: FUNCTION campaign_by_prefix(p_code text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.campaign_by_prefix(p_code text) FROM PUBLIC;

-- Name: FUNCTION campaign_refusal(p_campaign promo.promo_codes, p_now timestamp with time zone); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.campaign_refusal(p_campaign promo.promo_codes, p_now timestamp with time zone) FROM PUBLIC;

-- Name: FUNCTION check_campaign_terms(p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_now timestamp with time zone); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.check_campaign_terms(p_kind text, p_campaign text, p_grant_days integer, p_discount_percent integer, p_max_uses integer, p_per_user_limit integer, p_starts_at timestamp with time zone, p_ends_at timestamp with time zone, p_prefix text, p_actor text, p_now timestamp with time zone) FROM PUBLIC;

-- Name: FUNCTION check_character(p_text text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.check_character(p_text text) FROM PUBLIC;

-- Name: FUNCTION check_rotation(p_pepper_id bytea); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.check_rotation(p_pepper_id bytea) FROM PUBLIC;

-- Name: FUNCTION check_sum(p_window bytea); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.check_sum(p_window bytea) FROM PUBLIC;

-- Name: FUNCTION check_window(p_code text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.check_window(p_code text) FROM PUBLIC;

-- Name: FUNCTION code_refusal(p_code text, p_prefix text, p_campaign_letters text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.code_refusal(p_code text, p_prefix text, p_campaign_letters text) FROM PUBLIC;

-- Name: FUNCTION guard_attempt_delete(); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.guard_attempt_delete() FROM PUBLIC;

-- Name: FUNCTION guard_redemption_change(); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.guard_redemption_change() FROM PUBLIC;

-- Name: FUNCTION has_capacity(p_promo_code_id bigint, p_now timestamp with time zone); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.has_capacity(p_promo_code_id bigint, p_now timestamp with time zone) FROM PUBLIC;

-- Name: FUNCTION has_wrong_check_character(p_code text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.has_wrong_check_character(p_code text) FROM PUBLIC;

-- Name: FUNCTION hash_code(p_code text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.hash_code(p_code text) FROM PUBLIC;

-- Name: FUNCTION hmac(p_text text, p_pepper bytea); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.hmac(p_text text, p_pepper bytea) FROM PUBLIC;

-- Name: FUNCTION is_attempt_record(p_counted boolean, p_replayed boolean, p_outcome text, p_request_hash bytea); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.is_attempt_record(p_counted boolean, p_replayed boolean, p_outcome text, p_request_hash bytea) FROM PUBLIC;

-- Name: FUNCTION is_batch_window(p_window bytea); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.is_batch_window(p_window bytea) FROM PUBLIC;

-- Name: FUNCTION is_slot_state(p_slot_no smallint, p_capacity integer, p_used integer, p_held integer); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.is_slot_state(p_slot_no smallint, p_capacity integer, p_used integer, p_held integer) FROM PUBLIC;

-- Name: FUNCTION lock_user(p_user_id bigint); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.lock_user(p_user_id bigint) FROM PUBLIC;

-- Name: FUNCTION mirror_throttle(); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.mirror_throttle() FROM PUBLIC;

-- Name: FUNCTION normalize_code(p_code text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.normalize_code(p_code text) FROM PUBLIC;

-- Name: FUNCTION normalize_code_or_null(p_code text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.normalize_code_or_null(p_code text) FROM PUBLIC;

-- Name: FUNCTION pepper(p_previous boolean); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.pepper(p_previous boolean) FROM PUBLIC;

-- Name: FUNCTION pepper_id(p_pepper bytea); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.pepper_id(p_pepper bytea) FROM PUBLIC;

-- Name: FUNCTION record_attempt(p_user_id bigint, p_idempotency_key text, p_request_hash bytea, p_result api.redeem_result, p_now timestamp with time zone, p_attributed_to bigint, p_countable boolean); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.record_attempt(p_user_id bigint, p_idempotency_key text, p_request_hash bytea, p_result api.redeem_result, p_now timestamp with time zone, p_attributed_to bigint, p_countable boolean) FROM PUBLIC;

-- Name: FUNCTION refuse_code(p_reason text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.refuse_code(p_reason text) FROM PUBLIC;

-- Name: FUNCTION revoke_refunded_redemption(p_purchase_id bigint, p_actor text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.revoke_refunded_redemption(p_purchase_id bigint, p_actor text) FROM PUBLIC;

-- Name: FUNCTION slot_capacities(p_max_uses integer); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.slot_capacities(p_max_uses integer) FROM PUBLIC;

-- Name: FUNCTION take_capacity(p_promo_code_id bigint, p_now timestamp with time zone, p_max_uses integer); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.take_capacity(p_promo_code_id bigint, p_now timestamp with time zone, p_max_uses integer) FROM PUBLIC;

-- Name: FUNCTION units_held(p_status text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.units_held(p_status text) FROM PUBLIC;

-- Name: FUNCTION units_used(p_status text); Type: ACL; Schema: promo; Owner: starpass_owner

REVOKE ALL ON FUNCTION promo.units_used(p_status text) FROM PUBLIC;

-- Name: FUNCTION discount_campaign_id(); Type: ACL; Schema: referral; Owner: starpass_owner

REVOKE ALL ON FUNCTION referral.discount_campaign_id() FROM PUBLIC;

-- Name: FUNCTION offer_first_purchase_reward(p_purchase billing.purchases, p_now timestamp with time zone); Type: ACL; Schema: referral; Owner: starpass_owner

REVOKE ALL ON FUNCTION referral.offer_first_purchase_reward(p_purchase billing.purchases, p_now timestamp with time zone) FROM PUBLIC;

-- Name: DEFAULT PRIVILEGES FOR FUNCTIONS; Type: DEFAULT ACL; Schema: -; Owner: starpass_owner

ALTER DEFAULT PRIVILEGES FOR ROLE starpass_owner REVOKE ALL ON FUNCTIONS  FROM PUBLIC;
