"""Command line: ``rnnviz [FILE]`` opens the app; ``rnnviz summary`` and ``rnnviz run`` stay headless.

A user's mistake is one line on stderr and exit status 2, never a traceback (set ``RNNVIZ_DEBUG=1``
to see one for a bug).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import Sequence

from rnnviz.errors import RnnvizError, printable

HEADLESS = ("run", "summary")
MAX_MESSAGE_CHARS = 1000  # an error message quotes the user's files; one line of them is enough


def _headless_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnviz", description="Compute and export every hidden state of a SimpleRNN/GRU stack, headless.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{summary,run}")
    s = sub.add_parser("summary", help="print the Keras-style model summary",
                       description="Print the model summary exactly as Keras does.")
    s.add_argument("model", help="a spec (.toml, .json) or trained weights (.keras, .pt, .pth)")
    s.add_argument("--json", action="store_true", help="print machine-readable JSON instead of the table")
    r = sub.add_parser("run", help="compute every hidden state and export it",
                       description="Compute every hidden state; with --out, export them.")
    r.add_argument("model", help="a spec (.toml, .json) or trained weights (.keras, .pt, .pth)")
    r.add_argument("--input", metavar="FILE", help="input sequence, .csv or .npy of shape (timesteps, features)")
    r.add_argument("--weights", metavar="FILE", help="trained weights (.keras, .pt, .pth) for the spec's stack")
    r.add_argument("--out", metavar="DIR", help="write the states into this directory")
    r.add_argument("--format", choices=("csv", "npz"), default="csv", help="export format (default: csv)")
    r.add_argument("--tidy", action="store_true", help="also write the long hidden_states.csv")
    r.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    r.add_argument("--save-weights", metavar="FILE", help="write the weights used, as a torch state_dict")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    return parser


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnviz",
        description="Visualise the hidden states of recurrent networks. With no command, open the desktop app.",
        epilog="headless commands: 'rnnviz summary MODEL' and 'rnnviz run MODEL --out DIR' (see --help of each)")
    parser.add_argument("file", nargs="?", help="a spec (.toml/.json), weights (.keras/.pt/.pth) or input (.csv/.npy)")
    parser.add_argument("--version", action="version", version=f"rnnviz {_version()}")
    return parser


def _version() -> str:
    from rnnviz import __version__

    return __version__


class _Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\rcomputing [{'#' * filled}{'.' * (width - filled)}] {100 * done // max(total, 1):3d}%")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _summary(args: argparse.Namespace) -> None:
    from rnnviz.headless import summary

    result = summary(args.model)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result)


def _run(args: argparse.Namespace) -> None:
    from pathlib import Path

    from rnnviz.export import check_out_dir
    from rnnviz.headless import prepare, stepper

    if args.out:  # fail before computing, not after
        check_out_dir(Path(args.out))
    if args.save_weights:
        if Path(args.save_weights).is_dir():
            raise RnnvizError(f"{args.save_weights}: is a directory; --save-weights needs a file name")
        if Path(args.save_weights).exists() and not Path(args.save_weights).is_file():
            raise RnnvizError(f"{args.save_weights}: exists and is not a regular file; --save-weights needs a file "
                              "name")
        check_out_dir(Path(args.save_weights).parent)
    model, inputs = prepare(args.model, inputs=args.input, weights=args.weights)
    steps = stepper(model, inputs, args.device)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    progress = _Progress() if show else None
    for block in steps:
        if progress is not None:
            progress(block.done, block.total)
    trace = steps.trace
    written = []
    if args.out:
        written = trace.to_npz(args.out) if args.format == "npz" else trace.to_csv(args.out, tidy=args.tidy)
    if args.save_weights:
        from rnnviz.weights.torch_file import save_state_dict

        written.append(save_state_dict(model.spec, model.weights, args.save_weights))
    print(trace.summary())
    print(f"device: {trace.device}; {trace.timesteps} timesteps")
    for layer, direction, fraction, gain in trace.saturation():
        print(f"layer {layer} {direction:8s} saturated (|h| >= 0.95): {fraction.mean():6.1%}   "
              f"mean tanh gain 1-h²: {gain.mean():.4f}")
    if written:
        print(f"wrote {len(written)} files to {args.out or os.path.dirname(args.save_weights) or '.'}")


def _gui(args: argparse.Namespace) -> int:
    from rnnviz.ui.launch import launch

    return launch(args.file)


class _Terminated(BaseException):
    """SIGTERM (``timeout``, ``kill``), raised in the main thread so that unfinished files are removed."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def _headless(args: argparse.Namespace) -> None:
    """Run ``summary`` or ``run``; a SIGTERM meanwhile unwinds like Ctrl+C, removing unfinished files."""
    command = {"summary": _summary, "run": _run}[args.command]
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
        if argv and argv[0] in HEADLESS:
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
