"""Load Jinja2 prompt templates (shipped ones by name, or any ``.j2`` file by path).

Templates render in a :class:`jinja2.sandbox.SandboxedEnvironment` with
``StrictUndefined`` and autoescape off. Values reach a template only as
variables (exemplar rows are pre-encoded strings), never as template source, so
a value such as ``"{{ 7*7 }}"`` is printed literally.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from samplegen.errors import UsageError

__all__ = ["PromptTemplate", "load_template", "list_templates", "describe_columns"]

SUFFIX = ".j2"


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                                trim_blocks=True, lstrip_blocks=True,
                                keep_trailing_newline=False)


_ENV = _environment()


@dataclass(frozen=True)
class PromptTemplate:
    """A compiled prompt template; ``sha256`` hashes its source bytes (for manifests)."""

    name: str
    source: str
    sha256: str
    path: str | None = None
    _template: jinja2.Template = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    @property
    def variables(self) -> set[str]:
        """Names of the variables the template reads."""
        return meta.find_undeclared_variables(_ENV.parse(self.source))

    def render(self, **ctx: Any) -> str:
        """The prompt text for the variables in ``ctx`` (values are inserted as data)."""
        try:
            return self._template.render(**ctx)
        except jinja2.UndefinedError as e:
            raise UsageError(f"prompt template {self.name!r} ({self.where}): {e.message}. Fix: "
                             f"pass every variable it reads: {sorted(self.variables)}") from e
        except jinja2.exceptions.SecurityError as e:
            raise UsageError(f"prompt template {self.name!r} ({self.where}) tried an unsafe "
                             f"operation: {e}. Fix: use only plain variables and filters") from e
        except jinja2.TemplateError as e:
            raise UsageError(f"prompt template {self.name!r} ({self.where}) failed to render: "
                             f"{e}") from e

    @property
    def where(self) -> str:
        return self.path or "built-in"


def list_templates() -> list[str]:
    """Names of the templates shipped in ``prompts/templates``."""
    root = resources.files("prompts") / "templates"
    return sorted(p.name[: -len(SUFFIX)] for p in root.iterdir() if p.name.endswith(SUFFIX))


def load_template(name_or_path: str | Path) -> PromptTemplate:
    """A shipped template by name (``"fewshot_cot"``) or a ``.j2`` file by path."""
    path, name, data = _read(name_or_path)
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"prompt template {path}: not UTF-8 text ({e}). Fix: save it as "
                         "UTF-8") from e
    try:
        template = _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as e:
        raise UsageError(f"prompt template {path}: syntax error at line {e.lineno}: {e.message}. "
                         "Fix: correct the Jinja2 syntax on that line") from e
    return PromptTemplate(name, source, hashlib.sha256(data).hexdigest(),
                          None if str(path).startswith("<") else str(path), template)


def _read(name_or_path: str | Path) -> tuple[str, str, bytes]:
    text = str(name_or_path)
    is_path = isinstance(name_or_path, Path) or "/" in text or "\\" in text
    if not is_path:
        stem = text[: -len(SUFFIX)] if text.endswith(SUFFIX) else text
        res = resources.files("prompts") / "templates" / f"{stem}{SUFFIX}"
        if res.is_file():
            return f"<built-in {stem}{SUFFIX}>", stem, res.read_bytes()
        if not Path(text).is_file():
            raise UsageError(f"unknown prompt template {text!r}. Fix: use one of "
                             f"{list_templates()} or pass a path to a {SUFFIX} file")
    p = Path(text)
    if not p.is_file():
        raise UsageError(f"prompt template file {text!r} does not exist. Fix: pass an existing "
                         f"{SUFFIX} file or one of {list_templates()}")
    stem = p.name[: -len(SUFFIX)] if p.name.endswith(SUFFIX) else p.stem
    return str(p), stem, p.read_bytes()


def describe_columns(columns: Iterable[Any], format_value: Callable[[str, Any], str] | None = None,
                     *, max_values: int = 40) -> list[dict[str, str]]:
    """Template-ready facts per schema column: ``name``, ``role``, ``type``, ``domain`` text.

    ``format_value(column, value)`` writes domain values as rows write them (pass
    ``RowCodec.format_value``); at most ``max_values`` values are listed.
    """
    return [_describe(c, format_value, max_values) for c in columns]


def _describe(c: Any, fmt: Callable[[str, Any], str] | None, max_values: int) -> dict[str, str]:
    role = getattr(c.role, "value", c.role)
    typ = getattr(c.type, "value", c.type)
    if c.is_label:
        domain = "0 or 1"
    elif typ == "categorical":
        if c.values:
            shown = [fmt(c.name, v) if fmt else str(v) for v in c.values[:max_values]]
            more = len(c.values) - len(shown)
            domain = "one of " + ", ".join(shown) + (f" (and {more} more)" if more > 0 else "")
        else:
            domain = "free text"
    elif typ == "numerical":
        what = "an integer" if c.integer or c.decimals == 0 else "a number"
        rng = _range(c)
        dec = f" with at most {c.decimals} decimals" if c.decimals and not c.integer else ""
        domain = f"{what}{rng}{dec}"
    else:
        domain = "an ISO-8601 date-time (YYYY-MM-DDTHH:MM:SS)"
    if getattr(c, "nullable", False):
        domain += "; NaN when missing"
    return {"name": c.name, "role": str(role), "type": str(typ), "domain": domain}


def _range(c: Any) -> str:
    def num(x: float) -> str:
        return f"{x:g}" if c.decimals is None else f"{x:.{c.decimals}f}"

    if c.min is not None and c.max is not None:
        return f" from {num(c.min)} to {num(c.max)}"
    if c.min is not None:
        return f" of at least {num(c.min)}"
    if c.max is not None:
        return f" of at most {num(c.max)}"
    return ""
