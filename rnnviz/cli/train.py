"""``rnnviz train TASK``: train a small network on a toy task with known dynamics and write it for ``run``.

Every flag is read as text and checked by :func:`rnnviz.tasks.training.check_request`, so that a bad
value is rnnviz's one-line error, not argparse's usage block.
"""

from __future__ import annotations

import argparse

from rnnviz.cli.common import add_progress_flag, wants_progress
from rnnviz.errors import RnnvizError

NAME = "train"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from rnnviz.tasks import LAYER_TYPES, TASK_NAMES

    t = sub.add_parser("train", help="train a network on a toy task (flip-flop, delay, sine)",
                       description="Train one recurrent layer and a linear readout on a built-in task; write "
                                   "DIR/model.pt (a torch state_dict), DIR/input.npy and DIR/target.npy (a "
                                   "held-out test sequence) and DIR/train.csv (loss per step).")
    t.add_argument("task", nargs="?", help=f"{' | '.join(TASK_NAMES)}")
    t.add_argument("--type", dest="layer_type", metavar="T", help=f"{' | '.join(LAYER_TYPES)}")
    t.add_argument("--units", metavar="N", help="units of the recurrent layer")
    t.add_argument("--seed", metavar="S", default="0", help="seed of the initialisation and data (default: 0)")
    t.add_argument("--steps", metavar="N", help="training steps (default: the task's, e.g. 2000 for flipflop)")
    t.add_argument("--delay", metavar="D", help="delay task only: steps between input and recall (default: 5)")
    t.add_argument("--out", metavar="DIR", help="write the model, test sequence and loss curve here")
    add_progress_flag(t)


def _whole(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip(), 10)
    except ValueError:
        raise RnnvizError(f"{flag}: expected a whole number, got {value[:40]!r}") from None


def execute(args: argparse.Namespace) -> None:
    from pathlib import Path

    from rnnviz.export import check_out_dir
    from rnnviz.tasks import train
    from rnnviz.tasks.training import check_request

    for value, flag in ((args.task, "TASK"), (args.layer_type, "--type"), (args.units, "--units"),
                        (args.out, "--out")):
        if value is None:
            raise RnnvizError(f"train: {flag} is required (rnnviz train TASK --type T --units N --out DIR)")
    request = dict(units=_whole(args.units, "--units"), seed=_whole(args.seed, "--seed"),
                   steps=_whole(args.steps, "--steps"), delay=_whole(args.delay, "--delay"))
    task = check_request(args.task, args.layer_type, **request)
    check_out_dir(Path(args.out))  # fail before training, not after
    bar = _bar(args.task, request["steps"] or task.default_steps) if wants_progress(args) else None
    try:
        result = train(args.task, args.layer_type, request["units"], seed=request["seed"], steps=request["steps"],
                       delay=request["delay"], progress=None if bar is None else _advance(bar))
    finally:
        if bar is not None:
            bar.close()
    written = result.write(args.out)
    print(f"trained {args.task} {args.layer_type}({result.units}), seed {result.seed}: {len(result.losses)} steps in "
          f"{result.seconds:.1f} s; final training loss {result.losses[-1]:.6f}")
    print(f"wrote {len(written)} files to {args.out}: {', '.join(p.name for p in written)}")
    print(f"test error (mean squared error on input.npy, {len(result.inputs)} steps): {result.test_error:.6f}")


def _bar(task: str, total: int):
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc=f"training {task}", unit="step", file=sys.stderr, mininterval=0.1,
                dynamic_ncols=True)


def _advance(bar):
    def update(step: int, total: int, loss: float) -> None:
        bar.update(step - bar.n)
        bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

    return update
