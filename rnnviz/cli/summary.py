"""``rnnviz summary MODEL``: the Keras-style summary table (or its JSON)."""

from __future__ import annotations

import argparse
import json

NAME = "summary"


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("summary", help="print the Keras-style model summary",
                       description="Print the model summary exactly as Keras does.")
    s.add_argument("model", help="a spec (.toml, .json) or trained weights (.keras, .pt, .pth)")
    s.add_argument("--json", action="store_true", help="print machine-readable JSON instead of the table")


def execute(args: argparse.Namespace) -> None:
    from rnnviz.headless import summary

    result = summary(args.model)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result)
