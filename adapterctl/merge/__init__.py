"""Baking adapters into base weights, combining adapters, exporting for serving engines.

- plan.py       what a merge changes, read from safetensors headers; refusals by name
- shards.py     the base checkpoint's shards and a streaming safetensors writer
- streaming.py  the shard-by-shard merge itself
- quantized.py  dequant(quant(W)): the weights a QLoRA adapter saw in training
- output.py     the temporary output folder, its clean-up on a crash, the model card
- verify.py     adapter-on-base vs merged logits on a few eval prompts
- combine.py    PEFT add_weighted_adapter → a new registered version
- export.py     peft / merged / vllm export, with vLLM's constraints checked

Only `streaming` and `plan` run for every merge; they import torch and safetensors, never
transformers or peft, so a merge of a large base costs about one tensor of memory.
"""
