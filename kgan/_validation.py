"""Argument checks shared by kgan's public functions.

Every error follows Keras' form: what is wrong, then `Received: name=value`.
"""

import numbers

import numpy as np


def _is_integer(value):
    """Whether `value` is a Python or NumPy integer (not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_positive_int(name, value, *, allow_none=False):
    if value is None and allow_none:
        return
    if not _is_integer(value) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")


def check_non_negative(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"`{name}` must be a non-negative number. Received: {name}={value!r}")


def check_range(name, value, low, high, *, include_high=True):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= low
    ok = ok and (value <= high if include_high else value < high)
    if not ok:
        bracket = "]" if include_high else ")"
        raise ValueError(
            f"`{name}` must be a number in [{low}, {high}{bracket}. Received: {name}={value!r}"
        )


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {', '.join(repr(c) for c in choices)}. "
            f"Received: {name}={value!r}"
        )


def check_bool(name, value):
    """Checks a flag: `True` or `False` (NumPy booleans too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")


def check_image_shape(name, shape):
    """Checks an image shape `(height, width, channels)` of positive integers (Python or NumPy;
    floats such as 8.0 are refused, as in Keras' shapes) and returns it as a tuple of ints."""
    try:
        sizes = tuple(shape)
    except TypeError:
        sizes = ()
    if len(sizes) != 3 or not all(_is_integer(size) and size >= 1 for size in sizes):
        raise ValueError(
            f"`{name}` must be a tuple (height, width, channels) of positive integers. "
            f"Received: {name}={shape!r}"
        )
    return tuple(int(size) for size in sizes)


def check_num_classes(num_classes):
    """Checks the number of classes of a class-conditional network or model: `None`
    (unconditional) or at least 2."""
    check_positive_int("num_classes", num_classes, allow_none=True)
    if num_classes is not None and num_classes < 2:
        raise ValueError(
            "`num_classes` must be at least 2 for a class-conditional model. "
            f"Received: num_classes={num_classes}"
        )


def check_seed(value, name="seed"):
    """Checks a random seed: an integer (Python or NumPy) or None."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        raise ValueError(f"`{name}` must be an integer or None. Received: {name}={value!r}")


def short(value, limit=80):
    """One line of text for an error message: an error's or a string's text, else `repr`,
    with whitespace collapsed and cut to `limit` characters."""
    text = str(value) if isinstance(value, (str, BaseException)) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
