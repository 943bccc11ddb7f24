"""Finding F2: what `train` prints is ours. bitsandbytes logs "Failed to load CPU
gemm_4bit_forward from kernels-community: No module named 'kernels'" (a WARNING from logger
`bitsandbytes.backends.cpu.ops` on AVX512-BF16 CPUs, at the first 4-bit forward as well as at
import) when the optional `kernels` package is missing; users must not see it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import subprocess_env

NOISE = "gemm_4bit_forward"


@pytest.mark.slow  # trains
def test_train_through_the_cli_shows_no_bitsandbytes_kernel_warning(demo: Path) -> None:
    # The example's default train.quantization = "nf4": bitsandbytes' 4-bit CPU path runs.
    sets = ["train.max_steps=1", "train.eval_steps=1", "train.batch_size=4"]
    args = [a for s in sets for a in ("--set", s)]
    result = subprocess.run(
        [sys.executable, "-m", "adapterctl", "train", "support", "--no-eval", *args, "-m", "quiet"],
        cwd=demo,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert NOISE not in result.stderr and "kernels-community" not in result.stderr, result.stderr[-3000:]
    assert NOISE not in result.stdout


def test_the_filter_drops_only_that_record(caplog: pytest.LogCaptureFixture) -> None:
    """Machine-independent half: the record itself (other CPUs never emit it) is dropped by the
    filter `adapterctl.runtime.quiet` installs on import; other bitsandbytes warnings still pass."""
    import logging

    import adapterctl.runtime.quiet  # noqa: F401 - installs the filter

    logger = logging.getLogger("bitsandbytes.backends.cpu.ops")
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning(
            "Failed to load CPU gemm_4bit_forward from kernels-community: %s. Please make sure you "
            "already `pip install kernels`",
            "No module named 'kernels'",
        )
        logger.warning("something else went wrong")
    assert [r.getMessage() for r in caplog.records] == ["something else went wrong"]
