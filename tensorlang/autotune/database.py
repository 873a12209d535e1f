"""TVM's ``autotvm.database``: measured (input, result) pairs kept by what was measured, so that
a batch can skip the configs measured before (``filter_inputs``).

``DummyDatabase`` keeps them in this process's memory; ``RedisDatabase`` in a Redis server
(it needs the ``redis`` package), each key holding the JSON log lines (``record.encode``) of
its results.  A record's key is its ``record.measure_str_key`` plus the config's ``code_hash``
when set, so results of another version of a template's code are kept apart, as in TVM.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import TensorLangError
from .measure import MeasureInput, MeasureResult
from .record import RecordError, decode, encode, measure_str_key

Record = tuple[MeasureInput, MeasureResult]


class DatabaseError(TensorLangError, RuntimeError):
    """A database cannot be used (``RedisDatabase`` without the redis package, say)."""


def record_key(inp: MeasureInput) -> str:
    """The key a database files ``inp`` under: what was measured and, when the config has one,
    the hash of the template code that produced it."""
    code_hash = getattr(inp.config, "code_hash", None)
    return measure_str_key(inp) + (f"|code_hash={code_hash}" if code_hash else "")


def _latest(results: Sequence[MeasureResult]) -> MeasureResult:
    return max(results, key=lambda r: r.timestamp)


class Database:
    """Base of record databases (TVM's ``autotvm.database.Database``)."""

    def load(self, inp: MeasureInput, get_all: bool = False) -> MeasureResult | list[MeasureResult] | None:
        """The latest result saved for ``inp`` (all of them, oldest first, with ``get_all``), or None."""
        raise NotImplementedError

    def save(self, inp: MeasureInput, res: MeasureResult, extend: bool = False) -> None:
        """File ``res`` under ``inp``: replacing what was there, or beside it with ``extend``."""
        raise NotImplementedError


def filter_inputs(db: Database, measure_inputs: Sequence[MeasureInput],
                  retry: bool = False) -> tuple[list[MeasureResult | None], list[MeasureInput]]:
    """(saved results, one per input, None where none is saved; the inputs without one).  With
    ``retry``, an input whose saved result is an error counts as unsaved."""
    partial: list[MeasureResult | None] = []
    unsaved: list[MeasureInput] = []
    for inp in measure_inputs:
        res = db.load(inp)
        if res is None or (retry and int(res.error_no) != 0):
            unsaved.append(inp)
            partial.append(None)
        else:
            partial.append(res)
    return partial, unsaved


class DummyDatabase(Database):
    """Records in memory (TVM's testing database): ``db`` maps each key to its records."""

    def __init__(self) -> None:
        self.db: dict[str, list[Record]] = {}

    def load(self, inp: MeasureInput, get_all: bool = False) -> MeasureResult | list[MeasureResult] | None:
        records = self.db.get(record_key(inp))
        if not records:
            return None
        results = [res for _, res in records]
        return results if get_all else _latest(results)

    def save(self, inp: MeasureInput, res: MeasureResult, extend: bool = False) -> None:
        key = record_key(inp)
        if extend and key in self.db:
            self.db[key].append((inp, res))
        else:
            self.db[key] = [(inp, res)]

    def filter(self, func: Callable[[MeasureInput, tuple[MeasureResult, ...]], bool]) -> list[Record]:
        """(input, latest result) of every key whose ``func(input, results)`` is true, e.g.
        ``db.filter(lambda inp, results: any(r.error_no != 0 for r in results))``."""
        matched = []
        for records in self.db.values():
            inps, results = zip(*records)
            if func(inps[0], results):
                matched.append((inps[0], _latest(results)))
        return matched

    def flush(self) -> None:
        """Forget every record."""
        self.db = {}


class RedisDatabase(Database):
    """Records in a Redis server: each key holds a JSON list of log lines.  ``db_index`` picks
    the Redis database (TVM's REDIS_PROD ... REDIS_TEST); the host is 127.0.0.1 for REDIS_TEST,
    else ``$TVM_FLEET_HOST``.  ``client`` (tensorlang's) is a ready client with get/set/keys/flushdb."""

    REDIS_PROD = 15
    REDIS_LOCA = 14
    REDIS_TEST = 13
    REDIS_NIGHT_TEMP = 12

    def __init__(self, db_index: int = REDIS_PROD, client: Any = None):
        if client is None:
            try:
                import redis
            except ImportError:
                raise DatabaseError("RedisDatabase needs the redis package (pip install redis) and a Redis "
                                    "server; DummyDatabase keeps records in memory, and tuning logs "
                                    "(autotvm.callback.log_to_file) keep them in files") from None
            host = "127.0.0.1" if db_index == self.REDIS_TEST else os.environ.get("TVM_FLEET_HOST")
            client = redis.StrictRedis(host=host, port=6379, db=db_index)
        self.db = client
        self.db_index = db_index

    def _lines(self, key: Any) -> list[str]:
        value = self.db.get(key)
        if value is None:
            return []
        return list(json.loads(value.decode() if isinstance(value, bytes) else value))

    def _records(self, key: Any) -> list[Record]:
        records = []
        for line in self._lines(key):
            try:
                records.append(decode(line))
            except RecordError:  # a line of another writer or version: not ours to read
                continue
        return records

    def load(self, inp: MeasureInput, get_all: bool = False) -> MeasureResult | list[MeasureResult] | None:
        results = [res for _, res in self._records(record_key(inp))]
        if not results:
            return None
        return results if get_all else _latest(results)

    def save(self, inp: MeasureInput, res: MeasureResult, extend: bool = False) -> None:
        key = record_key(inp)
        lines = self._lines(key) if extend else []
        self.db.set(key, json.dumps(lines + [encode(inp, res)]))

    def filter(self, func: Callable[[MeasureInput, tuple[MeasureResult, ...]], bool]) -> list[Record]:
        """As ``DummyDatabase.filter``, over every key of the Redis database."""
        matched = []
        for key in self.db.keys():
            records = self._records(key)
            if not records:
                continue
            inps, results = zip(*records)
            if func(inps[0], results):
                matched.append((inps[0], _latest(results)))
        return matched

    def flush(self) -> None:
        """Remove every key of the Redis database."""
        self.db.flushdb()


__all__ = ["Database", "DummyDatabase", "RedisDatabase", "DatabaseError", "filter_inputs", "record_key"]
