"""TF Serving's `models.config`: one server, several models."""

import json
import os

from kgan import atomic


def _quote(text):
    # Text-format protobuf strings use C-style escapes; json.dumps escapes the same characters
    # (quotes, backslashes, control characters) the same way for the ASCII paths used here.
    return json.dumps(str(text))


def write_models_config(path, models):
    """Writes a TF Serving `models.config` (`--model_config_file=`) serving several models.

    Args:
        path: the file to write.
        models: `{name: base_path}` or a list of `(name, base_path)` pairs; each `base_path` is
            a folder of integer versions, as written by `kgan.export.to_saved_model`. Relative
            paths are made absolute, since TF Serving resolves them against its own working
            directory.

    Returns:
        `path`.

    Example:
    >>> kgan.serving.write_models_config(
    ...     "savedmodels/models.config",
    ...     {"mnist": "/models/mnist", "cifar10": "/models/cifar10"},
    ... )
    """
    pairs = list(models.items()) if isinstance(models, dict) else list(models)
    if not pairs:
        raise ValueError(f"`models` must name at least one model. Received: models={models!r}")
    names = set()
    lines = ["model_config_list {"]
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(
                "`models` must be a dict {name: base_path} or a list of (name, base_path) pairs. "
                f"Received: entry {pair!r}"
            )
        name, base_path = pair
        if not isinstance(name, str) or not name or "/" in name or ":" in name:
            raise ValueError(
                "Model names must be non-empty strings without '/' or ':' (they appear in "
                f"REST URLs). Received: name={name!r}"
            )
        if name in names:
            raise ValueError(f"Model names must be unique. Received: name={name!r} twice")
        names.add(name)
        base_path = os.fspath(base_path)
        if "://" not in base_path:  # Leave gs://, s3:// ... paths alone.
            base_path = os.path.abspath(base_path)
        lines += [
            "  config {",
            f"    name: {_quote(name)}",
            f"    base_path: {_quote(base_path)}",
            '    model_platform: "tensorflow"',
            "  }",
        ]
    lines.append("}")
    atomic.write_text(path, "\n".join(lines) + "\n")
    return path
