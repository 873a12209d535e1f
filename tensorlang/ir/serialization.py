"""TVM's ``ir.save_json`` / ``ir.load_json``: a schedule, expression or statement as a JSON
string and back.

The JSON holds a pickle of the object (base64), not TVM's node graph: it round-trips within
tensorlang, and, like any pickle, must only be loaded from a trusted source.
"""

from __future__ import annotations

import base64
import json
import pickle
from typing import Any

from ..errors import TensorLangError

_KEY = "tensorlang_pickle"


def save_json(node: Any) -> str:
    """The JSON text of ``node`` (see the module docstring)."""
    return json.dumps({_KEY: base64.b64encode(pickle.dumps(node)).decode("ascii")})


def load_json(text: str) -> Any:
    """The object ``save_json`` wrote (from a trusted source only: it is unpickled)."""
    try:
        payload = json.loads(text)[_KEY]
    except (ValueError, TypeError, KeyError) as exc:
        raise TensorLangError(f"load_json: not text written by tensorlang's save_json ({exc})") from None
    return pickle.loads(base64.b64decode(payload))  # noqa: S301 - documented: trusted input only
