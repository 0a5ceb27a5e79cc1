"""Periodic check-ins: the seller's side (chat) and the sender (dispatcher)."""
