"""The Telegram bot: aiogram 3 routers mounted on `starpass serve` at /telegram/webhook."""
