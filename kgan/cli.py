"""The `kgan` command line: parses arguments and calls the library.

Each sub-command is added by one `_add_<name>_command(subparsers)` function below and runs a
`_run_<name>(args)` function that only translates arguments into library calls.
"""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(
        prog="kgan",
        description="Train, evaluate and export generative adversarial networks with Keras.",
    )
    parser.add_argument("--version", action="store_true", help="print kgan's version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_command in _COMMANDS:
        add_command(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        import kgan

        print(kgan.__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"kgan {args.command}: error: {error}", file=sys.stderr)
        return 2


# Sub-commands, in the order `kgan --help` lists them. Each module's command is added here.
_COMMANDS = []


if __name__ == "__main__":
    sys.exit(main())
