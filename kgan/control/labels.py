"""Class labels for controlled generation: integer classes, and blends of one-hot rows (the
command line's class and seed lists are read by `kgan.cli.options`).

A class-conditional generator takes integer labels in `[0, num_classes)`. A blend of two
classes is a row of class weights, `(1 - t) * one_hot(a) + t * one_hot(b)`, which only a Keras
generator can take (see `kgan.control.generators.KerasGenerator.soft_label_model`).
"""

import difflib
import numbers
import unicodedata

import numpy as np

from kgan._validation import check_positive_int, short


def check_labels(labels, count, num_classes, *, name="labels"):
    """The int32 classes of `count` samples, or `None` for an unconditional generator.

    Args:
        labels: one class per sample, one integer for all, or `None` to cycle
            0, 1, ..., num_classes - 1 (as `kgan.GAN.generate` does).
        count: the number of samples.
        num_classes: the generator's number of classes, or `None` when unconditional.
        name: the argument's name in error messages.
    """
    if num_classes is None:
        if labels is not None:
            raise ValueError(
                f"`{name}` were given but the generator is unconditional. "
                f"Received: {name}={short(labels)} with num_classes=None"
            )
        return None
    if labels is None:
        return (np.arange(count) % num_classes).astype("int32")
    array = np.asarray(labels)
    if array.ndim == 0:
        array = np.full((count,), array)
    if array.ndim != 1 or not (
        np.issubdtype(array.dtype, np.integer)
        or (np.issubdtype(array.dtype, np.floating) and np.all(np.mod(array, 1) == 0))
    ):
        raise ValueError(
            f"`{name}` must be integer classes: one integer, or one per sample. "
            f"Received: {name}={short(labels)}"
        )
    if array.shape[0] != count:
        raise ValueError(
            f"There must be one label per sample ({count}), or one for all. "
            f"Received: {name} with {array.shape[0]} entries"
        )
    bad = array[(array < 0) | (array >= num_classes)]
    if bad.size:
        raise ValueError(
            f"`{name}` must be classes in [0, {num_classes}) for num_classes={num_classes}. "
            f"Received: {name}={bad[0]:g}"
        )
    return array.astype("int32")


def class_indices(values, class_names, *, name="labels", typed=None):
    """The class numbers of `values`, classes as typed on a command line.

    A string that is a class's name (exactly, else in Unicode's composed form without
    surrounding spaces, else ignoring case too when that names one class) is that class, so
    that folders named by numbers (`"1"`, `"10"`, `"2"`, sorted as text) are named as their
    folders are; any other integer (or string of one) is a class number. When some class
    names are numbers other than their class numbers, a number that names no class is refused:
    it could be meant either way.

    Args:
        values: the classes, as typed or as numbers.
        class_names: the generator's class names, or `None`.
        name: the argument's name in error messages.
        typed: the argument as typed (`"cat,dog"`), for error messages (and their hint to
            quote a name holding a comma); else `values` joined.

    Raises:
        ValueError: for a name that is none of `class_names` (or names when there are
            none), a name that only the normalisations match and that they match to several
            classes, or a number that could be meant either way.
    """
    class_names = list(class_names or [])
    keys = [_key(known) for known in class_names]
    received = f"{name}={typed if typed is not None else ','.join(map(str, values))}"
    renumbered = any(_integer(key) not in (None, i) for i, key in enumerate(keys))
    indices = []
    for value in values:
        text = _key(value)
        if str(value) in class_names:  # Exactly as recorded, before any normalisation.
            indices.append(class_names.index(str(value)))
            continue
        matches = [i for i, key in enumerate(keys) if key == text]
        if len(matches) == 1:
            indices.append(matches[0])
            continue
        if matches:
            raise ValueError(
                f"`{name}` names several classes once Unicode form and surrounding spaces are "
                f"set aside ({', '.join(f'{i} {class_names[i]!r}' for i in matches)}): give the "
                f"class's number. Received: {received}"
            )
        number = _integer(text)
        if number is not None:
            if renumbered:
                raise ValueError(
                    f"`{name}` gives {text}, which is no class's name, and the classes' names "
                    f"are numbers other than their class numbers ({_listed(class_names)}): give "
                    f"the class's name. Received: {received}"
                )
            indices.append(number)
            continue
        if not keys:
            raise ValueError(
                f"`{name}` names a class, but the generator records no class names: give class "
                f"numbers. Received: {received}"
            )
        matches = [i for i, key in enumerate(keys) if key.casefold() == text.casefold()]
        if len(matches) == 1:
            indices.append(matches[0])
            continue
        if matches:
            raise ValueError(
                f"`{name}` names several classes when case is ignored "
                f"({', '.join(repr(class_names[i]) for i in matches)}): give the exact name. "
                f"Received: {received}"
            )
        folded = [key.casefold() for key in keys]
        closest = difflib.get_close_matches(text.casefold(), folded, n=3)
        closest = [class_names[folded.index(match)] for match in closest]
        hint = f" (the closest: {', '.join(map(repr, closest))})" if closest else ""
        if typed is not None:
            hint += _comma_hint(text, class_names)
        raise ValueError(
            f"`{name}` names no class of the generator: {text!r} is none of "
            f"{_listed(class_names)}{hint}. Received: {received}"
        )
    return indices


