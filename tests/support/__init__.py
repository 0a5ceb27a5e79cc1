"""Test support code: a local, faithful stand-in for the Telegram Bot API."""
