"""Generator registry: an explicit name -> class map; heavy generators register lazily by path.

Built-in generators are listed in ``_LAZY`` as ``"module:Class"`` strings and
imported only when asked for, so importing samplegen never imports SDV, torch
or an LLM stack. Third-party code adds its own with :func:`register_generator`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from samplegen.errors import GeneratorError, UsageError

if TYPE_CHECKING:
    from samplegen.generators.base import Generator

__all__ = ["register_generator", "get_generator", "generator_class", "list_generators"]

_LAZY: dict[str, str] = {
    "sdv-gaussian-copula": "samplegen.generators.sdv:GaussianCopulaGenerator",
    "sdv-ctgan": "samplegen.generators.sdv:CTGANGenerator",
    "sdv-tvae": "samplegen.generators.sdv:TVAEGenerator",
    "sdv-copulagan": "samplegen.generators.sdv:CopulaGANGenerator",
    "oversample": "samplegen.generators.classical:OversampleGenerator",
    "smote": "samplegen.generators.classical:SmoteGenerator",
    "llm-fewshot": "samplegen.llm.fewshot:FewShotGenerator",
    "llm-finetune": "samplegen.llm.finetune:FinetuneGenerator",
    "llm-judge": "samplegen.llm.judge:JudgeGenerator",
}
_CLASSES: dict[str, type[Generator]] = {}


def register_generator(name: str, target: str | None = None) -> Callable[[type], type]:
    """Class decorator adding a generator under ``name`` (also usable as a lazy entry:
    ``register_generator("x", "pkg.mod:Cls")``)."""
    if target is not None:
        _LAZY[name] = target

    def deco(cls: type) -> type:
        cls.name = name
        _CLASSES[name] = cls
        return cls

    return deco


def list_generators() -> list[str]:
    """Every registered generator name, sorted."""
    return sorted(set(_LAZY) | set(_CLASSES))


def generator_class(name: str) -> type[Generator]:
    """The class registered as ``name``; imports its module on first use."""
    if name in _CLASSES:
        return _CLASSES[name]
    if name not in _LAZY:
        raise UsageError(f"unknown generator {name!r}. Fix: use one of {list_generators()}.")
    module, _, attr = _LAZY[name].partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise GeneratorError(f"generator {name!r} cannot be imported ({module}: {e}). Fix: "
                             "install the missing dependency or pick another generator.") from e
    cls = getattr(mod, attr, None)
    if cls is None:
        raise GeneratorError(f"generator {name!r}: {module} has no class {attr!r}.")
    _CLASSES.setdefault(name, cls)
    return _CLASSES[name]


def get_generator(name: str, **params: Any) -> Generator:
    """A new, unfitted generator ``name`` configured with keyword ``params``."""
    return generator_class(name)(**params)
