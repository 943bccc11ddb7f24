"""diff and the PR report: they read cards and committed eval results (source.py), compare two
versions (compare.py) and render blocks as markdown or HTML (render.py, blocks.py). `diff`
also reads weights and old data from this machine (weights.py, data_diff.py); `report` and
`check` never do, so they run in CI from a plain git clone.
"""
