"""The red thread: a case from the social worker's assignment, through the child's ratings at start,
follow-up and closure, to the handover back — cases, links, the scale, the child's rating summary, the
closure facts, the handover, the red-thread checks, safety signals, the returning child's timeline, the
follow-up page, the tablet hand-over's rules, documents and charts; and the events it tells others of
(events.py: blinker signals, no listener known here).

Pure where possible (scale, facts → handover and checks, chart, timeline). May import only the frame's
core (config, vocab, models, extensions); never a view, never another room.
"""
