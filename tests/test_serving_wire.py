"""kgan.serving against the JSON that TF Serving documents, written out by hand.

The round-trip tests in test_serving.py decode what kgan's own encoder wrote, so a mistake
shared by both sides would pass them. Here every body is a literal: the REST API's own example
(https://www.tensorflow.org/tfx/serving/api_rest, "Example": `half_plus_three` answers
`{"instances": [1.0, 2.0, 5.0]}` with `{"predictions": [3.5, 4.0, 5.5]}`), and the row and
columnar forms of its "Response format" section.
"""

import http.server
import json
import threading

import numpy as np
import pytest

from kgan import serving

# The documented request and response of the REST API's example, as the server sends them.
DOCUMENTED_REQUEST = {"instances": [1.0, 2.0, 5.0]}
DOCUMENTED_RESPONSE = b'{\n    "predictions": [3.5, 4.0, 5.5]\n}\n'


def test_decode_the_documented_response():
    decoded = serving.decode_predict_response(DOCUMENTED_RESPONSE)
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, [3.5, 4.0, 5.5])
    named = serving.decode_predict_response(DOCUMENTED_RESPONSE, output_name="y")
    np.testing.assert_array_equal(named["y"], [3.5, 4.0, 5.5])


def test_decode_row_and_columnar_responses_with_named_outputs():
    # Row form: one object per example, one key per output.
    rows = (
        '{"predictions": [{"images": [[[0], [64]], [[128], [255]]], "scores": 0.5},'
        ' {"images": [[[1], [2]], [[3], [4]]], "scores": 1.5}]}'
    )
    decoded = serving.decode_predict_response(rows, dtypes={"images": "uint8"})
    assert decoded["images"].dtype == np.uint8 and decoded["images"].shape == (2, 2, 2, 1)
    np.testing.assert_array_equal(decoded["images"][0, :, :, 0], [[0, 64], [128, 255]])
    np.testing.assert_array_equal(decoded["images"][1, :, :, 0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(decoded["scores"], [0.5, 1.5])
    # Columnar form: one key per output, each holding the whole batch.
    columns = '{"outputs": {"images": [[[[0], [64]], [[128], [255]]]], "scores": [0.5]}}'
    decoded = serving.decode_predict_response(columns, dtypes={"images": "uint8"})
    assert decoded["images"].shape == (1, 2, 2, 1)
    np.testing.assert_array_equal(decoded["images"][0, :, :, 0], [[0, 64], [128, 255]])
    np.testing.assert_array_equal(decoded["scores"], [0.5])
    # A single output is unnamed in both forms.
    single = serving.decode_predict_response('{"outputs": [[0.25, -1.0]]}', output_name="images")
    np.testing.assert_array_equal(single["images"], [[0.25, -1.0]])


def test_encode_responses_as_tf_serving_writes_them():
    pixels = np.array([[[[0], [64]], [[128], [255]]]], "uint8")
    assert serving.encode_predict_response({"images": pixels}) == {
        "predictions": [[[[0], [64]], [[128], [255]]]]
    }
    both = {"images": pixels, "scores": np.array([0.5], "float32")}
    assert serving.encode_predict_response(both) == {
        "predictions": [{"images": [[[0], [64]], [[128], [255]]], "scores": 0.5}]
    }
    assert serving.encode_predict_response(both, columnar=True) == {
        "outputs": {"images": [[[[0], [64]], [[128], [255]]]], "scores": [0.5]}
    }


def test_encode_requests_as_the_documentation_writes_them():
    assert serving.encode_predict_request(np.array([1.0, 2.0, 5.0])) == DOCUMENTED_REQUEST
    assert serving.encode_predict_request(
        {"num_samples": 2, "seed": 7}, signature_name="generate", columnar=True
    ) == {"signature_name": "generate", "inputs": {"num_samples": 2, "seed": 7}}


def test_binary_outputs_travel_as_b64_objects():
    """TF Serving writes the strings of an output named `*_bytes` as {"b64": ...}, in both
    forms; they are read back as `bytes`, trailing zero bytes included."""
    pngs = np.array([b"\x89PNG\x00", b"ab\x00\x00"], dtype=object)
    columnar = {"outputs": [{"b64": "iVBORwA="}, {"b64": "YWIAAA=="}]}
    assert serving.encode_predict_response({"png_bytes": pngs}, columnar=True) == columnar
    for body in (columnar, {"predictions": columnar["outputs"]}):
        decoded = serving.decode_predict_response(json.dumps(body), output_name="png_bytes")
        assert decoded["png_bytes"].dtype == object
        assert list(decoded["png_bytes"]) == list(pngs)
    named = serving.encode_predict_response({"png_bytes": pngs, "seed": [1, 2]})
    assert named["predictions"][1] == {"png_bytes": {"b64": "YWIAAA=="}, "seed": 2}
    assert list(serving.decode_predict_response(named)["png_bytes"]) == list(pngs)


class _CannedServer(http.server.ThreadingHTTPServer):
    """Answers every POST with `DOCUMENTED_RESPONSE` and keeps the request bodies."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _CannedHandler)
        self.bodies = []


class _CannedHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # Keeps pytest's output clean.
        pass

    def do_POST(self):
        self.server.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(DOCUMENTED_RESPONSE)))
        self.end_headers()
        self.wfile.write(DOCUMENTED_RESPONSE)


@pytest.fixture
def canned_server():
    server = _CannedServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_client_sends_and_reads_the_documented_example(canned_server):
    port = canned_server.server_address[1]
    client = serving.PredictClient("127.0.0.1", port, model="half_plus_three", timeout=10)
    result = client.predict(np.array([1.0, 2.0, 5.0]), output_name="y")
    assert canned_server.bodies == [DOCUMENTED_REQUEST]
    np.testing.assert_array_equal(result["y"], [3.5, 4.0, 5.5])
