"""Baking adapters into base weights, combining adapters, exporting for serving engines.

- merger.py     `merge`: resolve the version, stream, verify, publish the folder all or nothing
- plan.py       what a merge changes, read from safetensors headers; refusals by name
- shards.py     the base checkpoint's shards and a streaming safetensors writer
- streaming.py  the shard-by-shard merge itself
- quantized.py  dequant(quant(W)): the weights a QLoRA adapter saw in training
- output.py     the temporary output folder, its clean-up on a crash, the model card
- verify.py     adapter-on-base vs merged logits on a few eval prompts
- combine.py    PEFT add_weighted_adapter → a new registered version
- export.py     peft / merged / vllm export, with vLLM's constraints checked

The weights are merged by `streaming` and `plan` alone: torch and safetensors, never
transformers or peft, about one tensor in memory at a time. Verification (on unless
--no-verify) loads the base with the adapter and then the merged folder, one at a time, so
it needs one model's memory.
"""
