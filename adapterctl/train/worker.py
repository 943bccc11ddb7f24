"""One training process under `accelerate launch`:
`python -m adapterctl.train.worker RUN_DIR --options JSON [--resume]`.

Every rank runs the recipe; the Trainer wires up DDP/FSDP from the environment that
accelerate sets. Rank 0 writes the adapter folder, loss curve and summary.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

from adapterctl.core.project import Project
from adapterctl.train import runs
from adapterctl.train.job import TrainJob
from adapterctl.train.options import RunOptions


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0]).resolve()
    resume = "--resume" in argv[1:]
    run = runs.load(run_dir)
    job = TrainJob.from_dict(run.record["job"])
    options = RunOptions.from_argv(argv[1:])
    project = Project(run_dir.parents[2])  # <root>/.adapterctl/runs/<run-id>

    from adapterctl.train.recipe import SFTRecipe

    recipe = SFTRecipe(project, run, job, options, resume=resume)
    try:
        recipe.setup()
        recipe.train()
        recipe.save()
    finally:
        recipe.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
