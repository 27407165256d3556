"""The check that Keras runs on TensorFlow, made before anything imports Keras.

kgan's train steps use `tf.GradientTape`, `tf.distribute` and `tf.data`, so they need Keras'
TensorFlow backend. Under another backend they would fail deep inside the first train step, and
importing Keras itself already fails when that backend's package is missing (JAX, say). The
check therefore reads the backend the way Keras will choose it, without importing Keras: the
`KERAS_BACKEND` environment variable, else `"backend"` in `$KERAS_HOME/keras.json` (by default
`~/.keras/keras.json`), else TensorFlow. When Keras is already imported, its choice is final and
is read from it.
"""

import json
import os
import sys


def configured_backend():
    """`(backend, where)`: the backend Keras uses or will use, and where that choice comes from."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return keras.backend.backend(), "the Keras already imported"
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "the KERAS_BACKEND environment variable"
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    path = os.path.join(home, "keras.json")
    try:
        with open(path) as file:
            backend = json.load(file).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    if backend:
        return backend, path
    return "tensorflow", "Keras' default"


def running_as_command():
    """Whether this process is the `kgan` command (`kgan ...` or `python -m kgan ...`)."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    if name in ("kgan", "kgan.exe", "__main__.py"):
        return True
    # While `python -m kgan` imports the package, `sys.argv[0]` is still "-m".
    arguments = list(getattr(sys, "orig_argv", []))
    return "-m" in arguments[:-1] and arguments[arguments.index("-m") + 1] == "kgan"


def require_tensorflow_backend():
    """Raises one clear `ImportError` unless Keras uses (or will use) the TensorFlow backend."""
    backend, where = configured_backend()
    if backend == "tensorflow":
        return
    raise ImportError(
        f"kgan needs Keras' TensorFlow backend, but Keras is set to use the {backend!r} backend "
        f"(from {where}). Set the environment variable KERAS_BACKEND=tensorflow before "
        "starting Python (for example `KERAS_BACKEND=tensorflow python train.py`), or set "
        '"backend": "tensorflow" in keras.json. Received: backend=' + repr(backend)
    )
