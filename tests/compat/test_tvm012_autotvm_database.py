"""TVM 0.12's tests/python/unittest/test_autotvm_database.py, as a TVM user's code reads after
``from tensorlang.autotvm import database`` (imports changed only; test names kept), plus
tensorlang's own checks of ``RedisDatabase`` (on a stand-in client: no Redis server here) and
``filter_inputs``."""

import copy
import logging
import sys

import pytest
from tensorlang.autotvm import database
from tensorlang.autotvm.record import MeasureResult, encode

from tensorlang.testing.autotvm import get_sample_records


def test_save_load():
    logging.info("test basic db load/save ...")
    records = get_sample_records(3)
    inp1, res1 = records[0]
    inp2, res2 = records[1]
    inp3, _ = records[2]

    _db = database.DummyDatabase()
    _db.flush()
    _db.save(inp1, res1)
    _db.save(inp2, res2)

    load1 = _db.load(inp1)
    load2 = _db.load(inp2)
    load3 = _db.load(inp3)
    assert load1 == res1
    assert load2 == res2
    assert load3 is None
    assert load1 != load2


TRIAL_LIMIT = 2


def test_db_hash():
    logging.info("test db hash check ...")
    inp1, res1 = get_sample_records(1)[0]
    inp2 = copy.deepcopy(inp1)
    inp1.config.code_hash = "cafecafe"
    inp2.config.code_hash = "dbffdbff"
    res2l = list(tuple(res1))

    # set timestamp
    res2l[-1] = -1
    res2 = MeasureResult(*res2l)
    _db = database.DummyDatabase()
    _db.flush()
    _db.save(inp1, res1, extend=True)
    _db.save(inp2, res2, extend=True)

    load1 = _db.load(inp1)
    load2 = _db.load(inp2)
    assert load1 != load2
    assert load1.timestamp != -1
    assert load2.timestamp == -1


def test_db_latest_all():
    logging.info("test db load w/ multiple results ...")
    inp1, res1 = get_sample_records(1)[0]
    lis1 = list(tuple(res1))
    lis2 = list(tuple(res1))
    lis3 = list(tuple(res1))

    # set timestamp
    lis1[-1] = 0.0
    lis2[-1] = 1.1
    lis3[-1] = 9999.9999
    res1 = MeasureResult(*lis1)
    res2 = MeasureResult(*lis2)
    res3 = MeasureResult(*lis3)

    _db = database.DummyDatabase()
    _db.flush()
    _db.save(inp1, res1, extend=True)
    load1 = _db.load(inp1)
    assert load1.timestamp == 0.0
    _db.save(inp1, res2, extend=True)
    load2 = _db.load(inp1)
    assert load2.timestamp == 1.1
    _db.save(inp1, res3, extend=True)
    load3 = _db.load(inp1)
    assert load3.timestamp == 9999.9999

    load4 = _db.load(inp1, get_all=True)
    assert encode(inp1, load4[0]) == encode(inp1, res1)
    assert encode(inp1, load4[1]) == encode(inp1, res2)
    assert encode(inp1, load4[2]) == encode(inp1, res3)


def test_db_filter():
    logging.info("test db filter ...")
    records = get_sample_records(5)
    _db = database.DummyDatabase()
    _db.flush()
    for inp, result in records:
        _db.save(inp, result)

    records = _db.filter(lambda inp, ress: any(r.costs[0] <= 2 for r in ress))
    assert len(records) == 2


# --- tensorlang's own -----------------------------------------------------------------------------

class _FakeRedis:
    """The part of redis.StrictRedis that RedisDatabase uses, values kept as bytes as Redis does."""

    def __init__(self):
        self.store = {}

    def get(self, key):
        return self.store.get(key)

    def set(self, key, value):
        self.store[key] = value.encode() if isinstance(value, str) else value

    def keys(self):
        return list(self.store)

    def flushdb(self):
        self.store.clear()


def test_redis_database_round_trip_and_filter_inputs():
    records = get_sample_records(3)
    db = database.RedisDatabase(database.RedisDatabase.REDIS_TEST, client=_FakeRedis())
    (inp1, res1), (inp2, res2), (inp3, _) = records
    db.save(inp1, res1)
    db.save(inp1, res2, extend=True)
    assert [r.costs for r in db.load(inp1, get_all=True)] == [res1.costs, res2.costs]
    assert db.load(inp1).costs == max((res1, res2), key=lambda r: r.timestamp).costs
    assert db.load(inp3) is None
    assert [inp.config.index for inp, _ in db.filter(lambda inp, results: True)] == [inp1.config.index]
    partial, unsaved = database.filter_inputs(db, [inp1, inp3])
    assert partial[0] is not None and partial[1] is None and unsaved == [inp3]
    db.flush()
    assert db.load(inp1) is None


def test_redis_database_without_redis_names_the_alternatives(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)  # as if not installed
    with pytest.raises(database.DatabaseError, match="DummyDatabase"):
        database.RedisDatabase()


def test_autotvm_modules_are_attributes_as_in_tvm():
    # TVM's autotvm package imports database and feature: code reaches them as attributes
    # (asked of the package's lazy attribute hook itself: this process may have imported them).
    import tensorlang.autotune as package

    assert package.__getattr__("database") is database
    assert package.__getattr__("feature").get_itervar_feature
    assert package.__getattr__("tuner").DropletTuner
