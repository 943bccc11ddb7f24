"""Training data: loading tables through `datasets`, rendering prompt templates, building
the prompt/completion rows that the trainer consumes."""
