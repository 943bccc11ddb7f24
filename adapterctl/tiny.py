"""Build a tiny Llama-style causal LM, offline and deterministically.

Tests cannot reach the Hugging Face hub, and `adapterctl init --example` needs a
base model that exists on any machine without a download. This module makes
one from nothing: a byte-level BPE tokenizer trained on a small built-in corpus
(customer-support and software-documentation English, plus printable ASCII)
and a 2-layer Llama with hidden size 64. Its weights ship in the package
(`tiny_base.safetensors`, 600 KB): pretrained offline by `scripts/make_example.py
--pretrain-base` on the Python documentation that ships with the standard library
(`pydoc_data.topics`), so the base writes English and the example adapters answer
in sentences. `seed=N` builds random weights instead (tests that need a second,
different base). Same arguments, same bytes: two builds write identical files, so
hashes recorded in version cards stay stable across machines.

Heavy libraries are imported inside the functions so that importing this
module stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from pathlib import Path

PRETRAINED = Path(__file__).with_name("tiny_base.safetensors")
VOCAB_SIZE = 1024
CORPUS_SEED = 1234  # the tokenizer does not depend on the model seed
CORPUS_SENTENCES = 4000

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]
SPECIAL_TOKENS = [PAD, BOS, EOS, *ROLE_TOKENS]  # ids 0..5, in this order

# Role marker, content and eos per message; `{% generation %}` marks what the
# assistant says so trainers can compute assistant-only loss. transformers
# renders with trim_blocks, so newlines are written as expressions.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + '\\n' }}"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}"
    "{% else %}"
    "{{ message['content'] + eos_token }}"
    "{% endif %}"
    "{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' + '\\n' }}{% endif %}"
)

MODEL_SHAPE = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 1024,
    "initializer_range": 0.05,
}
# The output projection gets a wider init than the rest. With the default 0.02,
# logits cannot leave about +-1.3 at hidden size 64, and LoRA on "all-linear"
# (which leaves lm_head frozen) then stalls near loss 6: the example's adapters
# could never learn. At 0.25 they reach ROUGE-L 0.2-0.3 in a few hundred steps.
LM_HEAD_STD = 0.25

# Word lists for the tokenizer corpus: the register of the example project, so
# that its prompts and answers tokenize into few tokens.
_SUBJECTS = [
    "the customer",
    "your order",
    "the router",
    "the app",
    "the thermostat",
    "your account",
    "the subscription",
    "the server",
    "the config file",
    "the command",
    "the function",
    "the option",
    "this error",
    "the update",
    "the device",
    "your password",
    "the billing plan",
    "the warranty",
]
_VERBS = [
    "returns",
    "sets",
    "shows",
    "fails with",
    "needs",
    "reads",
    "writes",
    "controls",
    "expects",
    "covers",
    "resets",
    "runs",
    "loads",
    "stops",
    "retries",
    "opens",
    "ships",
    "cancels",
    "upgrades",
    "refunds",
]
_OBJECTS = [
    "a refund",
    "the default value",
    "an error code",
    "the settings",
    "a new password",
    "the shipping status",
    "a list of errors",
    "the timeout in seconds",
    "the number of workers",
    "the log level",
    "a full refund within 30 days",
    "the cache directory",
    "the firmware",
    "a Config object",
    "the next billing period",
    "the serial number",
    "the tracking link",
    "the help page",
    "a dry run",
    "the output folder",
]
_OPENERS = [
    "Thank you for contacting us.",
    "Sorry for the trouble.",
    "Happy to help.",
    "No problem.",
    "We're sorry to hear that.",
    "Great question.",
    "To fix it,",
    "By default,",
    "Note that",
    "If the problem persists,",
    "Please",
    "You can",
    "Run",
    "Set",
    "Use",
    "Install it with",
]
_TAILS = [
    "under Account > Plan.",
    "in the config file.",
    "with `pip install`.",
    "using the --verbose flag.",
    "at example.com/help.",
    "within 5 to 7 days.",
    "before the end of the month.",
    "and try again.",
    "for all flags.",
    "when the light blinks.",
    "in the Python API.",
    "on the command line.",
]
_WORDS = [
    "instruction",
    "input",
    "output",
    "question",
    "answer",
    "message",
    "support",
    "docs",
    "documentation",
    "customer",
    "product",
    "install",
    "setup",
    "error",
    "option",
    "flag",
    "function",
    "module",
    "return",
    "shipping",
    "delay",
    "cancel",
    "upgrade",
    "reset",
    "warranty",
    "order",
    "payment",
    "charge",
    "email",
    "link",
    "minutes",
    "days",
    "seconds",
    "true",
    "false",
    "None",
    "int",
    "str",
    "bool",
    "path",
    "toml",
    "json",
]


def tokenizer_corpus() -> list[str]:
    """Fixed training text for the tokenizer; the same on every call."""
    rng = random.Random(CORPUS_SEED)
    lines = [string.printable, " ".join(_WORDS), "### Instruction:", "### Answer:"]
    for _ in range(CORPUS_SENTENCES):
        sentence = (
            f"{rng.choice(_OPENERS)} {rng.choice(_SUBJECTS)} "
            f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}"
        )
        extras = " ".join(rng.sample(_WORDS, 3))
        lines.append(f"{sentence} {extras.capitalize()} #{rng.randint(100, 99999)}.")
    return lines


def build_tokenizer():
    """Train the byte-level BPE and wrap it as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # any byte stays encodable
        min_frequency=2,
        show_progress=False,
    )
    backend.train_from_iterator(tokenizer_corpus(), trainer=trainer)
    # Like Llama: a bos before every encoded text, no eos (trainers append it).
    backend.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A",
        pair=f"{BOS} $A {BOS} $B",
        special_tokens=[(BOS, backend.token_to_id(BOS))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=ROLE_TOKENS,
        chat_template=CHAT_TEMPLATE,
        model_max_length=MODEL_SHAPE["max_position_embeddings"],
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )


