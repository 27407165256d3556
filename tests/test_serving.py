"""Tests of kgan.serving: models.config, REST predict JSON, and the client.

The client is tested against a small HTTP server on 127.0.0.1 that answers like TF Serving's
REST API from a SavedModel exported by kgan (loaded with tf.saved_model.load), so a request
goes JSON -> signature -> JSON as it would in production.
"""

import http.server
import json
import re
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import export, serving
from kgan.images import to_uint8

# ---------------------------------------------------------------------------------- config


def test_write_models_config(tmp_path):
    path = serving.write_models_config(
        tmp_path / "models.config", {"mnist": "/models/mnist", "cifar10": "gs://bucket/cifar10"}
    )
    assert open(path).read() == (
        "model_config_list {\n"
        "  config {\n"
        '    name: "mnist"\n'
        '    base_path: "/models/mnist"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        "  config {\n"
        '    name: "cifar10"\n'
        '    base_path: "gs://bucket/cifar10"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        "}\n"
    )


def test_write_models_config_makes_paths_absolute_and_checks_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    serving.write_models_config("models.config", [("demo", "savedmodels/demo")])
    text = (tmp_path / "models.config").read_text()
    assert f'base_path: "{tmp_path / "savedmodels" / "demo"}"' in text
    with pytest.raises(ValueError, match="unique"):
        serving.write_models_config("x.config", [("a", "/a"), ("a", "/b")])
    with pytest.raises(ValueError, match="without '/' or ':'"):
        serving.write_models_config("x.config", {"a:predict": "/a"})
    with pytest.raises(ValueError, match="at least one model"):
        serving.write_models_config("x.config", {})


# ---------------------------------------------------------------------------------- JSON


def test_row_request_round_trip():
    z = np.arange(6, dtype="float32").reshape(3, 2) / 4
    labels = np.array([0, 2, 1], "int32")
    body = serving.encode_predict_request(
        {"z": z, "labels": labels}, signature_name="serving_default"
    )
    assert body == {
        "signature_name": "serving_default",
        "instances": [
            {"z": [0.0, 0.25], "labels": 0},
            {"z": [0.5, 0.75], "labels": 2},
            {"z": [1.0, 1.25], "labels": 1},
        ],
    }
    inputs, signature = serving.decode_predict_request(json.dumps(body))
    assert signature == "serving_default"
    np.testing.assert_array_equal(inputs["z"], z)
    assert inputs["z"].dtype == np.float32
    np.testing.assert_array_equal(inputs["labels"], labels)


def test_columnar_request_round_trip():
    body = serving.encode_predict_request(
        {"num_samples": 4, "seed": 7, "labels": [1, 1, 0, 2]},
        signature_name="generate",
        columnar=True,
    )
    assert body == {
        "signature_name": "generate",
        "inputs": {"num_samples": 4, "seed": 7, "labels": [1, 1, 0, 2]},
    }
    inputs, signature = serving.decode_predict_request(
        json.dumps(body).encode(), dtypes={"num_samples": "int32", "labels": "int32"}
    )
    assert signature == "generate"
    assert inputs["num_samples"].shape == () and inputs["num_samples"].dtype == np.int32
    assert int(inputs["seed"]) == 7
    np.testing.assert_array_equal(inputs["labels"], [1, 1, 0, 2])


def test_unnamed_single_input_round_trip():
    z = np.ones((2, 3), "float32")
    body = serving.encode_predict_request(z)
    assert body == {"instances": [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]}
    inputs, signature = serving.decode_predict_request(body)
    assert signature is None
    np.testing.assert_array_equal(inputs, z)


