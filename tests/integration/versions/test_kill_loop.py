"""Bounded kill -9 loop (issue 8, item 8): state-changing commands are killed at random points,
and after every round the project must still be consistent.

Each round starts one of `import`, `deploy`/`rollback`, `push`, `gc --yes`, `eval` (which
records results beside the card), `combine`, `data fix` or (now and then) a tiny
`train` as a real process on the example project with a local DVC remote, sends it
SIGKILL after a random, seeded fraction of its run time (or lets it finish), and then checks through the CLI:

- `log`, `status`, `resolve` and `envs` agree on every adapter's versions and pointers;
- no half version: every version folder and .dvc file has a card (after the next command
  has swept what the killed one left);
- no corrupt copy: a version folder that is present hashes to its id;
- no orphan card: every card's weights are in the workspace, the DVC cache or the remote;
- no lost pointer: every environment points at a version whose card exists;
- no temporary file of a killed card or pointer write is left in adapters/ or environments/
  (the next state-changing command sweeps them; `git add -A` would commit them);
- every eval a card records has its results and baseline files, whole (as many rows as the
  card says);
- a `--fix` folder is either absent or complete (fixes.jsonl and both cleaned files); a
  staging folder a killed fix left is git-ignored until the next fix removes it;
- no traceback from a command that was allowed to finish.

Rounds and seed: ADAPTERCTL_KILL_ROUNDS (default 50), ADAPTERCTL_KILL_SEED (default 8);
ADAPTERCTL_KILL_OPS=eval,combine,fix runs only those operations (a focused run).
With ADAPTERCTL_KILL_REPORT=PATH the figures of the run are written there as JSON.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapterctl import versions
from adapterctl.core.project import Project
from adapterctl.store import storage, weights

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[3]
ROUNDS = int(os.environ.get("ADAPTERCTL_KILL_ROUNDS", "50"))
SEED = int(os.environ.get("ADAPTERCTL_KILL_SEED", "8"))
NAMES = ("support", "docs")
COMBINED = "both"  # `combine support docs --into both` makes a third adapter
# (operation, weight, first guess at its run time in seconds on this machine). The kill comes
# after a random fraction of the run time learnt so far (0-1.3 of it, so some runs finish and
# keep the estimate honest on fast and slow machines alike); train's fraction starts at 0.4
# so that some kills land in its registration.
OPERATIONS = [
    ("import", 5, 3.0),
    ("deploy", 5, 2.0),
    ("push", 3, 2.5),
    ("gc", 3, 2.5),
    ("eval", 3, 45.0),
    ("combine", 2, 15.0),
    ("fix", 2, 12.0),
    ("train", 1, 30.0),
]
FRACTION = {"train": (0.4, 1.3), "eval": (0.3, 1.3)}
if os.environ.get("ADAPTERCTL_KILL_OPS"):
    _chosen = set(os.environ["ADAPTERCTL_KILL_OPS"].split(","))
    OPERATIONS = [op for op in OPERATIONS if op[0] in _chosen]


def _invoke(*args: str):
    from adapterctl.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result


class Loop:
    def __init__(self, project: Path, adapters: list[Path], rng: random.Random) -> None:
        self.root = project
        self.p = Project(project)
        self.adapters = adapters
        self.rng = rng
        self.findings: list[str] = []
        self.kills: Counter[str] = Counter()
        self.finished: Counter[str] = Counter()
        self.run_time = {op: guess for op, _, guess in OPERATIONS}
        self.imported: set[tuple[str, Path]] = set()
        self.fixes: list[str] = []  # --fix folders named so far

    # ── one round ──

    def command(self, op: str, round_no: int) -> list[str]:
        name = self.rng.choice(NAMES)
        if op == "import":  # mostly content this name has not seen, so that it registers
            fresh = [a for a in self.adapters if (name, a) not in self.imported]
            source = self.rng.choice(fresh if fresh and self.rng.random() < 0.85 else self.adapters)
            self.imported.add((name, source))
            return ["import", name, str(source), "-m", f"round {round_no}"]
        if op == "train":
            return [
                "train",
                name,
                "--set",
                "train.max_steps=2",
                "--set",
                f"train.seed={round_no}",
                "--set",
                "train.eval_steps=1",
                "-m",
                f"round {round_no}",
            ]
        if op == "push":
            ids = [v.ref for v in versions.log(self.p, name)]
            return ["push", self.rng.choice(ids)] if ids and self.rng.random() < 0.5 else ["push"]
        if op == "gc":
            return ["gc", "--yes", "--keep-last", str(self.rng.choice([0, 1]))]
        if op == "eval":  # a few rows: generation, then results and the card written
            return ["eval", name, "--limit", str(self.rng.choice([2, 3, 4]))]
        if op == "combine":
            return ["combine", "support", "docs", "--into", COMBINED, "--weights", f"{self.rng.randint(1, 9) / 10},0.5"]
        if op == "fix":
            self.fixes.append(f"clean-{round_no}")
            return ["data", "fix", name, self.fixes[-1]]
        ids = [v.ref for v in versions.log(self.p, name)]
        env = self.rng.choice(["prod", "staging"])
        if not ids:
            return ["import", name, str(self.rng.choice(self.adapters))]
        if self.rng.random() < 0.25:
            return ["rollback", name, "--env", env]
        return ["deploy", self.rng.choice(ids), "--env", env, "--ignore-gates"]

    def run_round(self, round_no: int) -> dict[str, Any]:
        ops, weights_, _ = zip(*OPERATIONS, strict=True)
        op = self.rng.choices(ops, weights=weights_)[0]
        args = self.command(op, round_no)
        delay = self.rng.uniform(*FRACTION.get(op, (0.0, 1.3))) * self.run_time[op]
        stderr = self.root.parent / f"round-{round_no}.stderr"
        with stderr.open("w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "adapterctl", *args],
                cwd=self.root,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                start_new_session=True,
            )
            started = time.monotonic()
            try:
                code = proc.wait(timeout=delay)
                self.finished[args[0]] += 1
                killed = False
                if args[0] == op and code == 0:  # learn how long a whole run takes here
                    self.run_time[op] = (self.run_time[op] + time.monotonic() - started) / 2
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                code = proc.wait()
                self.kills[args[0]] += 1
                killed = True
                if delay >= self.run_time[op]:  # it ran longer than we thought
                    self.run_time[op] *= 1.25
        text = stderr.read_text(errors="replace")
        if not killed and ("Traceback" in text or code not in (0, 1, 2)):
            self.findings.append(f"round {round_no}: `adapterctl {' '.join(args)}` exited {code}: {text[-800:]}")
        self.check(round_no, args, killed)
        last = text.strip().splitlines()[-1] if text.strip() else ""
        return {
            "round": round_no,
            "args": args,
            "killed": killed,
            "after_s": round(delay, 2),
            "exit": code,
            "said": last[:300],
        }

    # ── the invariants ──

    def problem(self, round_no: int, args: list[str], killed: bool, what: str) -> None:
        how = "killed" if killed else "finished"
        self.findings.append(f"round {round_no} (`{' '.join(args)}` {how}): {what}")

    def check(self, round_no: int, args: list[str], killed: bool) -> None:
        def bad(what: str) -> None:
            self.problem(round_no, args, killed, what)

        root = str(self.root)
        remote = storage.remote_name(self.root)
        swept = _invoke("gc", "-C", root)  # a state change: sweeps what a killed writer left, under the lock
        if swept.exit_code != 0:
            bad(f"gc exited {swept.exit_code}: {swept.stderr.strip()}")
        envs = _invoke("envs", "--json", "-C", root)
        if envs.exit_code != 0:
            bad(f"envs exited {envs.exit_code}: {envs.stderr.strip()}")
            return
        pointers = {(r["env"], r["name"]): r["version"] for r in json.loads(envs.stdout)}
        status = _invoke("status", "--json", "-C", root)
        if status.exit_code != 0:
            bad(f"status exited {status.exit_code}: {status.stderr.strip()}")
            return
        latest = {s["name"]: s["latest"] for s in json.loads(status.stdout)}
        for name in (*NAMES, COMBINED):
            if name == COMBINED and not self.p.adapter_dir(name).is_dir():
                continue
            log = _invoke("log", name, "--json", "-C", root)
            state = self.p.state_dir
            leftovers = [*(state / "pending").glob("*"), *(state / "staging").glob("*")]
            if leftovers:
                bad(f"gc did not sweep what the killed command left: {[self.p.relpath(x) for x in leftovers]}")
            ids = [e["id"] for e in json.loads(log.stdout)] if log.exit_code == 0 else []
            if log.exit_code != 0 and "has no versions yet" not in log.stderr:
                bad(f"log {name} exited {log.exit_code}: {log.stderr.strip()}")
            folder = self.p.adapter_dir(name)
            cards = sorted(c.stem for c in folder.glob("*.toml")) if folder.is_dir() else []
            if sorted(ids) != cards:
                bad(f"log {name} lists {len(ids)} versions, but there are {len(cards)} cards")
            if name == COMBINED:  # undeclared in the manifest: status tracks declared adapters only
                if name in latest:
                    bad(f"status lists {name}, which the manifest does not declare")
            elif latest.get(name, "") != (ids[0][:12] if ids else ""):
                bad(f"status says {name}'s latest is {latest.get(name)!r}, log says {ids[:1]}")
            on_disk = {p.name.removesuffix(".dvc") for p in folder.glob("*")} if folder.is_dir() else set()
            for vid in sorted(x for x in on_disk if versions.ID.match(x) and x not in cards):
                bad(f"half version: adapters/{name}/{vid} (folder or .dvc) has no card")
            if ids:
                resolved = _invoke("resolve", name, "--json", "-C", root)
                self.check_resolve(bad, resolved, name, ids[0])
            for vid in ids:
                self.check_version(bad, name, vid, remote)
            for (env, env_name), vid in pointers.items():
                if env_name != name:
                    continue
                if vid not in ids:
                    bad(f"lost pointer: {env} → {name}@{vid[:12]}, which has no card")
                    continue
                self.check_resolve(bad, _invoke("resolve", f"{name}@{env}", "--json", "-C", root), f"{name}@{env}", vid)
        self.check_fix_folders(bad)
        # finding F3: gc (above) took the lock and swept what killed writes left
        unswept = [x for x in self.workspace_debris() if x.startswith(("adapters/", "environments/"))]
        if unswept:
            bad(f"temporary files of killed card/pointer writes were not swept: {unswept}")

    def check_resolve(self, bad, result, ref: str, expected: str) -> None:
        if result.exit_code == 0:
            got = json.loads(result.stdout)["id"]
            if got != expected:
                bad(f"resolve {ref} gives {got[:12]}, log/envs say {expected[:12]}")
        elif "weights not available locally" not in result.stderr:
            bad(f"resolve {ref} exited {result.exit_code}: {result.stderr.strip()}")

    def check_evals(self, bad, name: str, vid: str) -> None:
        """Every eval the card records: its results and baseline are there and whole."""
        from adapterctl.evaluation import results

        card = versions.resolve(self.p, f"{name}@{vid}", verify=False).card
        for key, entry in (card.metrics.evals or {}).items():
            for rel in (entry.get("results"), entry.get("baseline")):
                if rel and results.read(self.root / rel) is None:
                    bad(f"{name}@{vid[:12]}: eval {key} names {rel}, which is missing")
            found = results.read(self.root / entry.get("results"))
            if found is not None and len(found.rows) != entry.get("rows"):
                bad(f"{name}@{vid[:12]}: eval {key} has {len(found.rows)} rows, the card says {entry.get('rows')}")

    def check_fix_folders(self, bad) -> None:
        """A --fix folder is absent or whole; a killed fix's staging folder is git-ignored."""
        for folder in self.fixes:
            out = self.root / folder
            if out.exists():
                have = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
                if "fixes.jsonl" not in have or not any(h.startswith("data/") for h in have):
                    bad(f"half-written --fix folder {folder}: {sorted(have)}")
        for staging in self.root.glob(".*.fix-*"):
            ignored = subprocess.run(["git", "check-ignore", "-q", staging.name + "/"], cwd=self.root)
            if ignored.returncode != 0:
                bad(f"staging folder {staging.name} of a killed fix is not git-ignored")

    def check_version(self, bad, name: str, vid: str, remote: str | None) -> None:
        self.check_evals(bad, name, vid)
        path = versions.version_dir(self.p, name, vid)
        if path.is_dir():
            if not (path / weights.WEIGHTS).is_file() or weights.content_id(path) != vid:
                bad(f"corrupt local copy: adapters/{name}/{vid[:12]}/ does not hash to its id")
            return
        local, on_remote = storage.availability(self.root, path, remote)
        if not (local or on_remote):
            bad(f"orphan card: {name}@{vid[:12]}'s weights are in neither the workspace, the cache nor the remote")

    def workspace_debris(self) -> list[str]:
        """Temporary files of interrupted atomic writes outside .git/.dvc (git add -A would commit them)."""
        skip = {".git", ".dvc", ".adapterctl"}
        return sorted(
            self.p.relpath(p)
            for p in self.root.rglob(".*.tmp")
            if p.is_file() and not skip & set(p.relative_to(self.root).parts)
        )

    def remote_debris(self) -> list[str]:
        remote = self.root.parent / "remote"
        return sorted(str(p.relative_to(remote)) for p in remote.rglob("*") if p.is_file() and "tmp" in p.name)


