"""`starpass payments reconcile`: Telegram's own list of Stars transactions against ours.
Refunds made in Telegram's apps (or whose refunded_payment never arrived) are recorded;
payments Telegram lists that we never recorded, or recorded otherwise, raise critical alerts."""

from __future__ import annotations

from collections import Counter

from aiogram import Bot
from aiogram.types import TransactionPartnerUser
from psycopg_pool import AsyncConnectionPool

from app.db import bot as db

PAGE = 100


async def reconcile(bot: Bot, pool: AsyncConnectionPool, actor: str = "reconcile") -> Counter[str]:
    paid: dict[str, tuple[int, int]] = {}
    refunded: set[str] = set()
    offset = 0
    while True:
        page = await bot.get_star_transactions(offset=offset, limit=PAGE)
        for transaction in page.transactions:
            if isinstance(transaction.source, TransactionPartnerUser):
                paid[transaction.id] = (transaction.source.user.id, transaction.amount)
            if isinstance(transaction.receiver, TransactionPartnerUser):
                refunded.add(transaction.id)
        if len(page.transactions) < PAGE:
            break
        offset += PAGE
    outcomes: Counter[str] = Counter()
    for charge_id, (user_id, amount) in paid.items():
        row = await db.reconcile_star_payment(
            pool,
            charge_id=charge_id,
            user_id=user_id,
            amount=amount,
            refunded=charge_id in refunded,
            actor=actor,
        )
        assert row is not None
        outcomes[row["outcome"]] += 1
    return outcomes
