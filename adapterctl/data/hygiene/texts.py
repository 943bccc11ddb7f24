"""The texts the content checks compare, computed once per file: each valid row's prompt and
answer, raw and normalised."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapterctl.data.hygiene.rows import DataFile, normalise, prompt_and_answer


@dataclass
class Texts:
    label: str
    lines: list[int] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)  # raw
    answers: list[str] = field(default_factory=list)  # raw
    norm_prompts: list[str] = field(default_factory=list)
    norm_answers: list[str] = field(default_factory=list)

    def full(self, i: int) -> str:
        """Prompt and answer, normalised: what `duplicate` and `near_duplicate` compare."""
        return f"{self.norm_prompts[i]}\n{self.norm_answers[i]}"

    def __len__(self) -> int:
        return len(self.lines)


def of(data: DataFile, invalid: set[int], tag_field: str | None) -> Texts:
    texts = Texts(data.label)
    if data.format is None:
        return texts
    for row in data.rows:
        if row.line in invalid:
            continue
        prompt, answer = prompt_and_answer(row.data, data.format, tag_field)
        texts.lines.append(row.line)
        texts.prompts.append(prompt)
        texts.answers.append(answer)
        texts.norm_prompts.append(normalise(prompt))
        texts.norm_answers.append(normalise(answer))
    return texts