def test_request_encoding_rejects_what_tf_serving_cannot_read():
    with pytest.raises(ValueError, match="use `columnar=True` for scalar inputs"):
        serving.encode_predict_request({"num_samples": 4, "seed": 1})
    with pytest.raises(ValueError, match="same number of rows"):
        serving.encode_predict_request({"z": np.zeros((3, 2)), "labels": [0, 1]})
    with pytest.raises(ValueError, match="NaN or infinity"):
        serving.encode_predict_request({"z": np.array([[np.nan]])})
    with pytest.raises(ValueError, match="exactly one of `instances`"):
        serving.decode_predict_request({"signature_name": "x"})


@pytest.mark.parametrize("columnar", [False, True], ids=["rows", "columns"])
def test_response_round_trip(columnar):
    images = np.linspace(-1, 1, 2 * 4 * 4 * 1, dtype="float32").reshape(2, 4, 4, 1)
    single = json.dumps(serving.encode_predict_response({"images": images}, columnar=columnar))
    assert ("predictions" in json.loads(single)) != columnar
    decoded = serving.decode_predict_response(single, output_name="images")
    np.testing.assert_array_equal(decoded["images"], images)
    assert decoded["images"].dtype == np.float32
    assert isinstance(serving.decode_predict_response(single), np.ndarray)

    pixels = to_uint8(images)
    several = serving.encode_predict_response(
        {"images": pixels, "scores": np.array([0.5, 1.5])}, columnar=columnar
    )
    decoded = serving.decode_predict_response(several, dtypes={"images": "uint8"})
    np.testing.assert_array_equal(decoded["images"], pixels)
    assert decoded["images"].dtype == np.uint8
    np.testing.assert_array_equal(decoded["scores"], [0.5, 1.5])


def test_error_response_raises():
    with pytest.raises(serving.PredictError, match="num_samples"):
        serving.decode_predict_response('{"error": "`num_samples` must be at most 16"}')


# ---------------------------------------------------------------------------------- client

_PREDICT_PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)(/versions/(?P<version>\d+))?:predict$")
_INPUT_DTYPES = {"z": "float32", "labels": "int32", "num_samples": "int32", "seed": "int64"}


