"""The ``tocsin`` command line.

Built-in commands (``emit``, ``sinks``, ``test``, ``config``, ``new-sink``) live here; distributions add
their own through the ``tocsin.commands`` entry-point group: each entry point names a callable
``register(subparsers)`` that adds its argparse subparser(s) and sets
``parser.set_defaults(func=...)``, where ``func(args) -> int`` returns the exit status.
``args.config`` (a path or None) and ``args.quiet`` are set for every command; it writes its
output to ``args.out`` and its messages to ``args.err`` (stdout and stderr, or what a test passes). A command
plugin that fails to import or to register is reported on stderr; every other command still
works. The state sink contributes ``tocsin last`` this way.

Imported only by the ``tocsin`` script: ``import tocsin`` never pays for argparse.
"""

from __future__ import annotations

from ._main import command_config, main

__all__ = ["command_config", "main"]
