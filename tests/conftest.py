import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _reset_keras_state():
    """Each test starts from a fixed seed and the default float32 policy."""
    keras.utils.set_random_seed(1234)
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(autouse=True)
def _private_folder_cache(tmp_path, monkeypatch):
    """Decoded image folders are cached in a folder of the test's own, not the user's."""
    monkeypatch.setenv("KGAN_CACHE_DIR", str(tmp_path / "folder_cache"))


SAVEDMODELS = Path(__file__).resolve().parents[1] / "savedmodels"


def shipped_generators():
    """Names of the generators shipped in savedmodels/: folders holding SavedModel versions,
    each with an ONNX file of the same name beside it."""
    from kgan import export

    return sorted(
        path.name for path in SAVEDMODELS.iterdir() if path.is_dir() and export.list_versions(path)
    )


def pytest_generate_tests(metafunc):
    """A test taking `shipped_name` runs once per shipped generator."""
    if "shipped_name" in metafunc.fixturenames:
        metafunc.parametrize("shipped_name", shipped_generators())


@pytest.fixture(scope="session")
def shipped_unconditional():
    """The base folder of an unconditional shipped generator."""
    from kgan import control

    for name in shipped_generators():
        if control.load_generator(SAVEDMODELS / name).num_classes is None:
            return SAVEDMODELS / name
    pytest.skip("no unconditional generator is shipped in savedmodels/")
