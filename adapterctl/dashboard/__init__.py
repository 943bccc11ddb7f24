"""`adapterctl ui`: a local, read-only-by-default dashboard of adapters, versions, metrics,
environments and diffs.

Every page is drawn from what the CLI's own functions return (api.log, api.diff, api.report,
api.status, ...; the server is handed the api module, so this package never imports the
layers above it). Pages follow the repository live through the same fingerprint of the
environment pointers that `serve` polls, plus the cards and eval results. Assets (uPlot
1.6.32, MIT, for charts) ship in static/: nothing is fetched from a CDN.
"""
