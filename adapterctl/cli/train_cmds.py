"""train, sweep: turning a declared spec into versions."""

from __future__ import annotations
