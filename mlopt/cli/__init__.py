"""Command-line interface: ``mlopt <command> [options]``.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``,
which registers an ``argparse`` parser whose ``func`` attribute runs it.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

#: sub-command modules, in the order ``--help`` lists them
_COMMAND_MODULES = ("demo", "formulate", "compare", "mlp")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlopt",
        description="Machine learning as mathematical optimization: fit models as conic "
        "programs, compare solvers, certify solutions.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"mlopt.cli.{name}")
        except ModuleNotFoundError as exc:  # a command not written yet
            if exc.name == f"mlopt.cli.{name}":
                continue
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
