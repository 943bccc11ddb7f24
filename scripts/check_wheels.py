"""Checks that every package constraints.txt pins for a target Python has a binary wheel there.

    python scripts/check_wheels.py                 # CPython 3.12, manylinux x86_64 (the default)
    python scripts/check_wheels.py --python 3.13

The pins' environment markers are evaluated for the target (not for the running Python), then
`pip install --dry-run --only-binary=:all: --no-deps` resolves each pin for that platform. pip
reads PEP 658 metadata files from the index, so no wheel is downloaded: torch's multi-GB wheel
included (its pin is checked like any other). Exit 1 names the pins without a wheel.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# Pure-Python packages published only as an sdist: they build anywhere without a compiler.
SDIST_ONLY = {"rouge-score", "antlr4-python3-runtime"}


def target_pins(constraints: Path, python: str) -> list[str]:
    env = {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "extra": "",
    }
    pins = []
    for line in constraints.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker is None or Marker(str(req.marker)).evaluate(env):
            pins.append(f"{req.name}{req.specifier}")
    return pins


def without_wheels(pins: list[str], python: str, platform: str) -> list[str]:
    """The pins pip cannot satisfy with a wheel for the target; pip stops at the first, so repeat."""
    missing: list[str] = []
    remaining = list(pins)
    with tempfile.TemporaryDirectory() as tmp:
        while remaining:
            # --ignore-requires-python: pip checks a candidate's Requires-Python against the
            # running interpreter, not --python-version (scipy 1.18 needs 3.12 and was refused on
            # 3.11). The pins were already chosen for the target by their markers.
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--quiet",
                "--ignore-installed",
                "--ignore-requires-python",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                python,
                "--implementation",
                "cp",
                *_platform_args(platform),
                "--target",
                str(Path(tmp) / "t"),
                *remaining,
            ]
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode == 0:
                break
            m = re.search(r"No matching distribution found for (\S+)", result.stderr)
            if not m or m.group(1) not in remaining:
                raise SystemExit(f"pip failed:\n{result.stderr.strip()}")
            missing.append(m.group(1))
            remaining.remove(m.group(1))
    return missing


def _platform_args(platform: str) -> list[str]:
    """pip matches --platform exactly: list every older manylinux that a manylinux_2_28 system also runs."""
    m = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if not m:
        return ["--platform", platform]
    newest, arch = int(m.group(1)), m.group(2)
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 4, -1)]
    tags += [
        f"{legacy}_{arch}"
        for legacy, minor in (("manylinux2014", 17), ("manylinux2010", 12), ("manylinux1", 5))
        if minor <= newest
    ]
    return [arg for tag in tags for arg in ("--platform", tag)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.12")
    parser.add_argument("--platform", default="manylinux_2_28_x86_64")
    parser.add_argument("--constraints", type=Path, default=ROOT / "constraints.txt")
    args = parser.parse_args()
    pins = target_pins(args.constraints, args.python)
    allowed = [p for p in pins if _name(p) in SDIST_ONLY]  # known: skip them, one pip pass fewer each
    bad = without_wheels([p for p in pins if p not in allowed], args.python, args.platform)
    where = f"CPython {args.python} on {args.platform}"
    if bad:
        print(f"FAIL: no wheel for {where}: {', '.join(bad)}", file=sys.stderr)
        return 1
    print(
        f"ok: {len(pins) - len(allowed)} of {len(pins)} pins have wheels for {where}"
        + (f"; pure-Python sdists: {', '.join(allowed)}" if allowed else "")
    )
    return 0


def _name(pin: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[=<>!~]", pin)[0]).lower()


if __name__ == "__main__":
    sys.exit(main())
