"""A general LSTM layer (optional biases, initial states, projection and peepholes) as one ``te.scan``
over the sequence, with TVM's ``topi.nn.lstm`` signature."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..utils import check_tensors, get_const_tuple


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ExprError(msg)


def _expects_expression(act: Callable[..., Any], dtype: str) -> bool:
    """Whether ``act`` maps an expression to an expression (``tir.sigmoid``, TVM's kind) rather than a tensor
    to a tensor (``topi.sigmoid``): it is tried once on a free variable."""
    try:
        return isinstance(act(te.var("lstm_probe", dtype)), PrimExpr)
    except (AttributeError, TypeError, ExprError):
        return False


def _activate(act: Callable[..., Any], arg: str, pre: Tensor, name: str) -> Tensor:
    """``act`` applied to every element of ``pre``, whichever kind of function it is."""
    if _expects_expression(act, str(pre.dtype)):
        return te.compute(pre.shape, lambda *i: act(pre(*i)), name=name, tag=tag.INJECTIVE)
    out = act(pre)
    if not isinstance(out, Tensor) or get_const_tuple(out.shape) != get_const_tuple(pre.shape):
        raise ExprError(f"lstm: {arg} must map an expression to an expression (tir.sigmoid) or a tensor to a "
                        f"tensor of its shape (topi.sigmoid), got {act!r}")
    return out


def lstm(Xs: Tensor, Wi: Tensor, Wh: Tensor, Bi: Tensor | None = None, Bh: Tensor | None = None,  # noqa: N803
         h_init: Tensor | None = None, c_init: Tensor | None = None, proj: Tensor | None = None,
         p_i: Tensor | None = None, p_f: Tensor | None = None, p_o: Tensor | None = None,
         f_act: Callable[..., Any] = te.sigmoid, g_act: Callable[..., Any] = te.tanh,
         h_act: Callable[..., Any] = te.tanh, reverse: bool = False,
         weight_layout: str = "IFGO") -> tuple[Tensor, Tensor]:
    """An LSTM over Xs (seq_len, batch, in_dim) with Wi (4 * hidden, in_dim), Wh (4 * hidden, out_dim)
    and biases Bi, Bh (4 * hidden,), the four gates packed in ``weight_layout`` order (a permutation of
    "IFGO": input, forget, cell, output); out_dim is proj's first dimension with a projection proj
    (out_dim, hidden), else hidden.  Each step: gates = x Wi^T + Bi + h Wh^T + Bh; i = f_act(I + p_i * c),
    f = f_act(F + p_f * c), g = g_act(G), c' = f * c + i * g, o = f_act(O + p_o * c'), h' = o * h_act(c')
    (then h' proj^T); peepholes p_i, p_f, p_o are (batch, hidden) and p_i, p_f come together.  h_init
    (batch, out_dim) and c_init (batch, hidden) default to 0.  ``reverse`` reads Xs from the last step.
    Activations map an expression to an expression (``tir.sigmoid``, as TVM's) or a tensor to a tensor
    (``topi.sigmoid``).  Returns (hidden states (seq_len, batch, out_dim), cell states (seq_len, batch,
    hidden)), in the order the steps ran."""
    check_tensors("lstm", Xs=Xs, Wi=Wi, Wh=Wh)
    if not (isinstance(weight_layout, str) and sorted(weight_layout) == sorted("IFGO")):
        raise ExprError(f"lstm: weight_layout {weight_layout!r} is not a permutation of 'IFGO'")
    gate = {g: weight_layout.index(g) for g in "IFGO"}
    xs = get_const_tuple(Xs.shape)
    _check(len(xs) == 3, f"lstm: Xs {Xs.name} must be (seq_len, batch, in_dim), got shape {xs}")
    seq_len, batch, in_dim = xs
    wi = get_const_tuple(Wi.shape)
    _check(len(wi) == 2 and wi[0] % 4 == 0 and wi[1] == in_dim,
           f"lstm: Wi {Wi.name} must be (4 * hidden, {in_dim}), got shape {wi}")
    hidden = wi[0] // 4
    out_dim = hidden
    if proj is not None:
        ps = get_const_tuple(proj.shape)
        _check(len(ps) == 2 and ps[1] == hidden, f"lstm: proj {proj.name} must be (proj_dim, {hidden}), got {ps}")
        out_dim = ps[0]
    _check((p_i is None) == (p_f is None), "lstm: the peepholes p_i and p_f must be given together")
    expected = {"Wh": (Wh, (4 * hidden, out_dim)), "Bi": (Bi, (4 * hidden,)), "Bh": (Bh, (4 * hidden,)),
                "h_init": (h_init, (batch, out_dim)), "c_init": (c_init, (batch, hidden)),
                "p_i": (p_i, (batch, hidden)), "p_f": (p_f, (batch, hidden)), "p_o": (p_o, (batch, hidden))}
    for arg, (t, want) in expected.items():
        if t is not None:
            got = get_const_tuple(t.shape)
            _check(got == want, f"lstm: {arg} {t.name} must have shape {want}, got {got}")
    dtype = Xs.dtype
    given = [t for t in (Wi, Wh, Bi, Bh, h_init, c_init, proj, p_i, p_f, p_o) if t is not None]
    if not dtype.is_float or any(t.dtype != dtype for t in given):
        raise DTypeError(f"lstm: Xs and every weight and state must be floats of one dtype, got "
                         f"{', '.join(f'{t.name}: {t.dtype}' for t in [Xs, *given])}")
    zero = te.const(0.0, dtype)
    steps = seq_len + 1  # row 0 of the scan holds the initial state

    # The input contribution has no recurrence: one matmul before the scan.
    ki = te.reduce_axis((0, in_dim), name="ki")
    x_gates = te.compute((seq_len, batch, 4 * hidden), lambda t, b, g: te.sum(Xs[t, b, ki] * Wi[g, ki], axis=ki),
                         name="Xi2h")
    if Bi is not None:
        x_in = x_gates
        x_gates = te.compute(x_in.shape, lambda t, b, g: x_in[t, b, g] + Bi[g], name="Xi2h_bias", tag=tag.INJECTIVE)

    h_state = te.placeholder((steps, batch, out_dim), dtype, name="h_state")
    c_state = te.placeholder((steps, batch, hidden), dtype, name="c_state")
    h0 = te.compute((1, batch, out_dim), lambda _, b, j: zero if h_init is None else h_init[b, j], name="h_init")
    c0 = te.compute((1, batch, hidden), lambda _, b, j: zero if c_init is None else c_init[b, j], name="c_init")

    kh = te.reduce_axis((0, out_dim), name="kh")
    h_gates = te.compute((steps, batch, 4 * hidden),
                         lambda t, b, g: te.sum(h_state[t - 1, b, kh] * Wh[g, kh], axis=kh), name="s_h2h")
    if Bh is not None:
        h_in = h_gates
        h_gates = te.compute(h_in.shape, lambda t, b, g: h_in[t, b, g] + Bh[g], name="s_h2h_bias", tag=tag.INJECTIVE)

    def x_row(t: Any) -> Any:
        return seq_len - t if reverse else t - 1  # scan step t (from 1) consumes this row of Xs

    gate_shape = (steps, batch, hidden)

    def pre_activation(g: str, peephole: Tensor | None = None, cell: Any = None) -> Tensor:
        def body(t: Any, b: Any, j: Any) -> PrimExpr:
            k = gate[g] * hidden + j
            value = x_gates[x_row(t), b, k] + h_gates[t, b, k]
            return value if peephole is None else value + peephole[b, j] * cell(t, b, j)
        return te.compute(gate_shape, body, name=f"{g.lower()}_gate_in", tag=tag.INJECTIVE)

    def c_prev(t: Any, b: Any, j: Any) -> Any:
        return c_state[t - 1, b, j]

    i_gate = _activate(f_act, "f_act", pre_activation("I", p_i, c_prev), "i_gate")
    f_gate = _activate(f_act, "f_act", pre_activation("F", p_f, c_prev), "f_gate")
    g_gate = _activate(g_act, "g_act", pre_activation("G"), "g_gate")
    next_c = te.compute(gate_shape, lambda t, b, j: f_gate[t, b, j] * c_state[t - 1, b, j]
                        + i_gate[t, b, j] * g_gate[t, b, j], name="next_c")
    o_gate = _activate(f_act, "f_act", pre_activation("O", p_o, lambda t, b, j: next_c[t, b, j]), "o_gate")
    c_act = _activate(h_act, "h_act", next_c, "c_act")
    next_h = te.compute(gate_shape, lambda t, b, j: o_gate[t, b, j] * c_act[t, b, j], name="next_h")
    if proj is not None:
        kr = te.reduce_axis((0, hidden), name="kr")
        unprojected = next_h
        next_h = te.compute((steps, batch, out_dim),
                            lambda t, b, j: te.sum(unprojected[t, b, kr] * proj[j, kr], axis=kr), name="next_h_proj")
    scan_h, scan_c = te.scan([h0, c0], [next_h, next_c], [h_state, c_state], name="lstm_scan")
    # Row 0 of each scan output is the initial state, which the result leaves out.
    hidden_states = te.compute((seq_len, batch, out_dim), lambda t, b, j: scan_h[t + 1, b, j], name="hidden_states")
    cell_states = te.compute((seq_len, batch, hidden), lambda t, b, j: scan_c[t + 1, b, j], name="cell_states")
    return hidden_states, cell_states
