"""Peak memory and wall time of `adapterctl merge` against the usual path (transformers
from_pretrained + PEFT merge_and_unload + save_pretrained), measured in the same run.

    PYTHONPATH=$PWD python bench/merge.py [--layers 22] [--shard-mb 450] [--repeats 2] [--json]

It writes a random Llama-style model of about 1.1B parameters (TinyLlama's shape) in float16
as several safetensors shards, and a random rank-16 LoRA adapter on every linear layer,
imports the adapter as a version in a fresh project, then runs each arm as its own process
(--repeats times, alternating): peak RSS is that process's VmHWM, wall time is the
whole process (interpreter start and imports included). `merge` runs with --no-verify,
as the baseline verifies nothing. Goals (issue 11): peak RSS under 35% of the baseline's,
wall time within 1.5x. It needs about 7 GB of disk and 8 GB of free memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

SHAPE = {
    "vocab_size": 32000,
    "hidden_size": 2048,
    "intermediate_size": 5632,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "max_position_embeddings": 2048,
}
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def write_random_model(folder: Path, layers: int, shard_mb: int) -> int:
    """A float16 LlamaForCausalLM checkpoint with random weights, in shards of about shard_mb."""
    import torch
    from safetensors.torch import save_file

    h, i, kv = SHAPE["hidden_size"], SHAPE["intermediate_size"], SHAPE["hidden_size"] // 8
    shapes = {"model.embed_tokens.weight": (SHAPE["vocab_size"], h)}
    for n in range(layers):
        p = f"model.layers.{n}."
        shapes |= {
            p + "self_attn.q_proj.weight": (h, h),
            p + "self_attn.k_proj.weight": (kv, h),
            p + "self_attn.v_proj.weight": (kv, h),
            p + "self_attn.o_proj.weight": (h, h),
            p + "mlp.gate_proj.weight": (i, h),
            p + "mlp.up_proj.weight": (i, h),
            p + "mlp.down_proj.weight": (h, i),
            p + "input_layernorm.weight": (h,),
            p + "post_attention_layernorm.weight": (h,),
        }
    shapes |= {"model.norm.weight": (h,), "lm_head.weight": (SHAPE["vocab_size"], h)}
    folder.mkdir(parents=True)
    groups, current, size = [], [], 0
    for name, shape in shapes.items():
        nbytes = 2 * int(torch.tensor(shape).prod())
        if current and size + nbytes > shard_mb << 20:
            groups.append(current)
            current, size = [], 0
        current.append(name)
        size += nbytes
    groups.append(current)
    weight_map, total, params = {}, 0, 0
    gen = torch.Generator().manual_seed(0)
    for k, names in enumerate(groups, start=1):
        file = f"model-{k:05d}-of-{len(groups):05d}.safetensors"
        tensors = {}
        for name in names:
            shape = shapes[name]
            t = torch.ones(shape) if name.endswith("norm.weight") else torch.randn(shape, generator=gen) * 0.02
            tensors[name] = t.to(torch.float16)
            weight_map[name] = file
            total += 2 * t.numel()
            params += t.numel()
        save_file(tensors, str(folder / file), metadata={"format": "pt"})
        del tensors
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2)
    )
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "dtype": "float16",
        "num_hidden_layers": layers,
        "tie_word_embeddings": False,
        "rms_norm_eps": 1e-5,
        "bos_token_id": 1,
        "eos_token_id": 2,
        **SHAPE,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return params


def write_random_adapter(folder: Path, base: str, layers: int, rank: int) -> None:
    import torch
    from safetensors.torch import save_file

    h, i, kv = SHAPE["hidden_size"], SHAPE["intermediate_size"], SHAPE["hidden_size"] // 8
    dims = {
        "q_proj": (h, h),
        "k_proj": (h, kv),
        "v_proj": (h, kv),
        "o_proj": (h, h),
        "gate_proj": (h, i),
        "up_proj": (h, i),
        "down_proj": (i, h),
    }  # (in, out)
    gen = torch.Generator().manual_seed(1)
    tensors = {}
    for n in range(layers):
        for module, (fan_in, fan_out) in dims.items():
            part = "self_attn" if module in TARGETS[:4] else "mlp"
            key = f"base_model.model.model.layers.{n}.{part}.{module}"
            tensors[f"{key}.lora_A.weight"] = torch.randn(rank, fan_in, generator=gen) * 0.01
            tensors[f"{key}.lora_B.weight"] = torch.randn(fan_out, rank, generator=gen) * 0.01
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": rank,
        "lora_alpha": 2 * rank,
        "lora_dropout": 0.0,
        "target_modules": list(TARGETS),
        "bias": "none",
        "fan_in_fan_out": False,
        "use_rslora": False,
        "use_dora": False,
        "base_model_name_or_path": base,
        "inference_mode": True,
    }
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2))


def make_project(root: Path, layers: int, shard_mb: int, rank: int) -> tuple[str, Path, int]:
    from adapterctl import api, versions
    from adapterctl.core.project import Project

    api.init(root, base="models/random-1b")
    params = write_random_model(root / "models/random-1b", layers, shard_mb)
    (root / "data").mkdir()
    (root / "data/support.jsonl").write_text('{"prompt": "hi", "completion": "hello"}\n')
    project = Project(root)
    _declare(root)
    write_random_adapter(root.parent / "adapter", "models/random-1b", layers, rank)
    version = versions.import_folder(project, "support", root.parent / "adapter")
    return version.ref, version.path, params


def _declare(root: Path) -> None:
    path = root / "adapterctl.toml"
    path.write_text(path.read_text() + '\n[adapters.support]\ndata = "data/support.jsonl"\n')


# ── the two arms, each in its own process ─────────────────────────────────────


def arm_merge(root: Path, ref: str, out: Path) -> None:
    from adapterctl.cli import main

    code = main(["merge", ref, "--out", str(out), "--no-verify", "--project", str(root)])
    if code:
        raise SystemExit(f"adapterctl merge exited {code}")


def arm_transformers(root: Path, adapter: Path, out: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(root / "models/random-1b"), dtype=torch.float16)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.save_pretrained(str(out))


def run_arm(arm: str, root: Path, ref: str, adapter: Path, out: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--arm",
            arm,
            "--root",
            str(root),
            "--ref",
            ref,
            "--adapter",
            str(adapter),
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{arm} failed:\n{proc.stderr[-3000:]}")
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(child["maxrss_kb"] / 1024, 1)}


def same_weights(a: Path, b: Path) -> float:
    """Max |difference| of one merged weight between the two outputs (both float16)."""
    from safetensors import safe_open

    name = "model.layers.0.self_attn.q_proj.weight"
    found = []
    for folder in (a, b):
        index_path = folder / "model.safetensors.index.json"
        file = json.loads(index_path.read_text())["weight_map"][name] if index_path.exists() else "model.safetensors"
        with safe_open(str(folder / file), framework="pt") as f:
            found.append(f.get_tensor(name).float())
    return float((found[0] - found[1]).abs().max())


def peak_rss_kb() -> int:
    """This process's peak resident set. VmHWM, not ru_maxrss: Linux carries ru_maxrss across
    exec, so a child forked from a large parent would report the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=22, help="decoder layers (22: about 1.1B parameters)")
    parser.add_argument("--shard-mb", type=int, default=450, help="base shard size")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2, help="runs per arm, alternating; the best is kept")
    parser.add_argument("--workdir", default=None, help="where to write the model (default: a temp folder)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--arm", choices=["merge", "transformers"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--ref", help=argparse.SUPPRESS)
    parser.add_argument("--adapter", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.arm:  # a child process: one arm, then its own peak RSS
        if args.arm == "merge":
            arm_merge(Path(args.root), args.ref, Path(args.out))
        else:
            arm_transformers(Path(args.root), Path(args.adapter), Path(args.out))
        print(json.dumps({"maxrss_kb": peak_rss_kb()}))
        return

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="merge-bench-"))
    try:
        t0 = time.perf_counter()
        ref, adapter, params = make_project(workdir / "project", args.layers, args.shard_mb, args.rank)
        setup = time.perf_counter() - t0
        shards = len(list((workdir / "project/models/random-1b").glob("*.safetensors")))
        load_before = os.getloadavg()
        runs: dict[str, list[dict[str, float]]] = {"merge": [], "transformers": []}
        for _ in range(args.repeats):
            for arm in ("transformers", "merge"):
                runs[arm].append(run_arm(arm, workdir / "project", ref, adapter, workdir / f"out-{arm}"))
        best = {
            arm: {"wall_s": min(r["wall_s"] for r in rs), "peak_rss_mb": min(r["peak_rss_mb"] for r in rs)}
            for arm, rs in runs.items()
        }
        result = {
            "params": params,
            "base_gb": round(
                sum(p.stat().st_size for p in (workdir / "project/models/random-1b").glob("*.safetensors")) / 1e9, 2
            ),
            "shards": shards,
            "rank": args.rank,
            "setup_s": round(setup, 1),
            "runs": runs,
            "best": best,
            "rss_ratio": round(best["merge"]["peak_rss_mb"] / best["transformers"]["peak_rss_mb"], 3),
            "wall_ratio": round(best["merge"]["wall_s"] / best["transformers"]["wall_s"], 3),
            "max_abs_diff_vs_baseline": same_weights(workdir / "out-merge", workdir / "out-transformers"),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        }
        result["goals_met"] = result["rss_ratio"] < 0.35 and result["wall_ratio"] <= 1.5
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{params / 1e9:.2f}B parameters, float16, {shards} shards ({result['base_gb']} GB), LoRA r={args.rank}")
    for arm in ("transformers", "merge"):
        print(
            f"{arm:>13}: best wall {best[arm]['wall_s']:.1f}s, peak RSS {best[arm]['peak_rss_mb']:.0f} MB  "
            f"(runs: {runs[arm]})"
        )
    print(
        f"merge / baseline: peak RSS {result['rss_ratio']:.1%} (goal < 35%), wall {result['wall_ratio']:.2f}x "
        f"(goal <= 1.5x); max |Δ| of a merged weight vs baseline {result['max_abs_diff_vs_baseline']:.2g}; "
        f"load {result['loadavg_before']} → {result['loadavg_after']}"
    )


if __name__ == "__main__":
    main()
