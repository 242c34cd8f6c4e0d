-- depends: 0018.bot
-- A plan code travels in the bot's callback data, which Telegram limits to 64 bytes:
-- `terms:<version ≤ 16>:<plan_code>:<redemption id ≤ 19 digits>` fits with 20 characters.
ALTER TABLE billing.plans ADD CONSTRAINT plans_code_fits_callback CHECK (char_length(plan_code) <= 20);
