"""``python -m dashboard``: the command line (see ``dashboard.cli`` and docs/cli.md)."""

from __future__ import annotations

import sys

from dashboard.cli import main

if __name__ == "__main__":
    sys.exit(main())
