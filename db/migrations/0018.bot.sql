-- depends: 0013.audit_db_role
-- What the Telegram bot needs beside the purchase flow: refund requests recorded before
-- Telegram is asked (so none is lost if the process dies between the two), terms acceptance,
-- and data-deletion requests (profile pseudonymized, financial records kept).
CREATE TABLE billing.refund_requests (
    refund_request_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_id        bigint NOT NULL REFERENCES billing.purchases (purchase_id),
    requested_at       timestamptz NOT NULL,
    actor              text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 128),
    reason             text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000)
);
COMMENT ON TABLE billing.refund_requests IS
    'Refunds an operator asked for, written before refundStarPayment is called; the purchase becomes REFUNDED when Telegram confirms.';
CREATE INDEX refund_requests_purchase_idx ON billing.refund_requests (purchase_id);

ALTER TABLE core.users
    ADD COLUMN terms_version      text CHECK (terms_version ~ '^[A-Za-z0-9._-]{1,16}$'),
    ADD COLUMN terms_accepted_at  timestamptz,
    ADD COLUMN data_deleted_at    timestamptz,
    ADD CONSTRAINT users_terms_together CHECK ((terms_version IS NULL) = (terms_accepted_at IS NULL));
COMMENT ON COLUMN core.users.data_deleted_at IS
    'When the user last asked for their data to be deleted: profile fields were cleared then; payments, ledger and audit are kept (retention duty). Using the bot again stores the profile Telegram sends anew.';

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('billing.terms_version', 'text', '2026-12', '2026-12',
     'The version of the terms (/terms) a user accepts before the first purchase.');

-- /paysupport: what a user reports about a payment reaches an operator (alert) and stays on
-- record until it is answered.
CREATE TABLE billing.support_requests (
    support_request_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             bigint NOT NULL REFERENCES core.users (user_id),
    message             text NOT NULL CHECK (char_length(message) BETWEEN 1 AND 2000),
    -- The bot's key for the update that carried the message: a redelivery records nothing new.
    idempotency_key     text NOT NULL UNIQUE CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{8,128}$'),
    created_at          timestamptz NOT NULL
);
COMMENT ON TABLE billing.support_requests IS
    'Payment support requests sent through the bot''s /paysupport; each raises the alert payments.support_request.';
CREATE INDEX support_requests_user_idx ON billing.support_requests (user_id, created_at);

-- Telegram delivers each update at least once: the webhook claims update_id here first and
-- answers a delivered-again update with 200 and nothing else.
CREATE TABLE core.telegram_updates (
    update_id    bigint PRIMARY KEY CHECK (update_id >= 0),
    received_at  timestamptz NOT NULL,
    handled_at   timestamptz,
    attempts     integer NOT NULL DEFAULT 1 CHECK (attempts >= 1)
);
COMMENT ON TABLE core.telegram_updates IS
    'Updates the bot received (by Telegram''s update_id) and whether handling finished; a redelivery of a handled update is answered without acting again.';
CREATE INDEX telegram_updates_received_idx ON core.telegram_updates (received_at);
