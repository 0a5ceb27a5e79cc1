"""The conversation core: pure steps from what is stored and an event to a decision.

A step reads a :class:`~bot.core.snapshot.Snapshot` (the seller's row, the check-ups in
progress with their answers, and whatever else it asks for) through a
:class:`~bot.core.turn.Turn`, and returns a :class:`~bot.core.writes.Decision`: the writes
to make and the replies to send. Nothing here does I/O: the Telegram shell
(:mod:`bot.handlers`), the terminal chat and the tests all drive the same steps, and a
step run twice on the same snapshot decides the same thing, so a conflicting update is
simply read again and re-run.
"""
