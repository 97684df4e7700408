"""``python -m tocsin``: the same as the ``tocsin`` command."""

from ._cli import main

raise SystemExit(main())
