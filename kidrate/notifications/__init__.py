"""Notifications: telling staff by e-mail that something arrived in kidrate — a case assigned, a
handover sent, a safety signal raised, a follow-up date near, a child's link about to expire
unanswered — and sending a forgotten password's link.

An e-mail never says what arrived: no child's words, no category, no case reference, only that there is
something new and a link to sign in. Sending never blocks a request: events queue a row in the outbox
(`outbox.py`) in the transaction that made them, and `kidrate send-mail` (`cli.py`, `mail.py`) sends what
is due through the organisation's SMTP server, retrying with backoff; the same run queues the daily
reminders (`reminders.py`). `unread.py` counts what a user has not yet seen, for the staff menu.

May import the frame's core, `red_thread` (whose events it listens to: `init_app` connects them) and
`protection` (the password-reset link is signed when the e-mail is sent). The red thread never imports
this room; `staff` shows its pages, and the app wires it in.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from kidrate.notifications import events

    events.connect()
