"""One line for each way a DVC remote can fail: its plugin is missing, it cannot be reached,
it refuses the credentials, or the bucket or path does not exist. Pure: `storage` catches the
exceptions (from DVC, fsspec, botocore, asyncssh) and asks here what to tell the user, so the
message says what to check rather than which library raised."""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

# adapterctl's extras for DVC's remote plugins (pyproject.toml [project.optional-dependencies]).
EXTRAS = {"dvc-s3": "s3", "dvc-gs": "gs", "dvc-azure": "azure", "dvc-ssh": "ssh"}

# Where each kind of remote takes its credentials: written with --local (.dvc/config.local,
# never committed) or set in the environment.
_CREDENTIALS = {
    "s3": "access_key_id and secret_access_key (`dvc remote modify --local {name} ...`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
    "gs": "credentialpath (`dvc remote modify --local {name} credentialpath ...`) or GOOGLE_APPLICATION_CREDENTIALS",
    "azure": "connection_string or account_key (`dvc remote modify --local {name} ...`) or AZURE_STORAGE_CONNECTION_STRING",
    "ssh": "the user in the URL and keyfile (`dvc remote modify --local {name} keyfile ~/.ssh/id_ed25519`), and that the key is in the server's authorized_keys",
}

_UNREACHABLE = re.compile(
    r"could not connect|connect call failed|connection refused|name or service not known|"
    r"temporary failure in name resolution|timed out|no route to host|network is unreachable|connection reset",
    re.I,
)
_AUTH = re.compile(
    r"forbidden|access ?denied|invalidaccesskeyid|signaturedoesnotmatch|unable to locate credentials|"
    r"permission denied|authentication failed|invalid ?token|unauthori[sz]ed|\b403\b|\b401\b",
    re.I,
)
_MISSING = re.compile(r"nosuchbucket|no such bucket|bucket does not exist|no such file|not found|\b404\b", re.I)


def plugin_missing(message: str, name: str, url: str) -> str | None:
    """The line for DVC's "requires 'dvc-X' to be installed", or None when `message` is another error."""
    found = re.search(r"requires '(dvc-[a-z0-9-]+)'", message)
    if not found:
        return None
    plugin, url = found.group(1), masked(url)
    extra = EXTRAS.get(plugin)
    install = f"pip install 'adapterctl[{extra}]'" if extra else f"pip install {plugin}"
    return f"remote {name} ({url}) needs DVC's {plugin} plugin, which is not installed: {install}"


def scheme(url: str) -> str:
    """The remote kind: s3, gs, azure, ssh, ... ("local" for a folder)."""
    kind = urlsplit(url).scheme.lower() if "://" in url else "local"
    return {"gcs": "gs", "az": "azure", "sftp": "ssh"}.get(kind, kind)


def endpoint(url: str, conf: dict) -> tuple[str, int] | None:
    """The host and port a remote connects to, when they are known without asking the cloud's
    SDK (an S3-compatible endpointurl, an SSH host, an HTTP server); None otherwise."""
    kind = scheme(url)
    if kind == "s3" and conf.get("endpointurl"):
        parts = urlsplit(str(conf["endpointurl"]))
        default = 443 if parts.scheme == "https" else 80
    elif kind == "ssh":
        parts = urlsplit(url)
        default = int(conf.get("port") or 22)
    elif kind in ("http", "https", "webdav", "webdavs"):
        parts = urlsplit(url)
        default = 443 if kind in ("https", "webdavs") else 80
    else:
        return None
    if not parts.hostname:
        return None
    try:
        port = parts.port or default
    except ValueError:  # a malformed port: the library's own error says more
        return None
    return parts.hostname, port


def unreachable(name: str, url: str, conf: dict, timeout_s: float = 5.0) -> str | None:
    """The line for a remote whose server does not accept a connection, or None when it does
    (or its address is not known here). Checked before a transfer: the cloud SDKs retry a dead
    endpoint for half a minute before giving up."""
    where = endpoint(url, conf)
    if where is None:
        return None
    host, port = where
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return _unreachable_line(name, url, f"{host}:{port}: {reason}")


def explain(exc: BaseException, name: str, url: str, action: str) -> str:
    """One line for an exception raised while `action` (push, pull, ...) used remote `name`."""
    detail = _detail(exc)
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    plugin = plugin_missing(detail, name, url)
    if plugin:
        return plugin
    if kinds & {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionRefusedError", "gaierror"} or (
        _UNREACHABLE.search(detail) and "PermissionError" not in kinds
    ):
        return _unreachable_line(name, url, detail)
    if "PermissionError" in kinds and getattr(exc, "filename", None):  # mode bits on a path, not the login
        return f"remote {name} ({masked(url)}) does not let this user write {getattr(exc, 'filename', '')}: check the folder's owner and mode"
    if kinds & {"NoCredentialsError", "PermissionDenied", "PermissionError"} or _AUTH.search(detail):
        return auth_refused(name, url, detail)
    if "FileNotFoundError" in kinds or _MISSING.search(detail):
        return no_such_location(name, url, detail)
    return f"{action} with remote {name} ({masked(url)}) failed: {detail}"


def auth_refused(name: str, url: str, detail: str) -> str:
    how = _CREDENTIALS.get(scheme(url), "the remote's credentials (`dvc remote modify --local {name} ...`)")
    url = masked(url)
    return f"remote {name} ({url}) refused access ({detail}): check {how.format(name=name)}"


def no_such_location(name: str, url: str, detail: str) -> str:
    what = "bucket" if scheme(url) in ("s3", "gs", "azure") else "path"
    url = masked(url)
    return (
        f"remote {name} ({url}): no such {what} ({detail}): check the URL "
        f"(`dvc remote modify {name} url ...`) and that the {what} exists"
    )


def _unreachable_line(name: str, url: str, detail: str) -> str:
    return (
        f"cannot reach remote {name} ({masked(url)}): {detail}: check the host, port or endpointurl "
        "(`dvc remote list`), that the server is running, and the network between"
    )


def _detail(exc: BaseException) -> str:
    """The first line of what went wrong, without a credential that an URL may carry."""
    text = str(exc).strip() or type(exc).__name__
    return masked(text.splitlines()[0] if text else type(exc).__name__)


def masked(text: str) -> str:
    """`text` with the password of any user:password@ in an URL replaced by ***."""
    return re.sub(r"(://[^/:@\s]+):[^@/\s]+@", r"\1:***@", text)


# Keys of a DVC remote that hold secrets: they belong in .dvc/config.local or the environment.
SECRET_KEYS = (
    "secret_access_key",
    "session_token",
    "password",
    "account_key",
    "sas_token",
    "connection_string",
    "client_secret",
    "key_secret",
    "passphrase",
)


def committed_secrets(repo_config: dict) -> list[str]:
    """`remote NAME: KEY` for each secret in the committed .dvc/config (its parsed `remote` table)."""
    found = []
    for name, conf in (repo_config.get("remote") or {}).items():
        found += [f"remote {name}: {key}" for key in SECRET_KEYS if key in (conf or {})]
        if re.search(r"://[^/:@\s]+:[^@/\s]+@", str((conf or {}).get("url", ""))):
            found.append(f"remote {name}: a password in the url")
    return found
