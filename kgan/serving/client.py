"""`PredictClient`: a small client of TF Serving's REST API, its HTTP on the standard library."""

import http.client
import io
import json
import math
import numbers
import time
import urllib.error
import urllib.request

import numpy as np

from kgan._validation import check_non_negative, check_positive_int, short
from kgan.serving.rest import PredictError, decode_predict_response, encode_predict_request

# The output of kgan's `generate_png` signature (`kgan.export.metadata.PNG_OUTPUT`; the serving
# client does not import the exporter, which needs TensorFlow).
PNG_OUTPUT = "png_bytes"


class PredictClient:
    """A small client of TF Serving's REST API for one model.

    Args:
        host: the server's host name.
        port: its REST port (`--rest_api_port`, 8501 by default).
        model: the model name (`--model_name`, or a `name` in `models.config`).
        version: a version to pin, or `None` for the newest loaded one.
        timeout: seconds to wait for an answer.
        retries: how many times to try again when the server cannot be reached or drops the
            connection (a server still starting, say); 0 by default. Other failures are not
            retried.
        backoff: seconds to wait before the first retry; each further wait doubles it.

    Example:
    >>> client = kgan.serving.PredictClient(model="mnist")
    >>> images = client.predict({"num_samples": 16, "seed": 0}, signature_name="generate")
    >>> images["images"].shape
    (16, 28, 28, 1)
    >>> pngs = client.predict({"num_samples": 2, "seed": 0}, signature_name="generate_png")
    >>> pngs["png_bytes"][0][:4]
    b'\x89PNG'
    """

    def __init__(
        self,
        host="localhost",
        port=8501,
        model=None,
        version=None,
        timeout=30.0,
        *,
        retries=0,
        backoff=0.5,
    ):
        if not isinstance(model, str) or not model:
            raise ValueError(f"`model` must be the served model's name. Received: model={model!r}")
        check_positive_int("port", port)
        if port > 65535:
            raise ValueError(f"`port` must be in [1, 65535]. Received: port={port!r}")
        if version is not None:
            check_positive_int("version", version)
        if not isinstance(timeout, numbers.Real) or not timeout > 0 or math.isinf(timeout):
            raise ValueError(f"`timeout` must be a positive number. Received: timeout={timeout!r}")
        if isinstance(retries, bool) or not isinstance(retries, numbers.Integral) or retries < 0:
            raise ValueError(
                f"`retries` must be a non-negative integer. Received: retries={retries!r}"
            )
        check_non_negative("backoff", backoff)
        self.host = host
        self.port = port
        self.model = model
        self.version = version
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)

    @property
    def model_url(self):
        url = f"http://{self.host}:{self.port}/v1/models/{self.model}"
        return url if self.version is None else f"{url}/versions/{self.version}"

    @property
    def predict_url(self):
        return self.model_url + ":predict"

    def _request(self, url, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        for attempt in range(self.retries + 1):
            try:
                return self._request_once(url, data)
            except _ConnectionFailure as failure:
                if attempt == self.retries:
                    raise PredictError(self._describe(url, failure.reason)) from None
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _describe(self, url, reason):
        retried = f" (after {self.retries} retries)" if self.retries else ""
        return f"Request to TF Serving model {self.model!r} at {url} failed{retried}: {reason}"

    def _request_once(self, url, data):
        """One request; connection failures raise `_ConnectionFailure` (retried), every other
        failure `PredictError`."""
        request = urllib.request.Request(
            url,
            data=data,
            method="GET" if data is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise PredictError(
                self._describe(url, f"HTTP {error.code}: {_error_message(error)}"),
                status=error.code,
            ) from None
        except (ConnectionError, http.client.RemoteDisconnected) as error:
            raise _ConnectionFailure(_connection_reason(error)) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, ConnectionError):
                raise _ConnectionFailure(_connection_reason(error.reason)) from None
            if isinstance(error.reason, TimeoutError):
                raise PredictError(self._describe(url, self._timeout_reason())) from None
            raise PredictError(
                self._describe(url, f"cannot connect ({short(error.reason, 200)})")
            ) from None
        except TimeoutError:
            raise PredictError(self._describe(url, self._timeout_reason())) from None
        except http.client.IncompleteRead as error:
            reason = f"the connection closed after {len(error.partial)} bytes of the answer" + (
                f", before the {error.expected} more announced" if error.expected else ""
            )
            raise PredictError(self._describe(url, reason)) from None
        except http.client.HTTPException as error:
            reason = f"not a valid HTTP answer ({type(error).__name__}: {short(error, 200)})"
            raise PredictError(self._describe(url, reason)) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            reason = f"the answer is not JSON ({type(error).__name__}: {short(error, 200)})"
            raise PredictError(self._describe(url, reason)) from None

    def _timeout_reason(self):
        return f"no answer within {self.timeout:g} s (`timeout`)"

    def predict(self, inputs, signature_name=None, *, columnar=None, output_name=None, dtypes=None):
        """Calls the model's `predict` method.

        Args:
            inputs: `{input_name: array-like}`.
            signature_name: the signature; `serving_default` when `None`.
            columnar: the request form; by default the columnar form when an input is a scalar
                (as for `generate`), else the row form.
            output_name: the name given to an unnamed single output; by default that of kgan's
                signatures: `png_bytes` for `generate_png`, else `images`.
            dtypes: dtypes of the outputs (see `decode_predict_response`); kgan's `generate`
                signature's `images` are decoded as uint8 by default.

        Returns:
            `{output_name: np.ndarray}`. Binary outputs, sent by TF Serving as
            `{"b64": ...}`, are `bytes` in an object array: `generate_png` gives one PNG file
            per sample (`decode_pngs` turns them into uint8 images).

        Raises:
            PredictError: if the server answers with an error.
        """
        if columnar is None:
            columnar = isinstance(inputs, dict) and any(
                np.ndim(value) == 0 for value in inputs.values()
            )
        if dtypes is None and signature_name == "generate":
            dtypes = {"images": "uint8"}
        if output_name is None:
            output_name = PNG_OUTPUT if signature_name == "generate_png" else "images"
        body = encode_predict_request(inputs, signature_name=signature_name, columnar=columnar)
        response = self._request(self.predict_url, body)
        return decode_predict_response(response, output_name=output_name, dtypes=dtypes)

    def status(self):
        """The model's status (`GET /v1/models/NAME`): its versions and their states."""
        return self._request(self.model_url)


def decode_pngs(pngs):
    """The images of PNG files (`bytes`, such as the `png_bytes` of `generate_png`) as one
    uint8 array `(N, height, width, channels)`."""
    from PIL import Image

    images = []
    for png in np.asarray(pngs, dtype=object).reshape(-1):
        with Image.open(io.BytesIO(png)) as image:
            pixels = np.asarray(image)
        images.append(pixels[..., None] if pixels.ndim == 2 else pixels)
    return np.stack(images)


class _ConnectionFailure(Exception):
    """The server could not be reached or dropped the connection: worth another attempt."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _connection_reason(error):
    if isinstance(error, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (is TF Serving running, and on this port?)"
    return f"connection lost ({type(error).__name__}: {short(error, 200)})"


def _error_message(error):
    """The `error` field of TF Serving's JSON error body, else the body's text."""
    try:
        text = error.read().decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException):
        return error.reason
    try:
        return json.loads(text).get("error", text)
    except (json.JSONDecodeError, AttributeError):
        return text
