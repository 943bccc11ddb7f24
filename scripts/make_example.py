"""Generate the data of `example-project/`, deterministically and offline.

The example project ships two adapters (a customer-support assistant and a
documentation assistant). Their rows are synthetic: a support answer is a fixed
function of (product, question type), a docs answer of (tool, the option, flag,
function or error asked about), all in one consistent voice, while the
questions vary in phrasing and details. That regularity is the point: a
tiny model fine-tuned for a few epochs can learn the mapping and beat its
untuned base on ROUGE-L, so the example's eval gates are meaningful.

Run `python scripts/make_example.py [OUT_DIR]`; running it twice writes
byte-identical files. `python scripts/make_example.py --pretrain-base [STEPS [OUT]]`
pretrains the built-in base model's weights (adapterctl/tiny_base.safetensors)
on the Python documentation shipped with the standard library: about 15 minutes
on one CPU thread.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

SEED = 20261101
TRAIN_ROWS = 1000
EVAL_ROWS = 100
MAX_OUTPUT_CHARS = 200
SPARE_ROWS = 600  # drawn beyond TRAIN_ROWS to replace rows too close to an eval row
NEAR_LEAK_MARGIN = 0.7

Row = dict[str, str]
# A row maker draws the variable parts with `rng` and returns one row.
RowMaker = Callable[[random.Random], Row]

# --------------------------------------------------------------------------
# Customer support
# --------------------------------------------------------------------------

# name, kind, slug, warranty years, return days, setup hint, reset hold seconds
DEVICES = [
    ("Nimbus X2 router", "nimbus", 2, 30, "connect it to your modem and open the Nimbus app", 10),
    ("Thermia smart thermostat", "thermia", 3, 45, "turn off power at the breaker, then wire it to the base plate", 15),
    ("Lumo smart bulb", "lumo", 1, 30, "screw it in, switch it on, and pair it in the Lumo app", 5),
    ("Orbit wireless earbuds", "orbit", 1, 14, "open the case near your phone and tap Connect", 8),
    ("Vista 4K webcam", "vista", 2, 30, "plug it into a USB-C port and pick Vista as your camera", 6),
    ("Quill e-reader", "quill", 1, 30, "charge it fully, then sign in on the welcome screen", 20),
    ("Brisk robot vacuum", "brisk", 2, 60, "place the dock against a wall and run the Brisk app", 12),
    ("Cadence fitness watch", "cadence", 1, 30, "charge it and pair it from the Cadence app", 15),
]

# name, slug, monthly price, upgrade target, upgrade price
PLANS = [
    ("Pulse Plus billing plan", "pulse", "$12", "Pulse Pro", "$20"),
    ("Fable streaming plan", "fable", "$9", "Fable Family", "$15"),
    ("Harbor cloud backup", "harbor", "$6", "Harbor 2 TB", "$10"),
    ("Keystone password manager", "keystone", "$4", "Keystone Teams", "$7"),
    ("Tandem mobile app", "tandem", "$5", "Tandem Premium", "$8"),
]

SUPPORT_INSTRUCTIONS = [
    "Reply to the customer as a support agent.",
    "Write a helpful answer to this support ticket.",
    "Answer the customer's question politely and briefly.",
    "You are a customer-support assistant. Respond to the message below.",
    "Draft a support reply for this customer.",
]

FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Grace",
    "Hiro",
    "Ines",
    "Jon",
    "Kofi",
    "Lena",
    "Mateo",
    "Nina",
    "Omar",
    "Priya",
]
ERROR_CODES = ["E101", "E204", "E317", "E402", "E518", "E623", "E745", "E809"]


def _order(rng: random.Random) -> str:
    return f"#{rng.randint(10000, 99999)}"


def _device_rows() -> Iterator[RowMaker]:
    """One maker per (device, question type); the phrasing is drawn per row."""
    for name, slug, years, days, setup, hold in DEVICES:
        yield _device_refund(name, slug, days)
        yield _device_shipping(name, slug)
        yield _device_warranty(name, slug, years)
        yield _device_setup(name, setup)
        yield _device_error(name, slug)
        yield _device_reset(name, hold)


def _device_refund(name: str, slug: str, days: int) -> RowMaker:
    def make(rng: random.Random) -> Row:
        order = _order(rng)
        ask = rng.choice(
            [
                f"I want a refund for my {name}, order {order}.",
                f"Can I return the {name} I bought? Order {order}.",
                f"The {name} is not for me. How do I get my money back? Order {order}",
                f"Hi, I'd like to send back my {name} (order {order}) for a refund.",
            ]
        )
        answer = (
            f"Sorry the {name} did not work out. You can return it within {days} days "
            f"for a full refund at example.com/returns/{slug} with your order number."
        )
        return _support_row(rng, ask, answer)

    return make


def _device_shipping(name: str, slug: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        order = _order(rng)
        late = rng.choice(["a week", "ten days", "two weeks", "five days"])
        ask = rng.choice(
            [
                f"My {name} order {order} still hasn't arrived after {late}.",
                f"Where is my {name}? Order {order} is {late} late.",
                f"Order {order} for a {name} is delayed by {late}. What is going on?",
                f"I ordered the {name} {late} ago ({order}) and nothing came.",
            ]
        )
        answer = (
            f"Sorry for the wait. {name} orders ship in 3 to 5 days; "
            f"track it at example.com/track/{slug} and we will reship it if it is lost."
        )
        return _support_row(rng, ask, answer)

    return make


def _device_warranty(name: str, slug: str, years: int) -> RowMaker:
    def make(rng: random.Random) -> Row:
        fault = rng.choice(["stopped working", "won't turn on", "keeps restarting", "has a cracked case"])
        ask = rng.choice(
            [
                f"My {name} {fault}. Is it still under warranty?",
                f"Does the warranty cover a {name} that {fault}?",
                f"The {name} I bought last year {fault}. What are my options?",
                f"How long is the warranty on the {name}? Mine {fault}.",
            ]
        )
        answer = (
            f"Sorry to hear that. The {name} has a {years}-year warranty. "
            f"Open a claim at example.com/warranty/{slug} with your serial number."
        )
        return _support_row(rng, ask, answer)

    return make


def _device_setup(name: str, setup: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        who = rng.choice(FIRST_NAMES)
        ask = rng.choice(
            [
                f"How do I set up my new {name}?",
                f"Hi, I'm {who}. I just got a {name}. What are the setup steps?",
                f"Setting up the {name} is confusing. Where do I start?",
                f"What's the first thing to do with a new {name}?",
            ]
        )
        answer = f"Happy to help. To set up the {name}, {setup}. The guide in the box shows each step."
        return _support_row(rng, ask, answer)

    return make


def _device_error(name: str, slug: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        code = rng.choice(ERROR_CODES)
        ask = rng.choice(
            [
                f"My {name} shows error {code}.",
                f"What does error code {code} mean on the {name}?",
                f"I keep getting {code} on my {name}. Help!",
                f"The {name} display says {code} and stops.",
            ]
        )
        answer = (
            f"That error on the {name} means a firmware fault. Restart it and update the firmware; "
            f"if the error returns, see example.com/errors/{slug}."
        )
        return _support_row(rng, ask, answer)

    return make


def _device_reset(name: str, hold: int) -> RowMaker:
    def make(rng: random.Random) -> Row:
        ask = rng.choice(
            [
                f"How do I factory reset the {name}?",
                f"I need to wipe my {name} before selling it.",
                f"Can you tell me how to reset the {name} to default settings?",
                f"My {name} is acting strange. How do I reset it completely?",
            ]
        )
        answer = (
            f"To reset the {name}, hold the reset button for {hold} seconds until the light blinks. "
            f"This erases all settings, so set it up again afterwards."
        )
        return _support_row(rng, ask, answer)

    return make


def _plan_rows() -> Iterator[RowMaker]:
    for name, slug, price, target, target_price in PLANS:
        yield _plan_cancel(name, slug)
        yield _plan_refund(name, price)
        yield _plan_upgrade(name, target, target_price)
        yield _plan_password(name, slug)
        yield _plan_double_charge(name, price)
        yield _plan_error(name, slug)


def _plan_cancel(name: str, slug: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        why = rng.choice(
            ["it's too expensive", "I don't use it anymore", "I'm moving abroad", "I found another service"]
        )
        ask = rng.choice(
            [
                f"Please cancel my {name}, {why}.",
                f"How do I cancel the {name}? {why.capitalize()}.",
                f"I want to stop my {name} subscription because {why}.",
                f"Cancel {name} now please. {why.capitalize()}.",
            ]
        )
        answer = (
            f"We're sorry to see you go. Cancel the {name} at example.com/account/{slug}; "
            f"you keep access until the end of the current billing period."
        )
        return _support_row(rng, ask, answer)

    return make


def _plan_refund(name: str, price: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        month = rng.choice(["March", "April", "May", "June", "July", "August"])
        ask = rng.choice(
            [
                f"Can I get a refund for the {name} charge in {month}?",
                f"I was billed {price} for the {name} in {month} but didn't use it. Refund please.",
                f"Refund request: {name}, {month} payment.",
                f"I forgot to cancel the {name} before {month}. Can I get my money back?",
            ]
        )
        answer = (
            f"Thanks for reaching out. A {price} charge for the {name} is refundable "
            f"within 14 days; we have sent your refund request to billing."
        )
        return _support_row(rng, ask, answer)

    return make


def _plan_upgrade(name: str, target: str, target_price: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        ask = rng.choice(
            [
                f"How do I upgrade my {name}?",
                f"I'd like more features than the {name} has. What can I upgrade to?",
                f"Is there a bigger option than the {name}?",
                f"Upgrade my {name} please.",
            ]
        )
        answer = (
            f"Great choice. You can upgrade the {name} to {target} for {target_price} a month "
            f"under Account > Plan; the price difference is prorated."
        )
        return _support_row(rng, ask, answer)

    return make


def _plan_password(name: str, slug: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        who = rng.choice(FIRST_NAMES)
        ask = rng.choice(
            [
                f"I forgot my password for {name}.",
                f"How can I reset my {name} password? This is {who}.",
                f"{who} here, locked out of my {name} account.",
                f"Password reset for {name}, please.",
            ]
        )
        answer = (
            f"No problem. Reset your {name} password at example.com/reset/{slug}; "
            f"the link we email you is valid for 30 minutes."
        )
        return _support_row(rng, ask, answer)

    return make


def _plan_double_charge(name: str, price: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        times = rng.choice(["twice", "three times"])
        ask = rng.choice(
            [
                f"I was charged {times} for the {name} this month.",
                f"Why did you bill me {times} for {name}?",
                f"My card shows the {name} charged {times}.",
                f"Duplicate charge: {name}, {times} this month.",
            ]
        )
        answer = (
            f"Apologies for the billing error. We found the extra {name} charge of {price} "
            f"and refunded it; it reaches your card in 5 to 7 days."
        )
        return _support_row(rng, ask, answer)

    return make


def _plan_error(name: str, slug: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        code = rng.choice(ERROR_CODES)
        ask = rng.choice(
            [
                f"The {name} page shows error {code} when I log in.",
                f"What is error {code} in {name}?",
                f"Getting {code} every time I open {name}.",
                f"{name} won't load, it says {code}.",
            ]
        )
        answer = (
            f"That error in {name} means your session expired. Sign out and sign back in; "
            f"if it persists, see example.com/status/{slug}."
        )
        return _support_row(rng, ask, answer)

    return make


def _support_row(rng: random.Random, ask: str, answer: str) -> Row:
    return {"instruction": rng.choice(SUPPORT_INSTRUCTIONS), "input": ask, "output": answer}


# --------------------------------------------------------------------------
# Documentation
# --------------------------------------------------------------------------

# tool, what it does, main command, config section, noun it works on
TOOLS = [
    ("quarry", "runs data pipelines", "quarry run", "runner", "pipeline"),
    ("lattice", "loads layered config files", "lattice check", "loader", "config file"),
    ("beacon", "ships structured logs", "beacon tail", "sink", "log record"),
    ("ferry", "deploys containers", "ferry deploy", "deploy", "release"),
    ("tally", "collects metrics", "tally scrape", "scrape", "metric"),
    ("sprout", "scaffolds new projects", "sprout new", "scaffold", "project"),
    ("mosaic", "resizes and tiles images", "mosaic tile", "render", "image"),
    ("relay", "forwards webhooks", "relay listen", "server", "webhook"),
    ("ledger", "audits database changes", "ledger diff", "audit", "migration"),
    ("sieve", "filters CSV files", "sieve apply", "filter", "CSV row"),
    ("cairn", "backs up directories", "cairn snapshot", "backup", "snapshot"),
    ("atlas", "indexes documents for search", "atlas index", "index", "document"),
]

# option, type, default-candidates, what it sets
OPTIONS = [
    ("timeout", "int", ["10", "30", "60"], "how many seconds to wait for a {noun} before failing"),
    ("max_workers", "int", ["2", "4", "8"], "how many {noun}s are processed in parallel"),
    ("retries", "int", ["0", "3", "5"], "how often a failed {noun} is retried"),
    ("log_level", "str", ['"info"', '"warning"'], "how much {tool} logs while handling each {noun}"),
    ("cache_dir", "path", ['".cache"', '"~/.{tool}"'], "where {tool} keeps cached {noun} data"),
    ("strict", "bool", ["false", "true"], "whether an invalid {noun} stops the run"),
]

# flag, what it does
FLAGS = [
    ("--dry-run", "prints what it would do to each {noun} without changing anything"),
    ("--verbose", "logs every step taken on each {noun}"),
    ("--config PATH", "reads settings from PATH instead of {tool}.toml"),
    ("--jobs N", "processes N {noun}s at once"),
    ("--force", "overwrites an existing {noun} without asking"),
]

# function signature, returns, what it does
FUNCTIONS = [
    ("load(path)", "a Config", "reads {tool}.toml from path"),
    ("run(name, *, dry_run=False)", "a Result", "runs one {noun} by name"),
    ("validate(obj)", "a list of errors", "checks a {noun} against the schema"),
    ("connect(url, timeout=30)", "a Client", "opens a session to a {tool} server"),
]

# error message, cause, fix
ERRORS = [
    ("ConfigNotFound", "no {tool}.toml was found", "run `{tool} init` or pass --config"),
    ("PermissionError on the cache", "the cache directory is not writable", "set cache_dir to a writable folder"),
    ("TimeoutError", "a {noun} took longer than timeout", "raise timeout in {tool}.toml"),
    ("VersionMismatch", "the lock file was written by a newer {tool}", "upgrade with `pip install -U {tool}`"),
]

DOCS_INSTRUCTIONS = [
    "Answer the question about the documentation.",
    "You are a documentation assistant. Answer briefly.",
    "Explain using the project docs.",
    "Reply as the docs helper for this tool.",
    "Give a short, accurate answer from the reference docs.",
]


def _doc_rows() -> Iterator[RowMaker]:
    """Makers per (tool, topic); which option, flag, function or error is drawn per row."""
    for index, (tool, purpose, command, section, noun) in enumerate(TOOLS):
        yield _doc_option(tool, section, noun, index)
        yield _doc_flag(tool, command, noun)
        yield _doc_function(tool, noun)
        yield _doc_error(tool, noun)
        yield _doc_overview(tool, purpose, command, index)


def _doc_option(tool: str, section: str, noun: str, index: int) -> RowMaker:
    def make(rng: random.Random) -> Row:
        option, kind, defaults, meaning = rng.choice(OPTIONS)
        default = defaults[index % len(defaults)].format(tool=tool)  # fixed per tool
        ask = rng.choice(
            [
                f"What does the `{option}` option do in {tool}?",
                f"Explain {tool}'s {option} setting.",
                f"In {tool}.toml, what is {option} for?",
                f"What is the default of {option} in {tool}?",
            ]
        )
        answer = (
            f"`{option}` ({kind}, default {default}) sets "
            f"{meaning.format(tool=tool, noun=noun)}. Put it under [{section}] in {tool}.toml."
        )
        return _docs_row(rng, ask, answer)

    return make


def _doc_flag(tool: str, command: str, noun: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        flag, does = rng.choice(FLAGS)
        bare = flag.split()[0]
        ask = rng.choice(
            [
                f"What does `{command} {bare}` do?",
                f"How do I use the {bare} flag of {tool}?",
                f"Show me the {bare} option for `{command}`.",
                f"Is there a {bare} flag in {tool}?",
            ]
        )
        answer = f"`{command} {flag}` {does.format(tool=tool, noun=noun)}. See `{command} --help` for all flags."
        return _docs_row(rng, ask, answer)

    return make


def _doc_function(tool: str, noun: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        signature, returns, does = rng.choice(FUNCTIONS)
        name = signature.split("(")[0]
        ask = rng.choice(
            [
                f"What does `{tool}.{name}` do?",
                f"Describe the {tool}.{name} function.",
                f"What does {tool}.{name}() return?",
                f"How do I call {name} in the {tool} Python API?",
            ]
        )
        answer = f"`{tool}.{signature}` {does.format(tool=tool, noun=noun)} and returns {returns}."
        return _docs_row(rng, ask, answer)

    return make


def _doc_error(tool: str, noun: str) -> RowMaker:
    def make(rng: random.Random) -> Row:
        error, cause, fix = rng.choice(ERRORS)
        ask = rng.choice(
            [
                f"{tool} fails with {error}. What's wrong?",
                f"Why do I get {error} from {tool}?",
                f"How do I fix {error} in {tool}?",
                f"Troubleshooting: {tool} stops with {error}.",
            ]
        )
        answer = f"{error} means {cause.format(tool=tool, noun=noun)}. To fix it, {fix.format(tool=tool)}."
        return _docs_row(rng, ask, answer)

    return make


def _doc_overview(tool: str, purpose: str, command: str, index: int) -> RowMaker:
    minor = 9 + index % 4  # each tool has one fixed minimum Python

    def make(rng: random.Random) -> Row:
        ask = rng.choice(
            [
                f"What is {tool} and how do I install it?",
                f"How do I get started with {tool}?",
                f"Install instructions for {tool}?",
                f"What does {tool} do?",
            ]
        )
        answer = f"{tool} {purpose}. Install it with `pip install {tool}` (Python 3.{minor}+), then run `{command}`."
        return _docs_row(rng, ask, answer)

    return make


def _docs_row(rng: random.Random, ask: str, answer: str) -> Row:
    return {"instruction": rng.choice(DOCS_INSTRUCTIONS), "input": ask, "output": answer}


# --------------------------------------------------------------------------
# Sampling and writing
# --------------------------------------------------------------------------


def sample_rows(makers: list[RowMaker], count: int, rng: random.Random) -> list[Row]:
    """Draw `count` rows whose prompts are all distinct, cycling through the makers.

    Cycling keeps every (product, question type) pair represented; distinct
    prompts rule out duplicates within a file and across the train/eval split.
    """
    rows: list[Row] = []
    seen: set[tuple[str, str]] = set()
    attempts = 0
    while len(rows) < count:
        attempts += 1
        if attempts > count * 50:
            raise RuntimeError(f"could only draw {len(rows)} distinct rows of {count}")
        row = makers[attempts % len(makers)](rng)
        key = (row["instruction"], row["input"])
        if key in seen:
            continue
        if len(row["output"]) > MAX_OUTPUT_CHARS:
            raise ValueError(f"answer too long ({len(row['output'])} chars): {row['output']}")
        seen.add(key)
        rows.append(row)
    rng.shuffle(rows)
    return rows


def write_jsonl(path: Path, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8", newline="\n")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


SUPPORT_TEMPLATE = """\
### Instruction:
{instruction}

