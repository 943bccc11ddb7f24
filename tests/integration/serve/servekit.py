"""Helpers for the server tests: PEFT versions, a served project, the server process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from helpers import without_gates

REPO_ROOT = Path(__file__).resolve().parents[3]
PROMPTS = ["Hello, how are you?", "My order has not arrived"]


def make_peft_adapter(base_dir: Path, out_dir: Path, *, seed: int, r: int = 4) -> Path:
    """A random (init_lora_weights=False) LoRA adapter on every linear layer: versions that
    answer visibly differently, built in a fraction of a second."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_dir)
    torch.manual_seed(seed)
    config = LoraConfig(r=r, lora_alpha=2 * r, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(out_dir)
    return out_dir


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_project(template: Path, dest: Path, adapters: list[Path], n: int = 2, deploy: bool = True):
    """Copy the example project, import `n` adapters as versions of support and (with
    `deploy`) deploy each in turn to prod, so prod's history is v1 → v2 when n = 2.
    Returns (root, [Version, ...])."""
    from adapterctl import api, versions
    from adapterctl.core.project import Project
    from adapterctl.store import storage

    shutil.copytree(template, dest, symlinks=True)
    remote = dest.parent / f"{dest.name}-remote"
    shutil.copytree(template.parent / "remote", remote)
    storage.add_remote(dest, "storage", str(remote))
    manifest = dest / "adapterctl.toml"  # imported versions are never evaluated: no gates to pass
    manifest.write_text(without_gates(manifest.read_text()))
    _git(dest, "add", "-A")
    _git(dest, "commit", "-qm", "fixture", "--allow-empty")
    project = Project(dest)
    made = [versions.import_folder(project, "support", a, message=f"v{i + 1}") for i, a in enumerate(adapters[:n])]
    for v in made if deploy else []:
        api.deploy(project, v.ref, "prod")
    return dest, made


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    root: Path
    log: Path

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(root: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    log = root.parent / f"serve-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapterctl", "serve", "--env", "prod", "--port", str(port), *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    server = Server(proc, f"http://127.0.0.1:{port}", root, log)
    deadline = time.monotonic() + 120  # torch + transformers + peft imports on a busy 2-core machine
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"adapterctl serve exited {proc.returncode}:\n{server.stderr()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise AssertionError(f"adapterctl serve did not answer within 120 s:\n{server.stderr()}")


def reference_answers(
    root: Path, version_paths: dict[str, Path], max_tokens: int, prompts: list[str] = PROMPTS
) -> dict[tuple[str, str], str]:
    """(version id, prompt) → the greedy answer from plain transformers + PEFT, one prompt at a time."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir = root / "models/tiny-base"
    tok = AutoTokenizer.from_pretrained(base_dir)
    out = {}
    for vid, path in version_paths.items():
        model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), str(path)).eval()
        for prompt in prompts:
            enc = tok(prompt, return_tensors="pt")
            with torch.inference_mode():
                ids = model.generate(**enc, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
            out[(vid, prompt)] = tok.decode(ids[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return out


def forge_version(root: Path, like, folder: Path) -> str:
    """Register `folder` as a version of `like.name` by hand (card copied from `like`, files
    table and id recomputed), bypassing import and its checks: a version that verifies by
    hash but may fail to load, as one pulled from a branch made elsewhere could. Returns its id."""
    import re

    from adapterctl.store import weights

    vid = weights.content_id(folder)
    dest = like.path.with_name(vid)
    shutil.copytree(folder, dest)
    hashes = weights.file_hashes(dest)
    card = like.path.with_name(f"{like.id}.toml").read_text()
    card = card.replace(f'id = "{like.id}"', f'id = "{vid}"', 1)
    card = re.sub(r"\n\[files\]\n(?:.+\n?)*", "\n", card)
    card += "\n[files]\n" + "".join(f'"{name}" = "{digest}"\n' for name, digest in sorted(hashes.items()))
    dest.with_name(f"{vid}.toml").write_text(card)
    return vid


def broken_adapter(good: Path, out: Path, r: int = 20000) -> Path:
    """A copy of a PEFT adapter whose adapter_config.json declares rank `r` while its tensors
    keep theirs: loading it fails with a size mismatch after PEFT has built the layers."""
    import json

    shutil.copytree(good, out)
    config = json.loads((out / "adapter_config.json").read_text())
    config["r"] = r
    (out / "adapter_config.json").write_text(json.dumps(config))
    return out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def move_pointer(root: Path, vid: str, name: str = "support", env: str = "prod") -> None:
    """Point `env` at `vid` as a `git pull` would: no deploy-time checks, the server must check."""
    from adapterctl.core.project import Project
    from adapterctl.store import environments

    project = Project(root)
    envs = environments.load(project)
    environments.move(envs, env, name, vid, action="deploy")
    environments.save(project, envs)


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of sample `name` with exactly these labels in a Prometheus exposition, or None."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None
