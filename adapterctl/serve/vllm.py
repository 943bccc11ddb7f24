"""Environments that drive a vLLM server through its runtime LoRA API.

    [environments.prod]
    server = "http://10.0.0.5:8000"
    engine = "vllm"

vLLM runs with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and exposes POST /v1/load_lora_adapter
{"lora_name", "lora_path"}, POST /v1/unload_lora_adapter {"lora_name"} and GET /v1/models.
Reloading an adapter under a name it already had can keep serving the old weights
(vllm#42125), so every version is loaded under its own name, `NAME@<id12>`, and a name
always means the same weights. vLLM has no aliases: the stable name (`NAME` → the versioned
name now served) is kept here, in .adapterctl/vllm/ENV.json, switched only after the load
succeeded, and printed by `adapterctl sync`. The version it replaces is unloaded once
`grace_seconds` have passed (by this sync or a later one), so requests already sent to it
can finish. Only the standard library talks HTTP here: deploy needs no web stack.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl import manifest, versions
from adapterctl.core.errors import AdapterctlError, StorageError, UsageError
from adapterctl.core.project import Project, atomic_write
from adapterctl.core.refs import parse_ref
from adapterctl.manifest import EnvironmentSection
from adapterctl.serve.client import json_request
from adapterctl.store import environments


class ServerError(AdapterctlError):
    """The inference server refused a call or could not be reached."""


class VllmClient:
    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.calls: list[tuple[str, str]] = []  # (endpoint, lora_name): what this client asked, in order

    def models(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v1/models").get("data", []))

    def load(self, name: str, path: str) -> None:
        self.calls.append(("load", name))
        self._call("POST", "/v1/load_lora_adapter", {"lora_name": name, "lora_path": path})

    def unload(self, name: str) -> None:
        self.calls.append(("unload", name))
        self._call("POST", "/v1/unload_lora_adapter", {"lora_name": name})

    def _call(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        request = json_request(self.url + path, method, body, self.api_key)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            raise ServerError(f"{method} {self.url}{path}: HTTP {exc.code}: {_message(exc.read())}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerError(f"{method} {self.url}{path}: cannot reach the server ({reason})") from None
        try:  # load/unload answer plain text ("Success: ..."), /v1/models JSON
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return {"text": text}
        return parsed if isinstance(parsed, dict) else {"data": parsed}


def _message(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return text[:300]
    if isinstance(body, dict):
        error = body.get("error")
        inner = error if isinstance(error, dict) else body
        return str(inner.get("message") or text)[:300]
    return text[:300]


def served_name(name: str, vid: str) -> str:
    return f"{name}@{vid[:12]}"


@dataclass
class AdapterSync:
    name: str
    version: str  # full id the environment points at
    served_name: str  # versioned name the stable name maps to after this sync
    synced: bool  # the server serves the pointer's version
    loaded: bool = False  # this sync loaded it
    error: str = ""


@dataclass
class SyncReport:
    env: str
    server: str
    synced: bool
    adapters: list[AdapterSync] = field(default_factory=list)
    unloaded: list[str] = field(default_factory=list)
    pending_unload: list[str] = field(default_factory=list)  # replaced, still inside the grace period
    calls: list[tuple[str, str]] = field(default_factory=list)

    def problem(self) -> str:
        failed = [a for a in self.adapters if not a.synced]
        return "; ".join(f"{a.name}@{a.version[:12]}: {a.error}" for a in failed)


def target(project: Project, env: str) -> EnvironmentSection | None:
    return manifest.load(project.manifest_path).environments.get(env)


def sync(project: Project, env: str, *, client: VllmClient | None = None) -> SyncReport:
    """Make the vLLM server for `env` serve what `env` points at; see the module docstring."""
    spec = target(project, env)
    if spec is None:
        raise UsageError(
            f"adapterctl.toml: environment '{env}' names no server (add [environments.{env}] "
            'server = "http://HOST:8000", engine = "vllm")'
        )
    api_key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
    client = client or VllmClient(spec.server, api_key=api_key, timeout=spec.timeout_seconds)
    state = _load_state(project, env)
    report = SyncReport(env, spec.server, synced=True)
    pointers = environments.served(project, env)
    try:
        loaded = {m.get("id") for m in client.models()}
    except ServerError as exc:
        report.synced = False
        report.adapters = [
            AdapterSync(n, v, state.get(n, {}).get("stable", ""), False, error=str(exc))
            for n, v in sorted(pointers.items())
        ]
        return report
    now = time.time()
    base: versions.BaseInUse | None = None  # fingerprinted once per sync, and only when a version loads
    for name, vid in sorted(pointers.items()):
        entry = state.setdefault(name, {"stable": "", "version": "", "retired": []})
        want = served_name(name, vid)
        result = AdapterSync(name, vid, entry["stable"], synced=True)
        if want not in loaded:
            try:
                base = base or versions.manifest_base(project)
                client.load(want, _server_path(project, spec, name, vid, base))
                loaded.add(want)
                result.loaded = True
            except AdapterctlError as exc:  # the stable name stays on the old version
                result.synced, result.error = False, str(exc)
                report.synced = False
                report.adapters.append(result)
                continue
        if entry["stable"] != want:
            if entry["stable"]:
                entry["retired"].append({"name": entry["stable"], "since": now})
            entry.update(stable=want, version=vid)
        entry["retired"] = [r for r in entry["retired"] if r["name"] != want]
        result.served_name = want
        report.adapters.append(result)
    _adopt_strays(state, loaded, pointers, now)
    for name in set(state) - set(pointers):  # no longer in this environment: retire what it served
        entry = state[name]
        if entry["stable"]:
            entry["retired"].append({"name": entry["stable"], "since": now})
            entry.update(stable="", version="")
    _unload_expired(client, state, loaded, spec.grace_seconds, now, report)
    report.calls = list(client.calls)
    _save_state(project, env, {n: e for n, e in state.items() if e["stable"] or e["retired"]})
    return report


def _adopt_strays(state: dict, loaded: set, pointers: dict[str, str], now: float) -> None:
    """Versioned names of these adapters that the server holds but the state does not know
    (the state file was lost, or another machine synced): retire them like any replaced one."""
    for name in pointers:
        entry = state[name]
        known = {entry["stable"], *(r["name"] for r in entry["retired"])}
        for model in sorted(m for m in loaded if isinstance(m, str) and m.startswith(f"{name}@")):
            if model not in known:
                entry["retired"].append({"name": model, "since": now})


def _unload_expired(client: VllmClient, state: dict, loaded: set, grace: float, now: float, report: SyncReport) -> None:
    for entry in state.values():
        keep = []
        for retired in entry["retired"]:
            name = retired["name"]
            if name not in loaded:
                continue  # already gone (unloaded by hand, or the server restarted)
            if now - retired["since"] < grace:
                keep.append(retired)
                report.pending_unload.append(name)
                continue
            try:
                client.unload(name)
                report.unloaded.append(name)
            except ServerError:
                keep.append(retired)  # try again on the next sync; serving is unaffected
        entry["retired"] = keep


def _server_path(project: Project, spec: EnvironmentSection, name: str, vid: str, base: versions.BaseInUse) -> str:
    """Where the server finds the version: admitted here first (weights, base, structure),
    then mapped to its view."""
    version = versions.resolve(project, parse_ref(f"{name}@{vid}"), verify=False)
    if version.id != vid:
        raise StorageError(f"{name}@{vid[:12]}: no card with exactly this id")
    base.admit(version)
    if spec.adapters_root:
        return str(Path(spec.adapters_root) / name / vid)
    return str(version.path)


def _state_path(project: Project, env: str) -> Path:
    return project.state_dir / "vllm" / f"{env}.json"


def _load_state(project: Project, env: str) -> dict[str, Any]:
    try:
        return json.loads(_state_path(project, env).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _save_state(project: Project, env: str, state: dict[str, Any]) -> None:
    atomic_write(_state_path(project, env), json.dumps(state, indent=2, sort_keys=True) + "\n")
