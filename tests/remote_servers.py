"""Real remote servers on 127.0.0.1 for the transfer tests: moto's standalone S3 server and
Debian's OpenSSH server, each a separate child process with its state in a temporary folder.
Plain helpers; the test modules wrap them in fixtures."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd",) if Path(p).exists()), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on (bound and released: the kernel does not hand it out again at once)."""
    return free_port()


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not listen on port {port} within {timeout}s: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class S3Server:
    endpoint: str
    port: int


@contextmanager
def moto_s3(folder: Path, *, enforce_auth: bool = False) -> Iterator[S3Server]:
    """moto's standalone server (the one s3fs's own tests use). With `enforce_auth`, every
    request must be signed by a key moto's IAM knows: any other key is refused, as AWS does."""
    port = free_port()
    log = folder / f"moto-{port}.log"
    env = {**os.environ}
    if enforce_auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_for_port(port, proc, log)
        yield S3Server(f"http://127.0.0.1:{port}", port)
    finally:
        _stop(proc)


def create_bucket(server: S3Server, bucket: str) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="admin",
        aws_secret_access_key="admin-secret",
    )
    client.create_bucket(Bucket=bucket)


@dataclass
class SSHServer:
    port: int
    user: str
    key: Path  # the private key the server accepts
    other_key: Path  # a key it does not know
    store: Path  # a folder the remote can live in


def sshd_unavailable() -> str | None:
    """Why this machine cannot run the test sshd, or None when it can."""
    if SSHD is None:
        return "OpenSSH server not installed (apt-get install openssh-server; .ci/run installs it)"
    if not Path("/run/sshd").is_dir():
        try:
            Path("/run/sshd").mkdir(mode=0o755, parents=True)
        except OSError as exc:
            return f"sshd needs its privilege-separation folder /run/sshd ({exc.strerror}); run as root or create it"
    return None


@contextmanager
def openssh(folder: Path) -> Iterator[SSHServer]:
    """sshd in the foreground (a child, not a daemon) on a free port, with a generated host key,
    one authorised user key, and its own sshd_config: nothing of the machine's sshd is used."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "user_key", "other_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True, capture_output=True
        )
    (folder / "authorized_keys").write_text((folder / "user_key.pub").read_text())
    (folder / "authorized_keys").chmod(0o600)
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n"
    )
    log = folder / "sshd.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, log)
        store = folder / "store"
        store.mkdir()
        import getpass

        yield SSHServer(port, getpass.getuser(), folder / "user_key", folder / "other_key", store)
    finally:
        _stop(proc)
