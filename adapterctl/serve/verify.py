"""`adapterctl verify`: a live endpoint answers as the environment's versions were evaluated.

For each adapter the environment points at, the recorded eval results beside its card give
rows (the data row, the prompt eval rendered, the greedy output eval recorded). Each row is
sent as chat messages (data/prompts.py `messages_of`, the inverse of the mapping the server
renders with) to POST URL/chat/completions with temperature 0 and eval's max_new_tokens,
one at a time, and the answer must equal the recorded output byte for byte.

Which version answered: adapterctl's own server names it in the `X-Adapter-Version` header
of every answer; a vLLM environment ([environments.ENV] in the manifest) serves each version
under its own name (NAME@<id12>, see serve/vllm.py), so asking for that name is asking for
that version, and /models must list it. Only the standard library talks HTTP here, and no
model library is imported: verify runs on a CI box or a laptop in a second.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterctl import manifest, versions
from adapterctl.core.errors import StorageError, UsageError
from adapterctl.core.project import Project
from adapterctl.data import prompts
from adapterctl.evaluation import results
from adapterctl.serve.client import json_request
from adapterctl.store import environments, storage

VERSION_HEADER = "X-Adapter-Version"  # as serve/app.py sends it
DEFAULT_ROWS = 20


@dataclass
class RowDiff:
    hash: str
    messages: list[dict[str, str]]
    expected: str
    got: str | None  # None when the request failed
    error: str = ""


@dataclass
class AdapterVerify:
    name: str
    version: str  # full id the environment points at
    model: str  # the model name sent
    results: str  # the eval results file compared against
    rows: int = 0  # rows sent
    matched: int = 0
    served: str = ""  # the version the endpoint said it answered with ("" if it did not say)
    problem: str = ""  # why this adapter failed besides row differences
    differing: list[RowDiff] = field(default_factory=list)
    passed: bool = False  # every row sent matched, on the version the environment names


@dataclass
class VerifyReport:
    env: str
    url: str
    engine: str  # adapterctl | vllm
    adapters: list[AdapterVerify] = field(default_factory=list)
    passed: bool = False


def verify(
    project: Project,
    env: str,
    url: str,
    *,
    rows: int | None = DEFAULT_ROWS,
    adapters: list[str] | None = None,
    api_key: str | None = None,
    timeout: float = 120.0,
) -> VerifyReport:
    if rows is not None and rows < 1:  # None: every recorded row
        raise UsageError(f"--limit {rows}: replay at least 1 row, or 0 for every recorded row")
    pointers = environments.load(project).get(env) or {}
    if not pointers:
        known = sorted(environments.load(project))
        raise UsageError(f"environment {env!r} points at no version (environments: {', '.join(known) or 'none'})")
    for name in adapters or []:
        if name not in pointers:
            raise UsageError(f"--adapter {name}: {env} serves no {name} (it serves {', '.join(sorted(pointers))})")
    engine = "vllm" if env in manifest.load(project.manifest_path).environments else "adapterctl"
    client = _Client(url, api_key, timeout)
    report = VerifyReport(env, client.url, engine)
    listed = client.model_ids() if engine == "vllm" else None
    for name in sorted(adapters or pointers):
        one = _verify_one(project, client, engine, name, pointers[name].version, rows, listed)
        one.passed = not one.problem and not one.differing and one.rows > 0
        report.adapters.append(one)
    report.passed = all(a.passed for a in report.adapters)
    return report


def _verify_one(
    project: Project, client: _Client, engine: str, name: str, vid: str, n: int | None, listed: list[str] | None
) -> AdapterVerify:
    from adapterctl.serve.vllm import served_name

    version = versions.resolve(project, f"{name}@{vid}", verify=False)
    model = served_name(name, vid) if engine == "vllm" else name
    result, path = recorded(project, version)
    out = AdapterVerify(name, vid, model, project.relpath(path) if path else "")
    if result is None:
        out.problem = f"{version.ref} has no recorded eval outputs: run `adapterctl eval {version.ref}` and commit them"
        return out
    if listed is not None and model not in listed:
        out.problem = f"the endpoint does not serve {model} (it lists: {', '.join(listed) or 'nothing'})"
        return out
    fmt = prompts.for_version(project, version)
    source = _source_rows(project, result)
    for row in result.rows[:n]:
        data = source.get(row["hash"])
        if data is None:
            out.problem = f"{result.header.get('eval_data')}: row {row['hash']} of the results is not in the eval set"
            return out
        messages = prompts.messages_of(data, fmt)
        if fmt.kind != "chat" and fmt.render(messages) != row["prompt"]:
            out.problem = f"row {row['hash']}: the recorded prompt is not what the version's format renders"
            return out
        out.rows += 1
        try:
            text, served = client.chat(model, messages, int(result.header["max_new_tokens"]))
        except _HttpError as exc:
            out.differing.append(RowDiff(row["hash"], messages, row["output"], None, str(exc)))
            continue
        out.served = served or out.served
        if engine == "adapterctl" and served != vid:
            out.problem = (
                f"the endpoint answers {name} with version {served[:12] or '(no X-Adapter-Version header)'}, "
                f"but {vid[:12]} is what the environment points at"
            )
            return out
        if text == row["output"]:
            out.matched += 1
        else:
            out.differing.append(RowDiff(row["hash"], messages, row["output"], text))
    return out


def recorded(project: Project, version: versions.Version) -> tuple[results.EvalResult | None, Path | None]:
    """The newest eval results committed beside the card that hold generated outputs."""
    entries = sorted(version.card.evals().values(), key=lambda e: e.created, reverse=True)
    for entry in entries:
        path = project.root / entry.results
        result = results.read(path)
        if result is None or not result.header.get("max_new_tokens"):
            continue
        if any(r.get("output") for r in result.rows):  # all empty: eval ran no generation metric
            return result, path
    return None, None


def _source_rows(project: Project, result: results.EvalResult) -> dict[str, dict[str, Any]]:
    """The eval set's rows by content hash (the results file holds rendered prompts only)."""
    rel = result.header.get("eval_data") or ""
    path = project.root / rel
    if not path.is_file():
        raise UsageError(f"{rel}: eval set not found{storage.not_pulled_hint(path)}; verify replays its rows")
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        from adapterctl.data.loading import load_table

        rows = [dict(r) for r in load_table(path, label=rel)]
    return {results.row_hash(r): r for r in rows}


