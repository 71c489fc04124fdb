"""Command line: ``rnnviz [FILE]`` opens the app; ``rnnviz summary`` and ``rnnviz run`` stay headless.

A user's mistake is one line on stderr and exit status 2, never a traceback (set ``RNNVIZ_DEBUG=1``
to see one for a bug).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Sequence

from rnnviz.errors import RnnvizError, printable

MAX_MESSAGE_CHARS = 1000  # an error message quotes the user's files; one line of them is enough


def _command(name: str):
    import importlib

    return importlib.import_module(f"rnnviz.cli.{name}")


def _headless_parser() -> argparse.ArgumentParser:
    from rnnviz.cli import COMMANDS

    parser = argparse.ArgumentParser(
        prog="rnnviz", description="Compute, analyse and export the states of recurrent stacks, headless.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    for name in COMMANDS:
        _command(name).add_parser(sub)
    return parser


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnviz",
        description="Visualise the hidden states of recurrent networks. With no command, open the desktop app.",
        epilog="headless commands: 'rnnviz summary MODEL' and 'rnnviz run MODEL --out DIR' (see --help of each)")
    parser.add_argument("file", nargs="?", help="a spec (.toml/.json), weights (.keras/.pt/.pth) or input (.csv/.npy)")
    parser.add_argument("--input", metavar="FILE", help="an input sequence (.csv/.npy) to feed the model")
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="render the window offscreen once the run has finished, save it as PNG and exit")
    parser.add_argument("--view", metavar="NAME", help="with --screenshot: the view in front (default: heatmaps)")
    parser.add_argument("--screenshot-timeout", metavar="SECONDS", type=float, default=None,
                        help="with --screenshot: give up after this long (default: 300)")
    parser.add_argument("--version", action="version", version=f"rnnviz {_version()}")
    return parser


def _version() -> str:
    from rnnviz import __version__

    return __version__


def _gui(args: argparse.Namespace) -> int:
    from rnnviz.ui.launch import SCREENSHOT_TIMEOUT_S, launch, view_names

    if args.screenshot is None:
        if args.view is not None or args.screenshot_timeout is not None:
            raise RnnvizError(f"{'--view' if args.view is not None else '--screenshot-timeout'} needs --screenshot")
        return launch(args.file, args.input)
    from rnnviz.cli.common import check_file_target

    if not args.screenshot.lower().endswith(".png"):
        raise RnnvizError(f"{args.screenshot}: --screenshot writes PNG; give a file name ending in .png")
    check_file_target(args.screenshot, "--screenshot")
    names = view_names()
    view = args.view or names[0]
    if view not in names:
        raise RnnvizError(f"--view: unknown view {printable(view)!r}; choose one of {', '.join(names)}")
    timeout = SCREENSHOT_TIMEOUT_S if args.screenshot_timeout is None else args.screenshot_timeout
    if not 0 < timeout <= 86400:
        raise RnnvizError("--screenshot-timeout: must be seconds, more than 0 and at most 86400, "
                          f"got {args.screenshot_timeout:g}")
    return launch(args.file, args.input, args.screenshot, view, timeout)


class _Terminated(BaseException):
    """SIGTERM (``timeout``, ``kill``), raised in the main thread so that unfinished files are removed."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def _headless(args: argparse.Namespace) -> None:
    """Run ``summary`` or ``run``; a SIGTERM meanwhile unwinds like Ctrl+C, removing unfinished files."""
    command = _command(args.command).execute
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        command(args)
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        command(args)
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def one_line(message: str) -> str:
    """The message on one line, cut to ``MAX_MESSAGE_CHARS``: it may quote names read from a hostile file."""
    return printable(" ".join(str(message).split("\n")), MAX_MESSAGE_CHARS)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        from rnnviz.cli import COMMANDS

        if argv and argv[0] in COMMANDS:
            _headless(_headless_parser().parse_args(argv))
            return 0
        return _gui(_gui_parser().parse_args(argv))
    except RnnvizError as exc:
        print(f"rnnviz: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Terminated) as exc:
        print("\nrnnviz: interrupted; no partial files were left", file=sys.stderr)
        return 143 if isinstance(exc, _Terminated) else 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - last resort: a bug must still not greet the user with a traceback
        if os.environ.get("RNNVIZ_DEBUG"):
            raise
        print(f"rnnviz: internal error: {type(exc).__name__}: {one_line(str(exc))} (set RNNVIZ_DEBUG=1 for details; "
              "please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