def vocab_digest(tokenizer) -> str:
    """sha256 of the token → id table: the shipped weights are only valid for this exact table."""
    return hashlib.sha256(json.dumps(sorted(tokenizer.get_vocab().items())).encode()).hexdigest()


def build_model(tokenizer, *, seed: int | None = None):
    """The float32 LlamaForCausalLM sized for `tokenizer`: the shipped pretrained weights, or
    random ones drawn with `seed`."""
    model = _random_model(tokenizer, seed=0 if seed is None else seed)
    if seed is None:
        _load_pretrained(model, tokenizer)
    return model.eval()


def _load_pretrained(model, tokenizer) -> None:
    from safetensors import safe_open

    with safe_open(str(PRETRAINED), framework="pt") as f:
        expected = (f.metadata() or {}).get("vocab_sha256")
        if expected != vocab_digest(tokenizer):
            raise RuntimeError(
                f"{PRETRAINED.name} was pretrained with another tokenizer (a different `tokenizers` "
                "release trains another BPE); regenerate it with `python scripts/make_example.py --pretrain-base`"
            )
        state = {name: f.get_tensor(name) for name in f.keys()}
    model.load_state_dict(state, strict=True)


def _random_model(tokenizer, *, seed: int):
    """A randomly initialised float32 LlamaForCausalLM sized for `tokenizer`."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
        **MODEL_SHAPE,
    )
    # fork_rng: seed the init without disturbing the caller's global RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config).to(torch.float32)
        with torch.no_grad():
            model.lm_head.weight.normal_(mean=0.0, std=LM_HEAD_STD)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return model


def build_tiny_model(out_dir: str | Path, *, seed: int | None = None) -> Path:
    """Write a tiny model and its tokenizer to `out_dir` in Hugging Face format.

    The folder loads with `AutoModelForCausalLM.from_pretrained` and
    `AutoTokenizer.from_pretrained`; builds with the same seed are byte-identical.
    """
    from transformers.utils import logging as hf_logging

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed=seed)
    # A one-file save needs no progress bar; restore the caller's setting after.
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    return out_dir