def _variants(adapters: list[Path], out: Path, count: int, rng: random.Random) -> list[Path]:
    """`count` distinct adapter folders: copies of the test adapters with one LoRA tensor nudged,
    so imports register new versions round after round (cheaper than building PEFT adapters)."""
    import shutil

    from safetensors.numpy import load_file, save_file

    made = []
    for i in range(count):
        source = adapters[i % len(adapters)]
        folder = out / f"variant-{i}"
        shutil.copytree(source, folder)
        tensors = load_file(str(source / weights.WEIGHTS))
        key = sorted(tensors)[rng.randrange(len(tensors))]
        tensors[key] = tensors[key] + (i + 1) * 1e-3
        save_file(tensors, str(folder / weights.WEIGHTS))
        made.append(folder)
    return made


def test_kill_nine_loop_leaves_a_consistent_project(project: Path, adapters: list[Path], tmp_path: Path) -> None:
    rng = random.Random(SEED)
    loop = Loop(project, _variants(adapters, tmp_path / "variants", 24, rng), rng)
    p = Project(project)
    for i, name in enumerate(NAMES):  # something to deploy, push and gc from the first round
        versions.import_folder(p, name, loop.adapters[i], message="seed")
        loop.imported.add((name, loop.adapters[i]))
    started = time.monotonic()
    rounds = [loop.run_round(n) for n in range(1, ROUNDS + 1)]
    figures = {
        "rounds": len(rounds),
        "seed": SEED,
        "killed": dict(loop.kills),
        "finished": dict(loop.finished),
        "versions": {name: len(versions.log(p, name)) for name in NAMES if versions.log(p, name)},
        "eval_results": sum(len(v.card.evals()) for name in NAMES for v in versions.log(p, name)),
        "fix_folders": sum((project / f).is_dir() for f in loop.fixes),
        "inconsistencies": len(loop.findings),
        "remote_tmp_files": len(loop.remote_debris()),
        "workspace_tmp_files": loop.workspace_debris(),
        "seconds": round(time.monotonic() - started, 1),
        "learnt_run_time_s": {op: round(t, 1) for op, t in loop.run_time.items()},
    }
    if os.environ.get("ADAPTERCTL_KILL_REPORT"):
        Path(os.environ["ADAPTERCTL_KILL_REPORT"]).write_text(
            json.dumps({"figures": figures, "findings": loop.findings, "rounds": rounds}, indent=1)
        )
    print(json.dumps(figures))
    assert sum(loop.kills.values()) >= ROUNDS // 3, f"too few kills to mean anything: {figures}"
    assert not loop.findings, "\n".join(loop.findings)
