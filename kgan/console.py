"""How the `kgan` command reports failures: one line each, and TensorFlow kept quiet.

A user error (a bad argument, a missing or damaged file) or a problem of the environment (a
read-only folder, no network, not enough memory) ends a command with one line on stderr and a
non-zero exit status, never a traceback; `--verbose` adds the traceback and TensorFlow's log.

This module imports nothing heavy: the command (`kgan.cli`) uses `quiet_native_stderr` before
TensorFlow is first imported.
"""

import contextlib
import logging
import os
import sys
import tempfile
import traceback

from kgan._validation import short

# Exit statuses: as argparse for a user or environment error; 1 for a run that failed (a
# diverged training, an export that does not match Keras, an unexpected error); as a shell for
# Ctrl-C.
USAGE_ERROR = 2
FAILED = 1
INTERRUPTED = 130
# Long enough for kgan's longest messages (the offline instructions), still one line.
_MESSAGE_LIMIT = 2000


@contextlib.contextmanager
def quiet_native_stderr():
    """Captures what is written to the process's stderr during the block.

    TensorFlow's C++ library logs its start-up (oneDNN, CUDA probing) through its own logger
    before `TF_CPP_MIN_LOG_LEVEL` takes effect, so the only way to keep it off a command line is
    to redirect the file descriptor while TensorFlow is imported. If the block raises, the
    captured text is written back, so an import error keeps its context.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # No real stderr (embedded interpreters).
        saved = None
    if saved is None:
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                capture.seek(0)
                os.write(2, capture.read())


def quiet_python_logs():
    """Keeps the Python loggers of TensorFlow and tensorflow-datasets (absl) to errors."""
    for name in ("absl", "tensorflow"):
        logging.getLogger(name).setLevel(logging.ERROR)


def describe(error):
    """One line saying what went wrong.

    kgan's own errors carry a full message. An `OSError` from the system carries a reason and a
    path ("Read-only file system", "/models/1"), given in Keras' "Received:" form. Other errors
    are named by their type.
    """
    if isinstance(error, OSError) and error.strerror:
        paths = [p for p in (error.filename, error.filename2) if p is not None]
        received = ", ".join(
            f"{name}={os.fspath(p)!r}" for name, p in zip(("path", "destination"), paths)
        )
        text = error.strerror.rstrip(".") + (f". Received: {received}" if received else "")
    elif isinstance(error, MemoryError):
        text = f"Not enough memory ({short(error) or 'no details'})"
    elif isinstance(error, (ValueError, OSError)):
        text = str(error) or type(error).__name__
    else:
        text = f"{type(error).__name__}: {error}"
    return short(text, _MESSAGE_LIMIT)


def report(command, error, *, verbose, status=None, prefix="error: "):
    """Prints `error` as one line (and, with `verbose`, its traceback first); returns the exit
    status: `status` if given, else by the kind of error."""
    if verbose:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    if isinstance(error, KeyboardInterrupt):
        print(f"kgan {command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    expected = isinstance(error, (ValueError, OSError, MemoryError))
    hint = "" if expected or verbose else " (run again with --verbose for the traceback)"
    print(f"kgan {command}: {prefix}{describe(error)}{hint}", file=sys.stderr)
    if status is not None:
        return status
    return USAGE_ERROR if expected else FAILED


def progress_verbosity(stream=None):
    """The `verbose` a command gives kgan's long computations: a progress bar (1) on a
    terminal, one line per stage (2) when the output goes to a file or a pipe."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return 1 if isatty is not None and isatty() else 2
