"""numpy reference for ``topi.nn.lstm`` (TVM's ``lstm_python``)."""

from __future__ import annotations

import numpy as np

_ACTS = {"sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh}


def lstm_python(Xs: np.ndarray, Wi: np.ndarray, Wh: np.ndarray, Bi: np.ndarray | None = None,  # noqa: N803
                Bh: np.ndarray | None = None, h_init: np.ndarray | None = None, c_init: np.ndarray | None = None,
                proj: np.ndarray | None = None, p_i: np.ndarray | None = None, p_f: np.ndarray | None = None,
                p_o: np.ndarray | None = None, f_act: str = "sigmoid", g_act: str = "tanh", h_act: str = "tanh",
                reverse: bool = False, weight_layout: str = "IFGO") -> tuple[np.ndarray, np.ndarray]:
    """(hidden states, cell states), each stacked over the steps, of an LSTM over ``Xs`` (seq, batch, in).
    ``Wi`` (4 * hidden, in) and ``Wh`` (4 * hidden, out) pack the gates in ``weight_layout`` order;
    ``proj`` (out, hidden) projects each hidden state; ``p_i``/``p_f``/``p_o`` are peephole weights."""
    acts = {}
    for name, act in (("f_act", f_act), ("g_act", g_act), ("h_act", h_act)):
        if act not in _ACTS:
            raise ValueError(f"lstm_python: {name} '{act}' is not one of {sorted(_ACTS)}")
        acts[name] = _ACTS[act]
    steps, batch, _ = Xs.shape
    hidden = Wi.shape[0] // 4
    gate = {g: slice(weight_layout.index(g) * hidden, (weight_layout.index(g) + 1) * hidden) for g in "IFGO"}
    h = h_init if h_init is not None else np.zeros((batch, Wh.shape[1]), Xs.dtype)
    c = c_init if c_init is not None else np.zeros((batch, hidden), Xs.dtype)
    hs, cs = [], []
    for t in range(steps):
        s = Xs[steps - 1 - t if reverse else t] @ Wi.T + h @ Wh.T
        s = s + Bi if Bi is not None else s
        s = s + Bh if Bh is not None else s
        # TVM's peepholes on the input and forget gates come as a pair
        peep = p_i is not None and p_f is not None
        i = acts["f_act"](s[:, gate["I"]] + (p_i * c if peep else 0))
        f = acts["f_act"](s[:, gate["F"]] + (p_f * c if peep else 0))
        c = f * c + i * acts["g_act"](s[:, gate["G"]])
        o = acts["f_act"](s[:, gate["O"]] + (p_o * c if p_o is not None else 0))
        h = o * acts["h_act"](c)
        if proj is not None:
            h = h @ proj.T
        hs.append(h)
        cs.append(c)
    return np.stack(hs), np.stack(cs)
