"""The ``minemap`` command line.

Exit codes: 0 success; 1 the input was rejected or an operation failed (clear message,
no traceback); 2 usage error. Each concern registers its commands from its own module.
"""

from __future__ import annotations

from minemap.cli import backtest as _backtest  # noqa: F401  (registers `minemap backtest`)
from minemap.cli import data  # noqa: F401  (registers ingest, layers, export, batches)
from minemap.cli import demo as _demo  # noqa: F401  (registers `minemap demo`)
from minemap.cli import prioritise as _prioritise  # noqa: F401  (registers `minemap prioritise`)
from minemap.cli import report as _report  # noqa: F401  (registers `minemap report`)
from minemap.cli import serve as _serve  # noqa: F401  (registers `minemap serve`)
from minemap.cli import store as _store  # noqa: F401  (registers `minemap store copy`)
from minemap.cli import users as _users  # noqa: F401  (registers `minemap users`, `minemap audit`)
from minemap.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``minemap`` console script."""
    app()
