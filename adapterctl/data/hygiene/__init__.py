"""Data hygiene: the checks of `adapterctl data check` and of the gate `train` passes first.

One module per check family (schema, duplicates, debris, contradictions, length, style,
tags, pii); rows.py reads files row by row with their line numbers; checker.py runs the
checks and caches reports; fix.py writes a cleaned copy. Heavy libraries (datasketch,
ftfy, transformers) are imported inside the functions that need them.
"""