### Customer message:
{input}

### Answer:
"""

DOCS_TEMPLATE = """\
### Instruction:
{instruction}

### Question:
{input}

### Answer:
"""

MANIFEST = """\
# The example project: two adapters trained on the tiny offline base model.
# Regenerate the data with `python scripts/make_example.py`.

[project]
name = "example"

[base]
model = "models/tiny-base"   # a hub id (pin `revision`) or a local folder
dtype = "auto"

[defaults.lora]
r = 16
alpha = 32
dropout = 0.05
target_modules = "all-linear"

[defaults.train]
quantization = "nf4"
learning_rate = 5e-3   # the tiny base takes a high rate: support val loss 6.5 -> 0.19 in 3 epochs
epochs = 3
batch_size = 16
max_length = 256
seed = 42

[defaults.eval]
max_new_tokens = 64

[adapters.support]
description = "Customer-support assistant"
data = "data/support.jsonl"
eval_data = "evals/support.jsonl"
template = "templates/support.txt"

[adapters.support.gates]
rouge_l = ">= 0.3"   # the CPU demo reaches 0.41; docs reaches 0.28

[adapters.docs]
description = "Documentation assistant"
data = "data/docs.jsonl"
eval_data = "evals/docs.jsonl"
template = "templates/docs.txt"

