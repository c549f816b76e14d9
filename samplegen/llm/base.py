"""The one-method LLM backend interface and its sampling parameters.

A backend turns prompts into texts: ``generate(prompts, sampling, constraint)``.
``constraint`` is ``None`` (free text), one :class:`~samplegen.llm.constrained.RowConstraint`
shared by every prompt, or one per prompt. Backends are chosen by name with
:func:`get_backend`; heavy imports (torch, vllm, httpx) happen inside the backend modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from samplegen.errors import BackendError

if TYPE_CHECKING:
    from samplegen.llm.constrained import RowConstraint

__all__ = ["SamplingParams", "ChatPrompt", "Backend", "prompt_key", "BACKENDS", "get_backend", "ConstraintArg",
           "per_prompt_constraints"]


@dataclass(frozen=True, kw_only=True)
class SamplingParams:
    """How to sample: temperature, nucleus/top-k cut-offs, length limit and seed."""

    temperature: float = 0.8
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 256
    seed: int = 0
    stop: tuple[str, ...] = field(default_factory=lambda: ("\n",))

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise BackendError(f"temperature must be >= 0, got {self.temperature}.")
        if not 0 < self.top_p <= 1:
            raise BackendError(f"top_p must be in (0, 1], got {self.top_p}.")
        if self.max_new_tokens < 1:
            raise BackendError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}.")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


@dataclass(frozen=True)
class ChatPrompt:
    """A chat-style prompt: the user message and the start of the assistant's answer."""

    user: str
    assistant: str = ""


def prompt_key(prompt: str | ChatPrompt) -> str:
    """A text key of a prompt (for grouping equal prompts)."""
    return prompt if isinstance(prompt, str) else prompt.user + "\x00" + prompt.assistant


ConstraintArg = "RowConstraint | Sequence[RowConstraint | None] | None"


@runtime_checkable
class Backend(Protocol):
    """Anything that turns prompts into completions."""

    name: str

    def generate(self, prompts: Sequence[str], sampling: SamplingParams,
                 constraint: Any = None) -> list[str]:
        """Return one completion per prompt (without the prompt)."""
        ...


BACKENDS: dict[str, str] = {
    "transformers": "samplegen.llm.backends.transformers_backend:TransformersBackend",
    "vllm": "samplegen.llm.backends.vllm_backend:VLLMBackend",
    "openai": "samplegen.llm.backends.openai_backend:OpenAIBackend",
}


def get_backend(name: str, model: str, **options: Any) -> Backend:
    """Build the backend called ``name`` for ``model`` (alias, local path or server model name)."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}. Fix: use one of {sorted(BACKENDS)}.")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)(model, **options)


def per_prompt_constraints(constraint: Any, n: int) -> list[RowConstraint | None]:
    """Expand a shared constraint (or ``None``) to a list with one entry per prompt."""
    if constraint is None or not isinstance(constraint, (list, tuple)):
        return [constraint] * n
    if len(constraint) != n:
        raise BackendError(f"got {len(constraint)} constraints for {n} prompts; pass one per "
                           "prompt or a single shared one.")
    return list(constraint)
