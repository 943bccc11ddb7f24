"""The CI workflow `init` scaffolds: when it runs (every path a project keeps in git that changes
what ships) and what it installs (the running version, or the SPEC a team gives for a private
index or a git URL)."""

from __future__ import annotations

import json
import re
import shlex

from adapterctl.core import assets
from adapterctl.core.errors import UsageError
from adapterctl.core.project import ADAPTERS_DIR, MANIFEST
from adapterctl.store import environments

# The folders `init --example` fills and the manifest's example entries point into.
PROJECT_FOLDERS = ("data", "evals", "templates")
REQUIREMENTS = ".github/adapterctl-requirements.txt"
WORKFLOW = ".github/workflows/adapters.yml"

# pip options a SPEC may carry; each goes on its own line of the requirements file.
_PIP_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host"}


def managed_paths() -> list[str]:
    """The workflow's `paths:` filter, from the same constants the code writes with: the manifest,
    versions and their cards and eval results, environment pointers, the data, eval and template
    folders, every .dvc file (data and base model hashes), and the CI files themselves."""
    return [
        MANIFEST,
        f"{ADAPTERS_DIR}/**",
        f"{environments.ENVS_DIR}/**",
        *(f"{folder}/**" for folder in PROJECT_FOLDERS),
        "**/*.dvc",
        REQUIREMENTS,
        WORKFLOW,
    ]


def render_workflow() -> str:
    """The workflow file, its `paths:` filled in (a JSON list is a YAML flow sequence)."""
    text = (assets.templates_dir() / "workflows/adapters.yml").read_text()
    return text.replace("{paths}", json.dumps(managed_paths()))


def requirements_text(spec: str | None) -> str:
    """.github/adapterctl-requirements.txt: the template's comments and torch CPU index, then the
    install line: `adapterctl==<running version>`, or what SPEC says."""
    from adapterctl import __version__

    template = (assets.templates_dir() / "adapterctl-requirements.txt").read_text()
    lines = requirement_lines(spec) if spec is not None else [f"adapterctl=={__version__}"]
    return template.replace("adapterctl=={version}", "\n".join(lines))


def requirement_lines(spec: str) -> list[str]:
    """SPEC → requirements-file lines. SPEC is a requirement naming adapterctl (a version pin, a
    `adapterctl @ git+https://...` or wheel URL, or a bare git+/https URL), optionally with pip's
    index options: "adapterctl==0.2.0 --index-url https://pypi.corp.example/simple"."""
    where = "--ci-requirement"
    if "\n" in spec or "\r" in spec:
        raise UsageError(f"{where}: one line please (got {spec!r})")
    try:
        tokens = shlex.split(spec)
    except ValueError as exc:
        raise UsageError(f"{where} {spec!r}: {exc}") from None
    options: list[str] = []
    rest: list[str] = []
    it = iter(tokens)
    for token in it:
        flag, eq, value = token.partition("=")
        if flag in _PIP_OPTIONS:
            value = value if eq else next(it, "")
            if not value:
                raise UsageError(f"{where}: {flag} needs a value")
            options.append(f"{flag} {value}")
        elif token.startswith("-"):
            raise UsageError(f"{where}: unsupported pip option {token!r} (allowed: {', '.join(sorted(_PIP_OPTIONS))})")
        else:
            rest.append(token)
    requirement = " ".join(rest)
    _check_requirement(requirement, where)
    for line in [*options, requirement]:
        if re.search(r"://[^/@\s]*:[^/@\s]*@", line):
            raise UsageError(
                f"{where}: {line.split()[-1]!r} carries a password, and the requirements file is committed: "
                "keep the token in a CI secret (PIP_INDEX_URL or PIP_EXTRA_INDEX_URL in the workflow's env)"
            )
    return [*options, requirement]


def _check_requirement(requirement: str, where: str) -> None:
    if not requirement:
        raise UsageError(
            f"{where}: no requirement given (e.g. 'adapterctl==0.2.0' or 'git+https://host/org/adapterctl@v0.2.0')"
        )
    if re.match(r"^(git\+|hg\+|https?://|file:)", requirement) or requirement.endswith((".whl", ".tar.gz")):
        return  # a direct URL or file: pip names the project from what it fetches
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        parsed = Requirement(requirement)
    except InvalidRequirement as exc:
        raise UsageError(f"{where} {requirement!r}: not a pip requirement ({exc})") from None
    if re.sub(r"[-_.]+", "-", parsed.name).lower() != "adapterctl":
        raise UsageError(f"{where} {requirement!r}: the requirement must name adapterctl, not {parsed.name}")
