"""One async call per `api` SQL function the Telegram bot uses (role starpass_app). Rows come
back as dicts."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from app.db.api import Row, _all, _one


async def greet_user(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.greet_user(%(user_id)s, %(username)s, %(first_name)s,"
        " %(language_code)s, %(referral_code)s)",
        args,
    )


async def quote_discount(pool: AsyncConnectionPool, **args: object) -> list[Row]:
    return await _all(
        pool, "SELECT * FROM api.quote_discount(%(user_id)s, %(promo_redemption_id)s)", args
    )


async def accept_terms(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(pool, "SELECT * FROM api.accept_terms(%(user_id)s, %(terms_version)s)", args)


async def init_purchase(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.init_purchase(%(user_id)s, %(plan_code)s, %(promo_redemption_id)s,"
        " %(idempotency_key)s)",
        args,
    )


async def precheckout_purchase(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.precheckout_purchase(%(user_id)s, %(invoice_payload)s,"
        " %(currency)s, %(total_amount)s)",
        args,
    )


async def complete_purchase(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.complete_purchase(%(user_id)s, %(invoice_payload)s, %(charge_id)s,"
        " %(currency)s, %(total_amount)s)",
        args,
    )


async def mark_purchase_refunded(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.mark_purchase_refunded(%(charge_id)s, %(actor)s, %(reason)s)",
        args,
    )


async def choose_referral_reward(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.choose_referral_reward(%(user_id)s, %(reward_id)s, %(choice)s)",
        args,
    )


async def open_payment_support(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.open_payment_support(%(user_id)s, %(message)s, %(idempotency_key)s)",
        args,
    )


async def delete_user_data(pool: AsyncConnectionPool, user_id: int) -> Row | None:
    return await _one(pool, "SELECT * FROM api.delete_user_data(%(id)s)", {"id": user_id})


async def get_terms_status(pool: AsyncConnectionPool, user_id: int) -> Row | None:
    return await _one(pool, "SELECT * FROM api.get_terms_status(%(id)s)", {"id": user_id})


async def request_purchase_refund(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.request_purchase_refund(%(purchase_id)s, %(actor)s, %(reason)s)",
        args,
    )


async def claim_telegram_update(pool: AsyncConnectionPool, update_id: int) -> Row | None:
    return await _one(pool, "SELECT * FROM api.claim_telegram_update(%(id)s)", {"id": update_id})


async def finish_telegram_update(pool: AsyncConnectionPool, update_id: int) -> Row | None:
    return await _one(
        pool, "SELECT api.finish_telegram_update(%(id)s) AS finished", {"id": update_id}
    )


async def release_telegram_update(
    pool: AsyncConnectionPool, update_id: int, attempts: int
) -> Row | None:
    return await _one(
        pool,
        "SELECT api.release_telegram_update(%(id)s, %(attempts)s) AS released",
        {"id": update_id, "attempts": attempts},
    )


async def reconcile_star_payment(pool: AsyncConnectionPool, **args: object) -> Row | None:
    return await _one(
        pool,
        "SELECT * FROM api.reconcile_star_payment(%(charge_id)s, %(user_id)s, %(amount)s,"
        " %(refunded)s, %(actor)s)",
        args,
    )
