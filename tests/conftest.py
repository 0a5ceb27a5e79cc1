"""Shared fixtures. Test modules read like specifications; the wiring lives here."""

from __future__ import annotations

import sys
from pathlib import Path

# Lets test modules import the shared personas and support helpers as `tests.…`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
