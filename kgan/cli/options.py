"""What every `kgan` command does with its options around the library call.

Before anything is loaded or computed, `check_output` checks each path a command will write
and `check_classifier` each classifier file it will read, so that a bad destination costs no
time and leaves no files behind. When the library refuses a value, `options_in_errors` names
the option the user typed instead of the library's argument (`--data=mnistt`, not
`name='mnistt'`). `check_generator` tells a Keras model that is not a generator (a classifier
passed as MODEL) from a generator.

`check_values` checks numbers and counts, and `parse_labels`, `parse_seeds` and
`parse_class_pair` read the class and seed lists (`split_list` splits a comma-separated one),
so that the commands refuse a bad value before the model loads.

This module imports nothing heavy: the commands' `check_<command>` functions use it before
TensorFlow is imported.
"""

import contextlib
import csv
import errno
import math
import numbers
import os
import re

from kgan import atomic, storage

# The seeds NumPy and Keras accept (`keras.utils.set_random_seed`), and the latent vectors'
# seeds (`generate` takes any int64).
MAX_SEED = 2**32 - 1
MAX_INT64 = 2**63 - 1
# The most seeds `--seeds` may name: one image each, drawn at once.
MAX_SEEDS = 1_000_000


def _is_int(value, low, high=math.inf):
    return isinstance(value, numbers.Integral) and low <= value <= high


def _is_number(value, low=-math.inf, high=math.inf, *, open_low=False, open_high=False):
    if not (isinstance(value, numbers.Real) and math.isfinite(value)):
        return False
    above = value > low if open_low else value >= low
    below = value < high if open_high else value <= high
    return above and below


# What each kind of option value must be: a test, and the words of its error.
_KINDS = {
    "count": (lambda v: _is_int(v, 1), "a positive integer"),
    "at least 2": (lambda v: _is_int(v, 2), "an integer of at least 2"),
    "class": (lambda v: _is_int(v, 0), "a class index, 0 or more"),
    "seed": (lambda v: _is_int(v, 0, MAX_SEED), f"an integer in [0, {MAX_SEED}]"),
    "latent seed": (lambda v: _is_int(v, -MAX_INT64 - 1, MAX_INT64), "a 64-bit integer"),
    "sample seed": (lambda v: _is_int(v, 0, MAX_INT64), "a non-negative 64-bit integer"),
    "decay": (lambda v: _is_number(v, 0, 1, open_high=True), "a number in [0, 1)"),
    "share": (
        lambda v: _is_number(v, 0, 1, open_low=True, open_high=True),
        "a share strictly between 0 and 1",
    ),
    "positive": (lambda v: _is_number(v, 0, open_low=True), "a positive number"),
    "non-negative": (lambda v: _is_number(v, 0), "a finite number of 0 or more"),
    "finite": (_is_number, "a finite number"),
}


def check_values(args, kinds, *, dests=None):
    """Refuses option values the library would refuse once loaded, before anything loads.

    Args:
        args: the parsed arguments.
        kinds: a dict from options (`"--epochs"`) to kinds of value: "count", "at least 2",
            "class", "seed" (Keras' global seed), "latent seed" (`generate`'s), "sample seed"
            (a non-negative one, for the real samples too), "decay" (in [0, 1)), "share" (in
            (0, 1)), "positive", "non-negative" or "finite". An option not given (`None`)
            passes; each value of a many-valued option (`--image-size H W`) is checked.
        dests: the `args` attribute of an option whose attribute is not named after it.

    Raises:
        ValueError: naming the option and the value received.
    """
    dests = dests or {}
    for option, kind in kinds.items():
        value = getattr(args, dests.get(option, dest(option)))
        if value is None:
            continue
        test, wanted = _KINDS[kind]
        values = value if isinstance(value, (list, tuple)) else [value]
        if not all(test(item) for item in values):
            shown = " ".join(str(item) for item in values)
            each = "each value of " if len(values) > 1 else ""
            raise ValueError(f"{each}{option} must be {wanted}. Received: {option}={shown}")


def dest(option):
    """The `args` attribute of `option`, as argparse names it (`--step-size`: `step_size`)."""
    return option.lstrip("-").replace("-", "_")


def check_model_path(path, option="MODEL"):
    """Refuses a local MODEL path where nothing is, before anything loads."""
    if not storage.is_url(path) and not os.path.exists(path):
        raise FileNotFoundError(
            f"{option}: no file or folder at this path. Received: {option}={path}"
        )


def check_suffix(path, option, suffix, *, ignore_case=False):
    """Refuses an output file that would hold another format than its name says (`.onnx`
    exactly, as kgan's loaders read it; `.png` or `.PNG` with `ignore_case`)."""
    name = path.lower() if ignore_case and path is not None else path
    if path is not None and not name.endswith(suffix):
        raise ValueError(f"{option} writes a {suffix} file: name it so. Received: {option}={path}")


