"""A writer's lock whose lease ran out (its holder on another machine stopped renewing it) is taken over;
one still within its lease is waited for. Real Chroma collections, no model needed."""

from __future__ import annotations

import time

import pytest

from bot.index import StoreError, open_index
from bot.index.locks import LEASE_SECONDS, document_lock, lock_name
from bot.model.embedding import BotEmbeddings


def foreign_lock(store, file: str, expires: float) -> str:
    """A lock as a process on another machine leaves it: another host, a pid that means nothing here."""
    name = lock_name(store.settings, file)
    store.client.create_collection(name, metadata={"host": "another-machine.example", "pid": 4242,
                                                   "token": "theirs", "document": file, "expires": expires})
    return name


def test_an_expired_lease_is_taken_over_at_once_and_a_live_one_is_waited_for(fresh_settings):
    store = open_index(fresh_settings, BotEmbeddings(fresh_settings))
    foreign_lock(store, "live.txt", time.time() + LEASE_SECONDS)
    started = time.monotonic()
    with (pytest.raises(StoreError, match=r"live\.txt is being ingested by another process \(another-machine"),
          document_lock(store.settings, store.client, "live.txt", wait=1.0)):
        pass
    assert time.monotonic() - started >= 1.0

    name = foreign_lock(store, "expired.txt", time.time() - 1)  # its holder stopped renewing: the lease ran out
    started = time.monotonic()
    with document_lock(store.settings, store.client, "expired.txt", wait=30.0) as lease:
        assert time.monotonic() - started < 5
        holder = store.client.get_collection(name).metadata
        assert holder["token"] == lease.token and holder["token"] != "theirs"
        assert holder["expires"] > time.time() + LEASE_SECONDS - 60  # a fresh lease of our own
    assert name not in [c.name for c in store.client.list_collections()]  # released


def test_a_locked_database_is_tried_again_until_it_answers_and_other_errors_are_not(monkeypatch):
    from bot.index import errors

    waits = []
    monkeypatch.setattr(errors.time, "sleep", waits.append)
    attempts = []

    def busy_twice():
        attempts.append(1)
        if len(attempts) <= 2:
            raise RuntimeError("Database error: error returned from database: (code: 5) database is locked")
        return "written"

    assert errors.retry_when_busy(busy_twice) == "written" and len(attempts) == 3

    def always_busy():
        attempts.append(1)
        raise RuntimeError("database is locked")

    attempts.clear()
    waits.clear()
    with pytest.raises(RuntimeError, match="database is locked"):
        errors.retry_when_busy(always_busy)
    assert len(attempts) == errors.BUSY_ATTEMPTS
    # the waits double from 0.05 s up to 2 s each, and add up to more than a minute before giving up
    assert waits[:3] == [0.05, 0.1, 0.2] and max(waits) == 2.0 and sum(waits) > 60

    def table_locked():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("(code: 6) database table is locked")
        return "read"

    attempts.clear()
    assert errors.retry_when_busy(table_locked) == "read" and len(attempts) == 2

    def nested_busy():  # an index call inside another's retries is tried by the outer one only
        return errors.retry_when_busy(always_busy)

    attempts.clear()
    with pytest.raises(RuntimeError, match="database is locked"):
        errors.retry_when_busy(nested_busy)
    assert len(attempts) == errors.BUSY_ATTEMPTS

    def broken():
        attempts.append(1)
        raise ValueError("no such collection")

    attempts.clear()
    with pytest.raises(ValueError):
        errors.retry_when_busy(broken)
    assert len(attempts) == 1
