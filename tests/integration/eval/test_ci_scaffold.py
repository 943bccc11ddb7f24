"""`init` writes the workflow and the adapterctl pin it installs."""

from __future__ import annotations

from pathlib import Path

from adapterctl import __version__


def test_init_pins_the_adapterctl_the_workflow_installs(example_project: Path) -> None:
    pin = (example_project / ".github/adapterctl-requirements.txt").read_text()
    assert f"adapterctl=={__version__}\n" in pin
    workflow = (example_project / ".github/workflows/adapters.yml").read_text()
    assert "pip install -r .github/adapterctl-requirements.txt" in workflow
