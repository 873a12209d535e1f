"""Every lowering step (and LLVM code generation) does work linear in the size of the IR: on
each family of tools/pass_scaling.py, quadrupling the size at most about quadruples the nodes a
step visits and builds (a count, so the test is immune to a loaded machine's noise).

LLVM code generation outlines big bodies (target/llvm/outline.py): each family is measured with
outlining off and with every body outlined, so both sizes take the same path (a threshold crossed
between them would add the outlining work at one size only).

Known exception: partition_loops analyses each loop's whole body, so in a loop nest k deep
it does O(k * size) work (the nest family); realistic nests are a few loops deep."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tensorlang.target.llvm import outline

_TOOL = Path(__file__).resolve().parents[2] / "tools" / "pass_scaling.py"
_spec = importlib.util.spec_from_file_location("pass_scaling", _TOOL)
pass_scaling = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pass_scaling)


@pytest.mark.parametrize("outlined", [False, True], ids=["one-function", "outlined"])
@pytest.mark.parametrize("family", sorted(pass_scaling.FAMILIES))
def test_no_lowering_step_is_superlinear_in_the_ir_size(family: str, outlined: bool, monkeypatch) -> None:
    monkeypatch.setattr(outline, "THRESHOLD", 0 if outlined else 10**9)
    base = pass_scaling.FAMILIES[family][1] // 2
    result = pass_scaling.scaling(family, [base, base * 4], metric="work")
    assert {"schedule_ops", "simplify", "codegen_llvm"} <= set(result)
    allowed = {"partition_loops"} if family == "nest" else set()
    worst = {step: round(exp, 2) for step, (_, exp) in result.items() if exp > 1.25 and step not in allowed}
    assert not worst, f"{family}: work grows faster than the IR in {worst} (1 is linear, 2 quadratic)"
    assert max(vals[-1] for vals, _ in result.values()) > 500  # the count really counts
