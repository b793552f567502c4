"""Languages: which locales exist for whom and the page's lang/dir (i18n), translation catalogues — the
installation's and each organisation's own — with their review state, checks of recordings of the
child's fixed texts, and the message sent with a child's link.

May import only the frame's core; never a view, never another room.
"""