def typed(args, *options):
    """The options among `options` that the user typed (`args.typed_options`)."""
    return [option for option in options if option in getattr(args, "typed_options", ())]


def split_list(text, name):
    """The items of `name`, a comma-separated option, without surrounding spaces: `"cat, dog"`
    -> `["cat", "dog"]`. As in a CSV file, an item in double quotes may hold commas, and two
    double quotes in it stand for one: `'"Smith, John",cat'` -> `["Smith, John", "cat"]`
    (so a name that starts with a double quote is typed in them, its quotes doubled).

    Raises:
        ValueError: for a double quote left open, or text after a closing one.
    """
    try:
        items = next(csv.reader([str(text)], skipinitialspace=True, strict=True), None)
    except csv.Error:
        raise ValueError(
            f"`{name}` must be comma-separated items, an item holding a comma in double quotes "
            f'that close before the next comma ("Smith, John",cat). Received: {name}={text}'
        ) from None
    return [item.strip() for item in items or [""]]


def parse_labels(text, name="--labels", *, names=True):
    """The classes of a command-line option: as typed with `names` (`"cat,dog"` -> `["cat",
    "dog"]`, `"3"` -> `["3"]`), else as numbers (`"0,1,2"` -> `[0, 1, 2]`). Classes as typed
    are read by `kgan.control.labels.class_indices`, as class names or numbers, once the
    model, and its names, are loaded. A name holding a comma is typed in double quotes
    (`split_list`)."""
    if text is None:
        return None
    values = []
    for part in split_list(text, name):
        try:
            values.append(part if names and part else int(part))
        except ValueError:
            raise ValueError(
                f"`{name}` must be a class or comma-separated classes such as 3 or 0,1,2"
                + (" (numbers or names: cat,dog)" if names else "")
                + f". Received: {name}={text}"
            ) from None
    return values


def parse_seeds(text, name="--seeds"):
    """`"0-99"` -> `[0, ..., 99]`, `"0,3,5-9"` -> `[0, 3, 5, 6, 7, 8, 9]`: the seeds of a
    command-line option, in the order given; ranges include both ends, and at most
    `MAX_SEEDS` seeds in all."""
    ranges = []
    for part in str(text).split(","):
        first, dash, last = part.strip().partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(
                f"`{name}` must be non-negative seeds and ranges, such as 0-99 or 0,3,5-9. "
                f"Received: {name}={text}"
            )
        start, stop = int(first), int(last) if dash else int(first)
        if stop < start:
            raise ValueError(f"A seed range must go upwards, such as 5-9. Received: {name}={text}")
        if stop > MAX_INT64:
            raise ValueError(f"Seeds go up to {MAX_INT64}. Received: {name}={text}")
        ranges.append(range(start, stop + 1))
    count = sum(len(seeds) for seeds in ranges)
    if count > MAX_SEEDS:
        raise ValueError(
            f"{name} names {count:,} seeds, at most {MAX_SEEDS:,} at once. Received: {name}={text}"
        )
    return [seed for seeds in ranges for seed in seeds]


def parse_class_pair(text, name="--class-blend"):
    """`"3,8"` -> `("3", "8")`, `"cat,dog"` -> `("cat", "dog")`: the two classes of a class
    blend on the command line, for `kgan.control.labels.class_indices`."""
    values = parse_labels(text, name)
    if len(values) != 2:
        raise ValueError(
            f"`{name}` must name two classes, such as 3,8 or cat,dog. Received: {name}={text}"
        )
    return values[0], values[1]


def check_output(path, option, *, folder=False, written=None):
    """Fails unless the command can write `path`, the value of `option` (or `written`, the
    path it stands for, such as `path + ".npy"`).

    Its parent must be a folder that exists or can be created (no file on the way), `path`
    itself must not be a folder (with `folder`, the command writes a folder: not a file), and
    the nearest existing folder must accept a new file, which is tried, unless `path` is an
    existing folder (a finished run may be read-only). URLs are left to the writer.

    Raises:
        ValueError: if `path` or a folder above it is of the wrong kind.
        OSError: if no file can be created where `path` would be, with the system's reason.
    """
    if path is None or storage.is_url(path):
        return
    received = f"Received: {option}={path}"
    path = path if written is None else written
    if os.path.exists(path) and os.path.isdir(path) != folder:
        kind, wanted = ("a file", "folder") if folder else ("a folder", "file")
        raise ValueError(f"{option}: {path!r} is {kind}, not a {wanted}. {received}")
    if folder and os.path.isdir(path):
        return  # An existing folder (a run to resume, say) may only be read: its writer says.
    existing = _existing_above(path)
    if not os.path.isdir(existing):
        raise ValueError(f"{option}: {existing!r} is a file, not a folder. {received}")
    probe = atomic.temp_path(os.path.join(existing, "kgan-write-check"))
    try:
        descriptor = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as error:
        reason = error.strerror or os.strerror(error.errno or errno.EIO)
        raise type(error)(
            f"{option}: no file can be created in {existing!r} ({reason}). {received}"
        ) from error
    os.close(descriptor)
    with contextlib.suppress(OSError):
        os.remove(probe)


