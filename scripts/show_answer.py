"""Print one eval row of a version, as the demo shows it: the user's message, the base model's
answer (before training), the version's answer (after) and the reference, from the results
`eval` committed beside the card. Run inside a project: python scripts/show_answer.py REF [ROW]
"""

from __future__ import annotations

import sys
import textwrap

from adapterctl import versions
from adapterctl.core.project import find_project
from adapterctl.evaluation import results


def main(ref: str, row: int = 0) -> None:
    project = find_project()
    version = versions.resolve(project, ref, verify=False)
    entry = next(iter(version.card.evals().values()), None)
    if entry is None:
        sys.exit(f"{version.ref} has no eval results: run `adapterctl eval {ref}` first")
    after = results.read(project.root / entry.results)
    before = results.read(project.root / entry.baseline)
    if after is None or before is None:
        sys.exit(f"{version.ref}: its eval results are missing")
    mine = after.rows[row]
    theirs = before.by_hash()[mine["hash"]]
    asked = mine["prompt"].split("\n\n")[-2].split("\n", 1)[-1]  # the template's input field
    for label, text in (
        ("asked", asked),
        ("base model, before training", theirs["output"]),
        (f"{version.ref}, after training", mine["output"]),
        ("reference", mine["reference"]),
    ):
        print(f"{label}:\n{textwrap.indent(textwrap.fill(text.strip() or '(nothing)', 96), '    ')}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
