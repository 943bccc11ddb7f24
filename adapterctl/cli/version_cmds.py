"""log, status, deploy, rollback, resolve, push, pull, gc, import: reading and moving versions."""

from __future__ import annotations
