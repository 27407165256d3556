"""The `kgan` command line: parses arguments and calls the library.

Each sub-command is added by one `add_<name>_command(subparsers)` function in this package
(`train.py`, `export.py`, `evaluate.py`, `control.py`) and runs a `run_<name>(args)` function
that only translates arguments into library calls. Errors are reported here, in one line.
"""

import argparse
import contextlib
import os
import sys

from kgan import console
from kgan.cli.control import add_edit_command, add_interpolate_command, add_sample_command
from kgan.cli.evaluate import add_evaluate_command
from kgan.cli.export import add_export_command
from kgan.cli.train import add_train_classifier_command, add_train_command


def build_parser():
    parser = argparse.ArgumentParser(
        prog="kgan",
        description="Train, evaluate and export generative adversarial networks with Keras.",
    )
    parser.add_argument("--version", action="store_true", help="print kgan's version and exit")
    parser.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_command in _COMMANDS:
        add_command(subparsers)
    for command_parser in subparsers.choices.values():
        # Also after the command (`kgan export RUN --verbose`); a command may define its own.
        with contextlib.suppress(argparse.ArgumentError):
            command_parser.add_argument(
                "--verbose", action="store_true", default=argparse.SUPPRESS, help=_VERBOSE_HELP
            )
    return parser


_VERBOSE_HELP = "on failure, show the traceback; show TensorFlow's log"


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    if not verbose:
        # TensorFlow's C++ start-up chatter (CUDA probing, CPU features, graph-rewrite notes)
        # and its Python warnings are noise on a command line; errors are reported below.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        console.quiet_python_logs()
    if args.version:
        from kgan.version import __version__

        print(__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 2
    _import_library(verbose)
    from kgan.models import TrainingDivergedError

    try:
        return args.run(args) or 0
    except TrainingDivergedError as error:
        return console.report(args.command, error, verbose=verbose, status=1, prefix="")
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - reported in one line.
        return console.report(args.command, error, verbose=verbose)


def _import_library(verbose):
    """Imports kgan's sub-packages, and with them TensorFlow, once a command is known to run.

    TensorFlow's C++ library logs its start-up (oneDNN, CUDA probing) before
    `TF_CPP_MIN_LOG_LEVEL` takes effect, so without `--verbose` the import's stderr is captured
    (and shown if the import fails).
    """
    import kgan

    if verbose:
        kgan._import_all()
        return
    with console.quiet_native_stderr():
        kgan._import_all()


_COMMANDS = [
    add_train_command,
    add_export_command,
    add_evaluate_command,
    add_train_classifier_command,
    add_sample_command,
    add_interpolate_command,
    add_edit_command,
]


if __name__ == "__main__":
    sys.exit(main())
