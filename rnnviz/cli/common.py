"""Pieces shared by the headless subcommands: the progress bar and output-path checks."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rnnviz.errors import RnnvizError


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str = "computing") -> None:
        self.last = 0.0
        self.label = label

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {100 * done // max(total, 1):3d}%")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def add_progress_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: when stderr is a terminal)")


def wants_progress(args: argparse.Namespace) -> bool:
    return args.progress if args.progress is not None else sys.stderr.isatty()


def check_file_target(path: str, flag: str) -> None:
    """Fail before any work if ``path`` cannot become a file written by ``flag``."""
    from rnnviz.export import check_out_dir

    target = Path(path)
    if target.is_dir():
        raise RnnvizError(f"{path}: is a directory; {flag} needs a file name")
    if target.exists() and not target.is_file():
        raise RnnvizError(f"{path}: exists and is not a regular file; {flag} needs a file name")
    check_out_dir(target.parent)
