"""Completing asyncio futures from worker threads (the SQLite writer and the audit device writers)."""

from __future__ import annotations

import asyncio


def settle(fut: asyncio.Future[None], err: BaseException | None) -> None:
    """Run on the loop via call_soon_threadsafe; a future already cancelled by a timed-out waiter is left alone."""
    if fut.done():
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(err)
