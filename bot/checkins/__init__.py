"""Periodic check-ins: the seller's side (chat, settings) and the sender (dispatcher)."""