[adapters.docs.gates]
rouge_l = ">= 0.2"
"""

README = """\
# Example project

A complete, small adapterctl project with two LoRA adapters on a tiny Llama-style
base model that is built offline:

- `support`: a customer-support assistant for {products} fictional products (routers,
  thermostats, billing plans, apps...) answering refunds, shipping delays,
  warranty, setup, error codes, resets, cancellations, upgrades and billing errors.
- `docs`: a documentation assistant for {tools} fictional tools, explaining config
  options, CLI flags, API functions, errors and installation.

Each adapter has {train_rows} training rows in `data/` and {eval_rows} held-out rows
in `evals/` (keys `instruction`, `input`, `output`), a prompt template in
`templates/`, and a ROUGE-L gate in `adapterctl.toml`. The base model in
`models/tiny-base` is the one `adapterctl.tiny` builds (about 200k parameters).

## Run it

```
adapterctl init demo --example
cd demo
adapterctl train support
adapterctl eval support
adapterctl train docs
adapterctl eval docs
```

`eval` exits with 1 when a gate fails.

## Where the data comes from

The rows are synthetic. `python scripts/make_example.py` (in the adapterctl
repository) regenerates every file here from a fixed seed, without network access;
running it twice gives identical files. Answers follow a fixed pattern per product
or tool and question type, which is what lets a tiny model learn them in a few
epochs and beat its untuned base on the held-out rows.
"""


def _shingles(row: Row) -> set[tuple[str, ...]]:
    """Word 3-grams of a whole row, case folded: what `data check`'s near_leakage compares."""
    words = re.findall(r"\w+", f"{row['instruction']}\n{row['input']}\n{row['output']}".lower())
    return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def _near(shingles: set, others: list[set]) -> bool:
    return any(len(shingles & o) / len(shingles | o) >= NEAR_LEAK_MARGIN for o in others)


