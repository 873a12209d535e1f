"""The fast schema check never calls a record valid that jsonschema rejects, and passes real records."""

import copy
import json
import random

import jsonschema

from tensorlang.autotune import record
from tensorlang.autotune.schema_fast_path import surely_valid

_GOOD = {
    "v": 1,
    "task": {"name": "matmul", "args": [64, 64, 64, "float32"], "workload_key": '["matmul",[64,64,64]]',
             "target": "llvm -mcpu=znver4"},
    "config": {"index": 17, "knobs": {"tile_x": ["sp", [-1, 8]], "order": ["ot", "row"], "un": ["an", "unroll"]}},
    "result": {"costs": [0.0012, 0.0011], "error_no": 0, "error_kind": "ok", "error_msg": "", "all_cost": 1.5,
               "build_time": 0.3, "run_time": 0.2, "timestamp": 1796126289.7},
    "gflops": 42.0,
    "host": {"hostname": "h", "cpu": "znver4", "tensorlang": "0.1"},
    "device": {"kind": "cpu", "name": "AMD EPYC", "arch": ["avx512f"], "versions": {"llvm": "20"}},
    "confirm": {"rank": 1, "of": 3, "after": 12},
}
_ODD = [None, True, False, 0, -1, 1.0, 2.5, -0.0, float("inf"), "", "x", [], [1], {}, {"a": 1}, 9, 3.0,
        "sp", "cpu", 2**70]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _mutate(rec, rng):
    rec = copy.deepcopy(rec)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(rec) if p]
        path = rng.choice(paths)
        parent = rec
        for p in path[:-1]:
            parent = parent[p]
        action = rng.random()
        if action < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action < 0.3 and isinstance(parent, dict):
            parent[rng.choice(["extra", "costs", "kind", "rank"])] = copy.deepcopy(rng.choice(_ODD))
        elif action < 0.35 and isinstance(parent, list):
            parent.append(copy.deepcopy(rng.choice(_ODD)))
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(_ODD))
    return rec


def test_real_records_take_the_fast_path_and_mutants_never_pass_it_wrongly():
    validator = record._validator()
    assert surely_valid(validator.schema, _GOOD)
    assert validator.is_valid(_GOOD)
    rng = random.Random()
    fast_true = 0
    for _ in range(3000):
        rec = _mutate(_GOOD, rng)
        if surely_valid(validator.schema, rec):
            fast_true += 1
            assert validator.is_valid(rec), json.dumps(rec)
    assert fast_true > 100  # the mutants include valid ones (an optional field removed ...)


def test_a_failed_trial_and_unknown_keywords():
    validator = record._validator()
    failed = copy.deepcopy(_GOOD)
    failed["result"].update(costs=[], error_no=4, error_kind="runtime")
    assert surely_valid(validator.schema, failed) and validator.is_valid(failed)
    failed["result"]["error_no"] = 0  # a success with no costs: the schema's if/then rejects it
    assert not surely_valid(validator.schema, failed) and not validator.is_valid(failed)
    # an integer written as 1.0 is an integer to jsonschema: the fast path is unsure, not wrong
    loose = copy.deepcopy(_GOOD)
    loose["config"]["index"] = 17.0
    assert not surely_valid(validator.schema, loose) and validator.is_valid(loose)
    assert record.schema_errors(loose) == []
    assert not surely_valid({"pattern": "^a"}, "a")  # a keyword it does not know: unsure
    assert not surely_valid({"type": ["string", "null"]}, "a")
    assert jsonschema.Draft202012Validator({"type": ["string", "null"]}).is_valid("a")