class _HttpError(Exception):
    """The endpoint answered a request with an error status."""


class _Client:
    def __init__(self, url: str, api_key: str | None, timeout: float):
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"--url {url}: give the endpoint's OpenAI base URL, e.g. http://127.0.0.1:8000/v1")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def model_ids(self) -> list[str]:
        try:
            body, _ = self._call("GET", "/models")
        except _HttpError as exc:
            raise StorageError(str(exc)) from None
        return [m.get("id", "") for m in body.get("data", []) if isinstance(m, dict)]

    def chat(self, model: str, messages: list[dict[str, str]], max_tokens: int) -> tuple[str, str]:
        """(the answer's text, the version the endpoint says answered, "" if it does not say)."""
        request = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0}
        body, headers = self._call("POST", "/chat/completions", request)
        try:
            text = body["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise _HttpError(f"not a chat completion: {json.dumps(body)[:200]}") from None
        return text, headers.get(VERSION_HEADER, "")

    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[dict[str, Any], Any]:
        req = json_request(self.url + path, method, body, self.api_key)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"{}"), resp.headers
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            try:
                detail = json.loads(detail)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                detail = detail[:200]
            raise _HttpError(f"{method} {self.url}{path}: HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StorageError(f"cannot reach {self.url}{path}: {reason}") from None
        except ValueError:
            raise StorageError(f"{self.url}{path}: the answer is not JSON") from None