def build_split(makers: list[RowMaker], rng: random.Random) -> tuple[list[Row], list[Row]]:
    """Draw train and eval rows together so no prompt appears in both, then drop every
    training row close to an eval row: the example's data check must show
    no leakage, exact or near (the check's MinHash estimate errs by about 0.03 at 128
    permutations, hence a margin below its 0.85 threshold)."""
    rows = sample_rows(makers, TRAIN_ROWS + EVAL_ROWS + SPARE_ROWS, rng)
    evals = rows[:EVAL_ROWS]
    held_out = [_shingles(r) for r in evals]
    train = [r for r in rows[EVAL_ROWS:] if not _near(_shingles(r), held_out)]
    if len(train) < TRAIN_ROWS:
        raise RuntimeError(f"only {len(train)} training rows are far enough from the eval rows")
    return train[:TRAIN_ROWS], evals


def main(out_dir: Path) -> None:
    out_dir = Path(out_dir)
    rng = random.Random(SEED)
    support_train, support_eval = build_split(list(_device_rows()) + list(_plan_rows()), rng)
    docs_train, docs_eval = build_split(list(_doc_rows()), rng)

    write_jsonl(out_dir / "data" / "support.jsonl", support_train)
    write_jsonl(out_dir / "evals" / "support.jsonl", support_eval)
    write_jsonl(out_dir / "data" / "docs.jsonl", docs_train)
    write_jsonl(out_dir / "evals" / "docs.jsonl", docs_eval)
    write_text(out_dir / "templates" / "support.txt", SUPPORT_TEMPLATE)
    write_text(out_dir / "templates" / "docs.txt", DOCS_TEMPLATE)
    write_text(out_dir / "adapterctl.toml", MANIFEST)
    write_text(
        out_dir / "README.md",
        README.format(products=len(DEVICES) + len(PLANS), tools=len(TOOLS), train_rows=TRAIN_ROWS, eval_rows=EVAL_ROWS),
    )


