"""The `kgan` command line: parses arguments and calls the library.

Each sub-command is added by one `add_<name>_command(subparsers)` function in this package
(`train.py`, `export.py`, `evaluate.py`, `control.py`) and runs a `run_<name>(args)` function
that only translates arguments into library calls; a command may also set a
`check_<name>(args)` function, run before TensorFlow is imported, that refuses bad options and
output paths at once (`kgan.cli.options`). Errors are reported here, in one line, also those of
the argument parser.
"""

import argparse
import contextlib
import os
import re
import sys

from kgan import console
from kgan.cli.control import add_edit_command, add_interpolate_command, add_sample_command
from kgan.cli.evaluate import add_evaluate_command
from kgan.cli.export import add_export_command
from kgan.cli.train import add_train_classifier_command, add_train_command


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` (of `kgan` and of each command) whose errors are one line, as the
    commands' own are: `kgan train: error: argument --epochs: invalid int value: '2.5'`,
    with a pointer to `--help` instead of the usage block."""

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        # The long options, to tell which one an abbreviation typed stands for.
        self.long_options = [
            *getattr(self, "long_options", []),
            *(name for name in action.option_strings if name.startswith("--")),
        ]
        return action

    def parse_known_args(self, args=None, namespace=None):
        # The arguments this parser reads (a command's parser gets those after its name),
        # kept to show what an option with too few values received.
        self._arguments = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message):
        received = _received(message, getattr(self, "_arguments", []))
        self.exit(
            console.USAGE_ERROR,
            f"{self.prog}: error: {message}{received} (see {self.prog} --help)\n",
        )


def _received(message, arguments):
    """`. Received: --image-size 32` for "argument --image-size: expected 2 arguments"."""
    match = re.match(r"argument (\S+): expected ", message)
    if match is None:
        return ""
    names = match.group(1).split("/")
    for index, argument in enumerate(arguments):
        if argument in names:
            values = []
            for value in arguments[index + 1 :]:
                if value.startswith("-") and not _is_number(value):
                    break
                values.append(value)
            return ". Received: " + " ".join([argument, *values])
    return ""


def _typed_options(argv, long_options):
    """The long options in `argv`, each by its full name (`--ep` is `--epochs`, as argparse
    reads an unambiguous abbreviation)."""
    typed, long_options = set(), set(long_options)
    for word in argv:
        if not word.startswith("--"):
            continue
        name = word.split("=", 1)[0]
        matches = [option for option in long_options if option.startswith(name)]
        typed.add(name if name in long_options or len(matches) != 1 else matches[0])
    return typed


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def build_parser():
    parser = _Parser(
        prog="kgan",
        description="Train, evaluate and export generative adversarial networks with Keras.",
    )
    parser.add_argument("--version", action="store_true", help="print kgan's version and exit")
    parser.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_command in _COMMANDS:
        add_command(subparsers)
    parser.commands = subparsers.choices
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
    argv = list(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(argv)
    # The words before the command are `kgan`'s, the others the command's.
    at = argv.index(args.command) if args.command in argv else len(argv)
    command_parser = parser.commands.get(args.command, parser)
    if unknown:
        # The parser that read the word says it, pointing at its own help.
        blamed = parser if any(word in argv[:at] for word in unknown) else command_parser
        blamed.error(f"unrecognized arguments: {' '.join(unknown)}")
    # The options typed, for errors that name them (`kgan.cli.options.options_in_errors`).
    args.typed_options = _typed_options(argv[:at], parser.long_options) | _typed_options(
        argv[at:], command_parser.long_options
    )
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
    check = getattr(args, "check", None)
    if check is not None:
        try:
            check(args)
        except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - reported in one line.
            return console.report(args.command, error, verbose=verbose)
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
