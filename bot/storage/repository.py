"""Storage's public names (see :mod:`bot.storage.store`)."""

from bot.storage.checkin_queue import Claim, DigestClaim, SendOutcome, aware
from bot.storage.privacy import USER_TABLES, Stats
from bot.storage.store import Store, Unit
from bot.storage.updates import Applied

__all__ = [
    "USER_TABLES",
    "Applied",
    "Claim",
    "DigestClaim",
    "SendOutcome",
    "Stats",
    "Store",
    "Unit",
    "aware",
]
