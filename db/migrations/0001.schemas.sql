-- Schemas by bounded context (DESIGN §3.1). Runs as starpass_owner, which then owns them.
CREATE SCHEMA api;
CREATE SCHEMA core;
CREATE SCHEMA billing;
CREATE SCHEMA promo;
CREATE SCHEMA referral;
CREATE SCHEMA ops;

COMMENT ON SCHEMA api IS 'The only callable surface: functions and result types for starpass_app.';
COMMENT ON SCHEMA core IS 'Users.';
COMMENT ON SCHEMA billing IS 'Plans, entitlements, the append-only ledger, purchases.';
COMMENT ON SCHEMA promo IS 'Promo campaigns, redemptions, reservations, attempts.';
COMMENT ON SCHEMA referral IS 'Referral codes, referrals and rewards.';
COMMENT ON SCHEMA ops IS 'Settings, audit log, clock, alert outbox.';

GRANT USAGE ON SCHEMA api TO starpass_app;
