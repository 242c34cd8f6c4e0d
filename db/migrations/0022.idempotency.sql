-- depends: 0021.capacity_bookkeeping 0020.plan_code_length 0019.value_domains 0019.error_reasons
-- One idempotency protocol (issue 15, DESIGN §5): a key of one domain type binds the first
-- request's arguments (a hash of them) to its stored result row in ops.idempotency_keys;
-- ops.find_idempotent and ops.save_idempotent (db/functions/ops) are the one lock-and-lookup
-- and the one write. The data of the keys used before this migration: 0022.idempotency_backfill.

-- The key's rule, stated once in SQL (app/vocabulary.py holds the Python copy, pinned by
-- tests/test_vocabulary.py). It lives here, not in db/functions, because the domain's CHECK
-- needs it before any function file is applied (as ops.timestamp_range in 0016).
CREATE FUNCTION ops.is_idempotency_key(p_key text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN p_key ~ '^[A-Za-z0-9._:-]{8,128}$';
COMMENT ON FUNCTION ops.is_idempotency_key(text) IS
    'Whether a text is an idempotency key: 8 to 128 characters of A-Z a-z 0-9 . _ : - (the CHECK of the domain ops.idempotency_key; inlined where called).';

CREATE DOMAIN ops.idempotency_key AS text
    CONSTRAINT idempotency_key_check CHECK (ops.is_idempotency_key(VALUE));
COMMENT ON DOMAIN ops.idempotency_key IS
    'A caller''s idempotency key: one random key per logical request (e.g. a UUID), reused only to retry it.';

CREATE DOMAIN ops.idempotency_scope AS text
    CONSTRAINT idempotency_scope_check
    CHECK (VALUE IN ('promo.redeem', 'billing.init_purchase', 'billing.complete_purchase',
                     'promo.rollback_refunded_promo'));
COMMENT ON DOMAIN ops.idempotency_scope IS
    'The function a key belongs to: the same key may be used once in each scope.';

-- Append-only: a binding never changes, so a replay can never see another answer than the first.
CREATE TABLE ops.idempotency_keys (
    scope            text NOT NULL CONSTRAINT idempotency_keys_scope_check
                     CHECK (scope = scope::ops.idempotency_scope),
    idempotency_key  ops.idempotency_key NOT NULL,
    request_hash     bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    result           jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
COMMENT ON TABLE ops.idempotency_keys IS
    'The first answer to each idempotency key per scope, bound to a hash of its request''s arguments (ops.find_idempotent, ops.save_idempotent).';
CREATE TRIGGER idempotency_keys_append_only
    BEFORE UPDATE OR DELETE ON ops.idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_mutation();
CREATE TRIGGER idempotency_keys_no_truncate
    BEFORE TRUNCATE ON ops.idempotency_keys
    FOR EACH STATEMENT EXECUTE FUNCTION ops.refuse_mutation();

-- What ops.find_idempotent answers: a conflict, or the stored result (NULL for a new key).
CREATE TYPE ops.idempotent_prior AS (
    conflict  boolean,
    result    jsonb
);
COMMENT ON TYPE ops.idempotent_prior IS
    'ops.find_idempotent''s answer: (false, NULL) new key, (false, result) replay, (true, NULL) the key was bound to other arguments.';

-- The result rows, stored whole (to_jsonb) and replayed whole (jsonb_populate_record): the
-- column list is stated here only.
CREATE TYPE api.init_purchase_result AS (
    outcome           text,
    purchase_id       bigint,
    invoice_payload   text,
    price_stars       integer,
    base_price_stars  integer,
    discount_percent  integer,
    currency          text,
    title             text,
    description       text,
    premium_days      integer,
    replayed          boolean
);
COMMENT ON TYPE api.init_purchase_result IS 'The answer of api.init_purchase: OPENED (what sendInvoice needs) or IDEMPOTENCY_CONFLICT.';
CREATE TYPE api.complete_purchase_result AS (
    outcome             text,
    purchase_id         bigint,
    premium_until       timestamptz,
    referral_reward_id  bigint,
    referrer_user_id    bigint,
    replayed            boolean
);
COMMENT ON TYPE api.complete_purchase_result IS 'The answer of api.complete_purchase (DESIGN §5).';
CREATE TYPE api.rollback_refunded_promo_result AS (
    outcome              text,
    purchase_id          bigint,
    promo_redemption_id  bigint,
    replayed             boolean
);
COMMENT ON TYPE api.rollback_refunded_promo_result IS 'The answer of api.rollback_refunded_promo (DESIGN §5).';

-- The three functions now return their result type.
DROP FUNCTION IF EXISTS api.init_purchase(bigint, text, bigint, text);
DROP FUNCTION IF EXISTS api.complete_purchase(bigint, text, text, text, bigint);
DROP FUNCTION IF EXISTS api.rollback_refunded_promo(bigint, text, text, text);

-- The columns that hold keys are of the domain; their own copies of the regex go.
-- (promo.promo_attempts.idempotency_key moves with the redemption rewrite.)
ALTER TABLE billing.purchases
    DROP CONSTRAINT purchases_idempotency_key_check,
    ALTER COLUMN idempotency_key TYPE ops.idempotency_key;
ALTER TABLE promo.rollback_requests
    DROP CONSTRAINT rollback_requests_idempotency_key_check,
    ALTER COLUMN idempotency_key TYPE ops.idempotency_key;
ALTER TABLE billing.support_requests
    DROP CONSTRAINT support_requests_idempotency_key_check,
    ALTER COLUMN idempotency_key TYPE ops.idempotency_key;