class _FakeTFServing(http.server.ThreadingHTTPServer):
    """Answers `POST /v1/models/NAME[/versions/N]:predict` from a loaded SavedModel."""

    daemon_threads = True

    def __init__(self, name, version, loaded):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.model_name = name
        self.model_version = version
        self.loaded = loaded
        self.requests = []


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # Keeps pytest's output clean.
        pass

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        server = self.server
        match = _PREDICT_PATH.match(self.path)
        if not match or match["name"] != server.model_name:
            return self._answer(404, {"error": f"Servable not found for request: {self.path}"})
        if match["version"] and int(match["version"]) != server.model_version:
            return self._answer(404, {"error": f"Version {match['version']} not found"})
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.requests.append((self.path, json.loads(body)))
        inputs, signature_name = serving.decode_predict_request(body, dtypes=_INPUT_DTYPES)
        signature = server.loaded.signatures[signature_name or "serving_default"]
        try:
            outputs = signature(**{name: tf.constant(value) for name, value in inputs.items()})
        except tf.errors.InvalidArgumentError as error:
            return self._answer(400, {"error": error.message})
        outputs = {name: value.numpy() for name, value in outputs.items()}
        self._answer(
            200, serving.encode_predict_response(outputs, columnar="inputs" in json.loads(body))
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    # Seeded here: a module fixture is built before the autouse seeding of the first test
    # that asks for it, so its weights would otherwise depend on the tests run before.
    keras.utils.set_random_seed(11)
    generator = kgan.models.dcgan_generator((8, 8, 1), latent_dim=8, num_classes=3, base_filters=8)
    path = export.to_saved_model(
        generator, tmp_path_factory.mktemp("models") / "demo", num_classes=3, max_samples=16
    )
    server = _FakeTFServing("demo", 1, tf.saved_model.load(path))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    # Stops itself even if the test session is interrupted before the teardown below.
    watchdog = threading.Timer(300, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield generator, server
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_client_calls_serving_default(served):
    generator, server = served
    client = serving.PredictClient("127.0.0.1", server.server_address[1], model="demo", timeout=10)
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    labels = np.array([0, 1, 2], "int32")
    images = client.predict({"z": z, "labels": labels})["images"]
    expected = keras.ops.convert_to_numpy(generator([z, labels], training=False))
    assert images.shape == (3, 8, 8, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images, expected, atol=1e-5)
    path, body = server.requests[-1]
    assert path == "/v1/models/demo:predict"
    assert "instances" in body and "signature_name" not in body


def test_client_calls_generate_with_a_pinned_version(served):
    generator, server = served
    port = server.server_address[1]
    client = serving.PredictClient("127.0.0.1", port, model="demo", version=1, timeout=10)
    request = {"num_samples": 4, "seed": 11, "labels": [2, 2, 0, 1]}
    images = client.predict(request, signature_name="generate")["images"]
    assert images.dtype == np.uint8 and images.shape == (4, 8, 8, 1)
    np.testing.assert_array_equal(
        client.predict(request, signature_name="generate")["images"], images
    )
    z = kgan.models.sample_latent(4, 8, seed=11).numpy()
    expected = to_uint8(generator([z, np.array([2, 2, 0, 1], "int32")], training=False))
    assert np.max(np.abs(images.astype(int) - expected.astype(int))) <= 1
    path, body = server.requests[-1]
    assert path == "/v1/models/demo/versions/1:predict"
    assert body["signature_name"] == "generate" and "inputs" in body


def test_client_returns_the_pngs_of_generate_png(served):
    _, server = served
    client = serving.PredictClient("127.0.0.1", server.server_address[1], model="demo", timeout=10)
    request = {"num_samples": 3, "seed": 5, "labels": [1, 0, 2]}
    pngs = client.predict(request, signature_name="generate_png")
    assert list(pngs) == ["png_bytes"] and pngs["png_bytes"].dtype == object
    assert all(png.startswith(b"\x89PNG") for png in pngs["png_bytes"])
    # On the wire, each PNG was base64 in a {"b64": ...} object, as TF Serving sends `*_bytes`.
    images = client.predict(request, signature_name="generate")["images"]
    np.testing.assert_array_equal(serving.decode_pngs(pngs["png_bytes"]), images)


def test_client_reports_server_errors(served):
    _, server = served
    port = server.server_address[1]
    client = serving.PredictClient("127.0.0.1", port, model="demo", timeout=10)
    with pytest.raises(serving.PredictError, match="at most 16") as raised:
        client.predict(
            {"num_samples": 17, "seed": 0, "labels": [0] * 17}, signature_name="generate"
        )
    assert raised.value.status == 400
    missing = serving.PredictClient("127.0.0.1", port, model="other", timeout=10)
    with pytest.raises(serving.PredictError, match="HTTP 404"):
        missing.predict({"z": np.zeros((1, 8)), "labels": [0]})


def test_client_checks_its_arguments():
    with pytest.raises(ValueError, match="served model's name"):
        serving.PredictClient()
    with pytest.raises(ValueError, match="positive integer"):
        serving.PredictClient(model="demo", port=0)
    client = serving.PredictClient("example.com", 9000, model="demo", version=3)
    assert client.predict_url == "http://example.com:9000/v1/models/demo/versions/3:predict"


# ---------------------------------------------------------------------------------- failures


class _BrokenHandler(http.server.BaseHTTPRequestHandler):
    """Answers as a server, proxy or network in trouble would; the model name picks how."""

    def log_message(self, *args):
        pass

    def _send(self, body, length=None):
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # The client gave up (the timeout test): nothing to report.

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        model = self.path.split("/")[3].split(":")[0]
        self.server.calls[model] = self.server.calls.get(model, 0) + 1
        if model == "garbage":
            self._send(b"<html>Bad gateway</html>")
        elif model == "latin1":
            self._send(b'{"predictions": "\xe9t\xe9"}')
        elif model == "short":
            self._send(b'{"predictions": [', length=1000)
        elif model == "hangup" or (model == "flaky" and self.server.calls[model] <= 2):
            self.close_connection = True  # No answer at all: RemoteDisconnected.
        elif model == "slow":
            threading.Event().wait(1.5)
            self._send(b'{"predictions": [[0.0]]}')
        else:
            self._send(b'{"predictions": [[0.5]]}')


@pytest.fixture(scope="module")
def broken_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BrokenHandler)
    server.daemon_threads = True
    # Printing a traceback from a server thread (Python 3.11 parses source lines for it) can
    # race with the main thread's parser; the tests check the client's side only.
    server.handle_error = lambda request, client_address: None
    server.calls = {}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    watchdog = threading.Timer(120, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield server
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    "model, reason",
    [
        ("garbage", "not JSON"),
        ("latin1", "not JSON.*UnicodeDecodeError"),
        ("short", "connection closed after 17 bytes"),
        ("hangup", "closed the connection without answering"),
        ("slow", r"no answer within 0.3 s"),
    ],
)
def test_client_failures_are_predict_errors_naming_url_and_model(broken_server, model, reason):
    port = broken_server.server_address[1]
    client = serving.PredictClient("127.0.0.1", port, model=model, timeout=0.3)
    with pytest.raises(serving.PredictError, match=reason) as raised:
        client.predict({"z": np.zeros((1, 1))})
    message = str(raised.value)
    assert f"http://127.0.0.1:{port}/v1/models/{model}:predict" in message
    assert f"model {model!r}" in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def _closed_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_client_reports_a_server_that_is_not_there():
    port = _closed_port()
    client = serving.PredictClient("127.0.0.1", port, model="demo", timeout=2)
    with pytest.raises(serving.PredictError, match="connection refused") as raised:
        client.status()
    assert f"http://127.0.0.1:{port}/v1/models/demo" in str(raised.value)


def test_client_retries_connection_failures_only_when_asked(broken_server):
    port = broken_server.server_address[1]
    once = serving.PredictClient("127.0.0.1", port, model="flaky", timeout=2)
    with pytest.raises(serving.PredictError, match="without answering"):
        once.predict({"z": np.zeros((1, 1))})
    patient = serving.PredictClient(
        "127.0.0.1", port, model="flaky", timeout=2, retries=3, backoff=0.01
    )
    np.testing.assert_allclose(patient.predict({"z": np.zeros((1, 1))})["images"], [[0.5]])
    assert broken_server.calls["flaky"] == 3  # One failure each, then the answer.
    # Retries are bounded, and the message says they were made.
    stubborn = serving.PredictClient(
        "127.0.0.1", port, model="hangup", timeout=2, retries=2, backoff=0.01
    )
    calls = broken_server.calls.get("hangup", 0)
    with pytest.raises(serving.PredictError, match="after 2 retries"):
        stubborn.predict({"z": np.zeros((1, 1))})
    assert broken_server.calls["hangup"] == calls + 3
    # A timeout is not a connection failure: not retried.
    slow = serving.PredictClient("127.0.0.1", port, model="slow", timeout=0.3, retries=2)
    with pytest.raises(serving.PredictError, match="no answer within"):
        slow.predict({"z": np.zeros((1, 1))})
    assert broken_server.calls["slow"] >= 1


def test_client_refuses_invalid_ports_and_retry_settings():
    with pytest.raises(ValueError, match=r"\[1, 65535\]. Received: port=70000"):
        serving.PredictClient(model="demo", port=70000)
    with pytest.raises(ValueError, match="Received: retries=-1"):
        serving.PredictClient(model="demo", retries=-1)
    with pytest.raises(ValueError, match="Received: backoff=-0.5"):
        serving.PredictClient(model="demo", backoff=-0.5)