def _existing_above(path):
    """The nearest ancestor of `path` that exists, spelled as in `path` when it is relative."""
    parent = os.path.dirname(os.path.normpath(path)) or os.curdir
    while not os.path.lexists(parent):
        above = os.path.dirname(parent) or os.curdir
        if above == parent:
            break
        parent = above
    return parent


def check_classifier(path, option="--classifier"):
    """Refuses a classifier path that is not an existing `.keras` file, before it is loaded."""
    if path is None:
        return
    if not str(path).endswith(".keras"):
        raise ValueError(f"{option} must be a .keras file. Received: {option}={path}")
    if not storage.is_url(path) and not os.path.isfile(path):
        raise FileNotFoundError(f"No classifier file. Received: {option}={path}")


def check_generator(model, path, option="MODEL"):
    """Refuses a Keras model loaded from `path` that is neither a kgan model nor a generator
    network (whose first input is `z`, of shape `(batch, latent_dim)`): a classifier, say.

    Raises:
        ValueError: naming `option` and `path`.
    """
    from kgan.models import AdversarialModel

    if isinstance(model, AdversarialModel):
        return
    inputs = getattr(model, "inputs", None) or []
    shape = tuple(inputs[0].shape) if inputs else None
    if shape is not None and len(shape) == 2:
        return
    name = getattr(model, "name", type(model).__name__)
    raise ValueError(
        f"{option} is not a kgan generator: {path} holds the Keras model {name!r}, whose "
        f"input has shape {shape} (a classifier?), not a kgan model (kgan train, "
        f"model.save) or a generator taking z. Received: {option}={path}"
    )


def load_generator(path, option="MODEL"):
    """`kgan.control.load_generator(path)`, with `check_generator`'s error when `path` holds
    a Keras model that is not a generator.

    The Keras model is only loaded again, and checked, when `load_generator` has failed, so
    that a generator is loaded once.
    """
    from kgan import control

    try:
        return control.load_generator(path)
    except ValueError:
        model = None
        with contextlib.suppress(Exception):  # Not a Keras model: the first error stands.
            from kgan.runs.folder import load_run

            model = load_run(path, compile=False)[0]
        if model is not None:
            check_generator(model, path, option)
        raise


# The value in `name=value` after "Received:": a quoted string, a bracketed group, or a word.
_VALUE = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\([^)]*\)|\[[^\]]*\]|[^\s,;]+"


@contextlib.contextmanager
def options_in_errors(args, options, *, derived=()):
    """Names the command's options in the errors of the library calls in the block.

    A `ValueError` or a one-message `OSError` saying `Received: name=value` for a library
    argument `name` of `options` (a dict from argument names to options such as `--data`) says
    `Received: --data=VALUE` instead, where VALUE is what the user typed (read from `args`), and
    `` `name` `` in the message becomes the option. Only options the user typed
    (`args.typed_options`, set by `kgan.cli.main`) are named: a default stays the library's. The
    argument is translated only when the library received the value typed: another argument of
    the same name further down (a layer's `name`) keeps its own. Arguments in `derived` are
    computed from the option (`--class-blend 1,12` gives `start` and `end`), so they are
    translated whatever their value, and their name stays (`end` is not the option).
    """
    try:
        yield
    except (ValueError, OSError) as error:
        text = error.args[0] if len(error.args) == 1 else None
        if isinstance(text, str) and "Received: " in text:
            error.args = (_translated(text, args, options, derived),)
        raise


def _translated(text, args, options, derived):
    if not options:
        return text
    head, _, tail = text.rpartition("Received: ")
    names = "|".join(re.escape(name) for name in options)
    placed = set()

    def replace(match):
        name, value = match.group(1), match.group(2)
        option = options[name]
        typed = getattr(args, dest(option), None)
        given = option in getattr(args, "typed_options", ())
        if not given or typed is None:
            return match.group(0)
        if name not in derived and value not in (str(typed), repr(typed)):
            return match.group(0)
        if name not in derived:
            nonlocal head
            head = head.replace(f"`{name}`", option)
        if option in placed:
            return "\0"  # Two arguments from one option (`start`, `end`): named once.
        placed.add(option)
        if isinstance(typed, (list, tuple)):
            typed = " ".join(str(item) for item in typed)
        return f"{option}={typed}"

    tail = re.sub(rf"(?<![\w-])({names})=({_VALUE})", replace, tail)
    tail = re.sub(r"(, )?\0", "", tail)
    return f"{head}Received: {tail}"
