"""Protections: route and case access denied by default, server-side staff sessions and security
headers (access), the append-only audit log and the net that audits every read of a case, encryption at
rest (crypto), passwords and account links, two-factor codes, retention, and their commands
(`new-data-key`, `rotate-key`, `purge`).

May import the frame's core and the red thread (a session that ends revokes the hand-over's link);
never a view. crypto is a leaf the models use for their column types: it imports nothing of kidrate.
"""
