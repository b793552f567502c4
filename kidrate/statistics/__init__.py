"""Group statistics: the group report aggregated in SQL, suppression of small counts (pure), its charts
and exports (CSV, XLSX, text), the SU-X 2021 record layout with pseudonyms (pure) and its import and
export, and the `kidrate report` / `import-sux` / `export-sux` commands.

May import the frame's core and the red thread (the ratings summary a report reads); never a view.
"""