def _comma_hint(text, class_names):
    """When `text` is a piece of a class name holding a comma (`Smith` of `Smith, John`, cut
    apart by a comma-separated option), how to type that name; else `""`."""
    for known in class_names:
        pieces = [_key(piece).casefold() for piece in known.split(",")]
        if len(pieces) > 1 and text.casefold() in pieces:
            quoted = '"' + known.replace('"', '""') + '"'
            return f"; a name holding a comma is typed in double quotes: '{quoted}'"
    return ""


def _key(name):
    """A class name as it is compared: in Unicode's composed form, without surrounding spaces."""
    return unicodedata.normalize("NFC", str(name)).strip()


def _listed(class_names, most=10):
    """`0 'cat', 1 'dog', ...`: the classes, at most `most` of them, then how many in all."""
    listed = ", ".join(f"{i} {known!r}" for i, known in enumerate(class_names[:most]))
    return listed + (f", ... ({len(class_names):,} classes)" if len(class_names) > most else "")


def _integer(text):
    """The integer `text` spells (`"03"`: 3), else `None`."""
    try:
        return int(text)
    except ValueError:
        return None


def check_class(name, value, num_classes):
    """One class index in `[0, num_classes)`; returns it as an `int`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"`{name}` must be an integer class. Received: {name}={value!r}")
    if not 0 <= value < num_classes:
        raise ValueError(
            f"`{name}` must be a class in [0, {num_classes}) for num_classes={num_classes}. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def blend_labels(start, end, steps, num_classes):
    """Rows of class weights going from class `start` to class `end` in `steps` steps.

    Row `i` is `(1 - t) * one_hot(start) + t * one_hot(end)` with `t = i / (steps - 1)`, so the
    first row is `start`'s one-hot code and the last `end`'s.

    Returns:
        A float32 array of shape `(steps, num_classes)`.
    """
    check_positive_int("num_classes", num_classes)
    start = check_class("start", start, num_classes)
    end = check_class("end", end, num_classes)
    check_steps(steps)
    t = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
    eye = np.eye(num_classes, dtype="float32")
    return (1.0 - t) * eye[start] + t * eye[end]


def check_steps(steps, name="steps"):
    """An interpolation needs both end points: `steps` is an integer of at least 2."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 2:
        raise ValueError(
            f"`{name}` must be an integer of at least 2 (the two end points). "
            f"Received: {name}={steps!r}"
        )
    return int(steps)


def repeat_labels(labels, count):
    """`labels` repeated in turn to give one per sample (`[0, 1]` -> 0, 1, 0, 1, ...)."""
    if labels is None:
        return None
    labels = np.asarray(labels).reshape(-1)
    if labels.size == 0:
        raise ValueError("`labels` must name at least one class. Received: labels=[]")
    return np.resize(labels, count)
