"""Training data: loading tables through `datasets` (loading.py), prompt templates and the
recorded prompt format (templates.py, prompts.py), the prompt/completion rows the trainer
consumes (examples.py), and `data check`/`data fix` (hygiene/), whose gate train passes first."""
