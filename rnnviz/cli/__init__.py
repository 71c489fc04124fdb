"""Headless subcommands, one module each (``summary``, ``run``, ...).

Each module defines ``NAME`` (the subcommand), ``add_parser(subparsers)`` and ``execute(args)``; importing
one must stay cheap (no torch at import time), since ``rnnviz --help`` builds every parser.
"""

COMMANDS = ("summary", "run", "analyze", "sweep", "train")
