"""Fault injection for the interruption tests: stop or hang a registration at a named point.

Set ADAPTERCTL_TEST_HOOK=POINT:exit (die at once, as a kill -9 would) or POINT:sleep (hang
there until killed). The registration transaction calls `checkpoint(POINT)` at "staged",
"tracked" and "pushed"; with the variable unset it does nothing.
"""

from __future__ import annotations

import os
import sys
import time

ENV_VAR = "ADAPTERCTL_TEST_HOOK"


def checkpoint(point: str) -> None:
    wanted = os.environ.get(ENV_VAR, "")
    if not wanted or wanted.split(":")[0] != point:
        return
    if wanted.endswith(":exit"):
        os._exit(86)
    sys.stderr.write(f"test hook: paused at {point}\n")
    sys.stderr.flush()
    time.sleep(3600)
