-- depends: 0030.support_idempotency
-- A claim of a Telegram update holds a lease (issue 17): two deliveries of one update_id on two
-- replicas at once were both RETRY and both handled. claimed_at is when the delivery that
-- holds the update claimed it; another delivery within core.telegram_update_lease of it is
-- BUSY (answered 503, Telegram delivers again), after it RETRY (takes the lease over).
ALTER TABLE core.telegram_updates ADD COLUMN claimed_at timestamptz;
UPDATE core.telegram_updates SET claimed_at = received_at;
COMMENT ON COLUMN core.telegram_updates.claimed_at IS
    'When the latest delivery that took the update claimed it; its lease runs core.telegram_update_lease from then (NULL: no delivery holds it).';

INSERT INTO ops.settings (key, value_type, value, default_value, description) VALUES
    ('core.telegram_update_lease', 'interval', '90 seconds', '90 seconds',
     'How long a claimed Telegram update is held by the delivery handling it (longer than Telegram''s 60 s wait for the webhook); another delivery meanwhile is BUSY.');
