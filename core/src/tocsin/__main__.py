"""``python -m tocsin``: the same as the ``tocsin`` command."""

from .cli import main

raise SystemExit(main())
