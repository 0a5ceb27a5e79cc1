"""Storage's public names, where they were before it was split by job (see
:mod:`bot.storage.store`)."""

from bot.storage.checkin_queue import Claim, SendOutcome, aware
from bot.storage.privacy import USER_TABLES, Stats
from bot.storage.protocol import Contended
from bot.storage.store import Store, Unit

__all__ = ["USER_TABLES", "Claim", "Contended", "SendOutcome", "Stats", "Store", "Unit", "aware"]
