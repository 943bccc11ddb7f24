"""merge, combine, export: versions baked into base weights, combined, or shaped for an engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import typer

from adapterctl.cli import app
from adapterctl.cli._lazy import api
from adapterctl.cli._options import JSON, PROJECT
from adapterctl.core import ui

Dtype = Literal["bfloat16", "float16", "float32"]
DTYPE = typer.Option(None, "--dtype", help="Output dtype (default: the base's).", show_default=False)
VERIFY = typer.Option(
    True,
    "--verify/--no-verify",
    help="Compare adapter-on-base with the merged model on a few "
    "eval prompts (max |Δlogit|, top-1 agreement); a failure exits 1 and writes nothing.",
)


@app.command()
def merge(
    ref: str = typer.Argument(..., help="The version to merge: NAME, NAME@<id>, NAME@<env> or NAME@~N."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write the merged model to (must not exist)."),
    dtype: Dtype = DTYPE,
    verify: bool = VERIFY,
    into: Literal["full", "dequantized"] = typer.Option(
        "full",
        "--into",
        help="full: the full-precision base; dequantized: dequant(quant(W)), "
        "the weights a QLoRA adapter saw in training.",
    ),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Bake a version into its base weights: a standard Hugging Face model folder, verified.

    Streams the base one safetensors shard at a time (memory: about one tensor plus the adapter), writes into a hidden folder and renames it at the end, so a crash leaves nothing behind. The folder holds the shards and index, config, tokenizer, generation config and a README naming the version, base and options.

    Example: adapterctl merge support@prod --out merged/support --dtype bfloat16
    """
    result = api.merge(api.open_project(project), ref, out, dtype=dtype, verify=verify, into=into, progress=not as_json)
    ui.emit(result, as_json, _render_merge)


def _render_merge(r: Any) -> None:
    v = r.verification
    check = (
        f"verified: max |Δlogit| {v['max_abs_diff']:.2g}, top-1 agreement {v['top1_agreement']:.0%}"
        if v
        else "not verified (--no-verify)"
    )
    ui.success(
        f"merged {r.ref} into {r.base} → {r.out} ({r.dtype}, {r.shards} shard(s), "
        f"{r.merged} weights changed, {r.replaced} replaced; {check}) in {r.seconds:.1f}s"
    )
    ui.out.print(str(r.out), markup=False, highlight=False)


@app.command()
def combine(
    refs: list[str] = typer.Argument(
        ..., help="Two or more versions to combine: NAME, NAME@<id>, NAME@<env> or NAME@~N."
    ),
    into: str = typer.Option(..., "--into", help="The adapter NAME the combination becomes a version of."),
    method: Literal["linear", "cat", "svd", "ties", "dare_linear", "dare_ties"] = typer.Option(
        "linear", "--method", help="How PEFT's add_weighted_adapter combines the inputs."
    ),
    weights: str = typer.Option(
        None, "--weights", help="Comma-separated weight per input, e.g. 0.6,0.4 (default 1.0 each).", show_default=False
    ),
    density: float = typer.Option(
        None, "--density", help="Share of each delta kept by ties/dare (default 0.5).", show_default=False
    ),
    message: str = typer.Option("", "--message", "-m", help="A note stored in the new version's card."),
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Combine versions into a new version with PEFT's add_weighted_adapter; its card lists every input as a parent.

    The inputs must share a base and have compatible targets. Declare the combination in adapterctl.toml ([adapters.NAME] combine = ["a", "b"], method, weights) and `status` reports it stale when an input gets a new version; `train NAME` rebuilds it.

    Example: adapterctl combine support docs --into both --method ties --weights 0.6,0.4
    """
    parsed = _floats(weights, "--weights") if weights else None
    result = api.combine(
        api.open_project(project), refs, into, method=method, weights=parsed, density=density, message=message
    )

    def render(r: Any) -> None:
        inputs = ", ".join(f"{p.split('@')[0]}@{p.split('@')[1][:12]}" for p in r.parents)
        verb = "registered" if r.new else "already exists:"
        ui.success(f"{verb} {r.ref} = {r.method}({inputs}), weights {r.weights}, rank {r.r}")
        if r.new:
            ui.info(f"commit it: git add adapters/{r.name} && git commit")
        ui.out.print(r.id, markup=False, highlight=False)

    ui.emit(result, as_json, render)


def _floats(text: str, option: str) -> list[float]:
    from adapterctl.core.errors import UsageError

    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"{option} {text!r}: write numbers separated by commas, e.g. 0.6,0.4") from None


@app.command()
def export(
    ref: str = typer.Argument(..., help="The version to export: NAME, NAME@<id>, NAME@<env> or NAME@~N."),
    fmt: Literal["peft", "merged", "vllm"] = typer.Option(
        ...,
        "--format",
        "-f",
        help="peft: the PEFT folder, re-hashed; merged: as `merge`; "
        "vllm: checked against vLLM's LoRA limits, with the `vllm serve` line to run.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write (must not exist)."),
    dtype: Dtype = DTYPE,
    verify: bool = VERIFY,
    project: Path = PROJECT,
    as_json: bool = JSON,
) -> None:
    """Export a version for a serving engine: a plain PEFT folder, a merged model, or a vLLM LoRA module.

    For vllm every limit is checked first (supported --max-lora-rank values, no modules_to_save, no lm_head or embedding targets, no DoRA, no LoRA bias); each that fails is named, exit 1, nothing written.

    Example: adapterctl export support@prod --format vllm --out export/support
    """
    result = api.export(api.open_project(project), ref, fmt, out, dtype=dtype, verify=verify, progress=not as_json)

    def render(r: Any) -> None:
        if r.merge is not None:
            _render_merge(r.merge)
            return
        if r.checks:
            ui.table(["vLLM check", "ok", "detail"], [(c.name, "yes" if c.ok else "NO", c.detail) for c in r.checks])
        ui.success(f"exported {r.ref} ({r.format}) → {r.out}")
        if r.command:
            ui.info("serve it with:")
            ui.out.print(r.command, markup=False, highlight=False)
        else:
            ui.out.print(str(r.out), markup=False, highlight=False)

    ui.emit(result, as_json, render)
