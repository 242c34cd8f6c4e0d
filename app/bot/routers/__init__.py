"""One aiogram Router per feature; app/bot/webhook.py includes them in this order."""
