"""`sync`: make an environment's inference server serve what the environment points at
(serve/vllm.py does the talking; this takes the project lock around it)."""

from __future__ import annotations

from adapterctl.core.project import Project
from adapterctl.ops import changes_state
from adapterctl.serve import vllm


@changes_state
def sync(project: Project, env: str) -> vllm.SyncReport:
    return vllm.sync(project, env)


def sync_if_server(project: Project, env: str) -> vllm.SyncReport | None:
    """After a move: drive the environment's server, if the manifest names one."""
    if vllm.target(project, env) is None:
        return None
    return sync(project, env)