# --------------------------------------------------------------------------
# The built-in base's weights
# --------------------------------------------------------------------------

PRETRAIN_STEPS = 1200
PRETRAIN_SEQ = 256  # as long as the example's rows: positions never seen in pretraining stay unusable
PRETRAIN_BATCH = 16
PRETRAIN_LR = 3e-3


def pretraining_paragraphs() -> list[str]:
    """English that ships with every Python (the language reference's topics, as `help()` shows
    them) as prose paragraphs, whitespace folded and code and grammar blocks left out, then the
    sentences the tokenizer was trained on (tiny.py's own corpus: support and docs register,
    drawn at random; no row of the example)."""
    from pydoc_data.topics import topics

    from adapterctl import tiny

    paragraphs = []
    for key in sorted(topics):
        for block in re.split(r"\n\s*\n", topics[key]):
            text = " ".join(block.split())
            letters = sum(c.isalpha() or c == " " for c in text)
            if len(text) > 40 and letters > 0.85 * len(text) and not block.startswith((" ", "*", "=")):
                paragraphs.append(text)
    return paragraphs + tiny.tokenizer_corpus()


def pretrain_base(out: Path, steps: int = PRETRAIN_STEPS) -> None:
    """Train the tiny model as a plain causal LM on `pretraining_paragraphs()`, each ended by the
    eos token (so the base learns to stop), and write its weights to `out`
    (adapterctl/tiny_base.safetensors) with the tokenizer's digest in the metadata. One thread
    and fixed seeds: the same run on the same machine writes the same bytes."""
    import math

    import torch
    from safetensors.torch import save_file

    from adapterctl import tiny

    torch.set_num_threads(1)
    tokenizer = tiny.build_tokenizer()
    encoded = tokenizer(pretraining_paragraphs(), add_special_tokens=False, verbose=False)["input_ids"]
    ids = torch.tensor([token for paragraph in encoded for token in (*paragraph, tokenizer.eos_token_id)])
    model = tiny.build_model(tokenizer, seed=0).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=PRETRAIN_LR, weight_decay=0.01, betas=(0.9, 0.95))
    draw = torch.Generator().manual_seed(0)
    bos = torch.full((PRETRAIN_BATCH, 1), tokenizer.bos_token_id)
    for step in range(steps):
        warmup = min(1.0, (step + 1) / 100)
        for group in optimizer.param_groups:  # linear warmup, then cosine decay to zero
            group["lr"] = PRETRAIN_LR * warmup * 0.5 * (1 + math.cos(math.pi * step / steps))
        starts = torch.randint(0, len(ids) - PRETRAIN_SEQ, (PRETRAIN_BATCH,), generator=draw).tolist()
        batch = torch.cat([bos, torch.stack([ids[s : s + PRETRAIN_SEQ] for s in starts])], dim=1)
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        if step % 200 == 0 or step == steps - 1:
            print(f"step {step}/{steps}  loss {loss.item():.3f}", flush=True)
    state = {name: t.detach().contiguous() for name, t in model.state_dict().items()}
    save_file(state, str(out), metadata={"vocab_sha256": tiny.vocab_digest(tokenizer), "steps": str(steps)})
    print(f"wrote {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--pretrain-base"]:
        from adapterctl import tiny

        steps = int(args[1]) if len(args) > 1 else PRETRAIN_STEPS
        pretrain_base(Path(args[2]) if len(args) > 2 else tiny.PRETRAINED, steps)
    else:
        main(Path(args[0]) if args else Path(__file__).resolve().parents[1] / "example-project")
