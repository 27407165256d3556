"""Serving an exported generator with TF Serving: its config file, REST JSON and a small client.

`kgan.export.to_saved_model` writes `base_dir/<version>/`; TF Serving loads it with
`--model_base_path=base_dir` (one model) or with a `models.config` written by
`write_models_config` (several). Clients then POST JSON to
`http://HOST:8501/v1/models/NAME:predict`; `encode_predict_request` and
`decode_predict_response` translate between that JSON and NumPy, and `PredictClient` sends it.

    client = kgan.serving.PredictClient(model="mnist")
    images = client.predict({"z": np.random.normal(size=(4, 100))})["images"]

Only the standard library is used for HTTP, so a client machine needs nothing but NumPy.
"""

import json
import math
import numbers
import os
import urllib.error
import urllib.request

import numpy as np

from kgan._validation import check_positive_int

# ---------------------------------------------------------------------------------- config


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
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w") as file:
        file.write("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------------- REST JSON


def _to_list(name, value):
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"Inputs must be numeric arrays. Received: {name} of dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(
            f"JSON cannot carry NaN or infinity. Received: non-finite values in {name}"
        )
    return array.tolist()


def encode_predict_request(inputs, *, signature_name=None, columnar=False):
    """Builds the JSON body of a TF Serving REST `predict` request.

    Args:
        inputs: `{input_name: array}` (or one array for a signature with a single input).
        signature_name: the signature to call; TF Serving uses `serving_default` when `None`.
        columnar: use the columnar `"inputs"` form instead of the row `"instances"` form. The
            row form needs every input to have the same first (batch) dimension, so a signature
            with scalar inputs, such as kgan's `generate`, needs `columnar=True`.

    Returns:
        A dict ready for `json.dumps`.

    Example:
    >>> kgan.serving.encode_predict_request({"z": np.zeros((2, 3))})
    {'instances': [{'z': [0.0, 0.0, 0.0]}, {'z': [0.0, 0.0, 0.0]}]}
    """
    body = {}
    if signature_name is not None:
        body["signature_name"] = str(signature_name)
    if not isinstance(inputs, dict):
        if columnar:
            body["inputs"] = _to_list("inputs", inputs)
        else:
            body["instances"] = _to_list("inputs", inputs)
        return body
    if not inputs:
        raise ValueError(f"`inputs` must name at least one input. Received: inputs={inputs!r}")
    if columnar:
        body["inputs"] = {name: _to_list(name, value) for name, value in inputs.items()}
        return body
    arrays = {name: np.asarray(value) for name, value in inputs.items()}
    scalars = [name for name, array in arrays.items() if array.ndim == 0]
    if scalars:
        raise ValueError(
            "The row (`instances`) form needs a batch dimension on every input; use "
            f"`columnar=True` for scalar inputs. Received: scalar input(s) {scalars}"
        )
    sizes = {name: array.shape[0] for name, array in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(
            "In the row (`instances`) form every input must have the same number of rows; use "
            f"`columnar=True` otherwise. Received: rows per input {sizes}"
        )
    lists = {name: _to_list(name, array) for name, array in arrays.items()}
    count = next(iter(sizes.values()))
    body["instances"] = [{name: rows[i] for name, rows in lists.items()} for i in range(count)]
    return body


def _from_json(value, dtype=None):
    array = np.asarray(value)
    if dtype is not None:
        return array.astype(dtype)
    if array.dtype.kind == "f":
        # TF Serving's float tensors are float32; JSON cannot say so.
        return array.astype("float32")
    return array


def _rows_to_arrays(rows, dtypes):
    if rows and all(isinstance(row, dict) for row in rows):
        names = list(rows[0])
        for row in rows:
            if list(row) != names and set(row) != set(names):
                raise ValueError(
                    f"Every row must have the same named values. Received: rows with {names} "
                    f"and {list(row)}"
                )
        return {name: _from_json([row[name] for row in rows], dtypes.get(name)) for name in names}
    return _from_json(rows, dtypes.get(None))


def _columns_to_arrays(columns, dtypes):
    if isinstance(columns, dict):
        return {name: _from_json(value, dtypes.get(name)) for name, value in columns.items()}
    return _from_json(columns, dtypes.get(None))


def _normalise_dtypes(dtypes):
    if dtypes is None:
        return {}
    if isinstance(dtypes, dict):
        return dict(dtypes)
    return {None: dtypes}


def _parse(body, what):
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"The {what} is not valid JSON: {error}. Received: {body[:200]!r}"
            ) from None
    if not isinstance(body, dict):
        raise ValueError(f"The {what} must be a JSON object. Received: {str(body)[:200]!r}")
    return body


def decode_predict_request(body, *, dtypes=None):
    """Reads a REST `predict` request (what a server does): `(inputs, signature_name)`.

    Args:
        body: the request as a dict, JSON text or bytes.
        dtypes: dtype of each input, `{name: dtype}` (or one dtype for an unnamed input);
            JSON floats become float32 and integers int64 otherwise.

    Returns:
        `(inputs, signature_name)`: `{name: array}` (or one array when the request does not
        name its input) and the signature name (`None` when not given).
    """
    body = _parse(body, "request")
    dtypes = _normalise_dtypes(dtypes)
    if ("instances" in body) == ("inputs" in body):
        raise ValueError(
            "A predict request has exactly one of `instances` (rows) and `inputs` (columns). "
            f"Received: keys {sorted(body)}"
        )
    if "instances" in body:
        if not isinstance(body["instances"], list):
            raise ValueError("`instances` must be a list of rows. Received: " + repr(body)[:200])
        inputs = _rows_to_arrays(body["instances"], dtypes)
    else:
        inputs = _columns_to_arrays(body["inputs"], dtypes)
    return inputs, body.get("signature_name")


def encode_predict_response(outputs, *, columnar=False):
    """Builds a REST `predict` response as TF Serving does (for servers and test doubles).

    Args:
        outputs: `{name: array}`, each with the batch as first dimension in the row form.
        columnar: answer in the columnar form (`"outputs"`), as TF Serving does for a
            columnar request; else the row form (`"predictions"`).

    Returns:
        A dict ready for `json.dumps`. As in TF Serving, a single output is not named.
    """
    if not isinstance(outputs, dict):
        outputs = {None: outputs}
    lists = {name: _to_list(name or "outputs", value) for name, value in outputs.items()}
    single = len(lists) == 1
    if columnar:
        return {"outputs": next(iter(lists.values())) if single else lists}
    if single:
        return {"predictions": next(iter(lists.values()))}
    counts = {name: len(rows) for name, rows in lists.items()}
    if len(set(counts.values())) != 1:
        raise ValueError(
            "In the row form every output must have the same number of rows. "
            f"Received: rows per output {counts}"
        )
    count = next(iter(counts.values()))
    return {"predictions": [{name: rows[i] for name, rows in lists.items()} for i in range(count)]}


def decode_predict_response(body, *, output_name=None, dtypes=None):
    """Reads a REST `predict` response into NumPy arrays.

    TF Serving leaves the output unnamed when a signature has a single output; pass
    `output_name` (for example `"images"`) to get a dict in every case.

    Args:
        body: the response as a dict, JSON text or bytes.
        output_name: the name to give an unnamed single output.
        dtypes: dtype of each output, `{name: dtype}` (or one dtype for an unnamed output),
            for example `{"images": "uint8"}`; JSON floats become float32 and integers int64
            otherwise.

    Returns:
        `{name: array}`, or one array for an unnamed output when `output_name` is `None`.

    Raises:
        PredictError: if the response is TF Serving's `{"error": ...}`.
    """
    body = _parse(body, "response")
    if "error" in body:
        raise PredictError(str(body["error"]))
    dtypes = _normalise_dtypes(dtypes)
    if output_name is not None and None not in dtypes and output_name in dtypes:
        dtypes[None] = dtypes[output_name]
    if "predictions" in body:
        outputs = _rows_to_arrays(body["predictions"], dtypes)
    elif "outputs" in body:
        outputs = _columns_to_arrays(body["outputs"], dtypes)
    else:
        raise ValueError(
            "A predict response has `predictions` (rows) or `outputs` (columns). "
            f"Received: keys {sorted(body)}"
        )
    if output_name is not None and not isinstance(outputs, dict):
        outputs = {output_name: outputs}
    return outputs


# ---------------------------------------------------------------------------------- client


class PredictError(RuntimeError):
    """TF Serving answered a request with an error.

    Attributes:
        status: the HTTP status code (`None` when the error came inside a 200 response).
    """

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class PredictClient:
    """A small client of TF Serving's REST API for one model.

    Args:
        host: the server's host name.
        port: its REST port (`--rest_api_port`, 8501 by default).
        model: the model name (`--model_name`, or a `name` in `models.config`).
        version: a version to pin, or `None` for the newest loaded one.
        timeout: seconds to wait for an answer.

    Example:
    >>> client = kgan.serving.PredictClient(model="mnist")
    >>> images = client.predict({"num_samples": 16, "seed": 0}, signature_name="generate")
    >>> images["images"].shape
    (16, 28, 28, 1)
    """

    def __init__(self, host="localhost", port=8501, model=None, version=None, timeout=30.0):
        if not isinstance(model, str) or not model:
            raise ValueError(f"`model` must be the served model's name. Received: model={model!r}")
        check_positive_int("port", port)
        if version is not None:
            check_positive_int("version", version)
        if not isinstance(timeout, numbers.Real) or not timeout > 0 or math.isinf(timeout):
            raise ValueError(f"`timeout` must be a positive number. Received: timeout={timeout!r}")
        self.host = host
        self.port = port
        self.model = model
        self.version = version
        self.timeout = float(timeout)

    @property
    def model_url(self):
        url = f"http://{self.host}:{self.port}/v1/models/{self.model}"
        return url if self.version is None else f"{url}/versions/{self.version}"

    @property
    def predict_url(self):
        return self.model_url + ":predict"

    def _request(self, url, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
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
            text = error.read().decode("utf-8", errors="replace")
            try:
                message = json.loads(text).get("error", text)
            except (json.JSONDecodeError, AttributeError):
                message = text
            raise PredictError(
                f"TF Serving answered HTTP {error.code} for {url}: {message}", status=error.code
            ) from None

    def predict(
        self, inputs, signature_name=None, *, columnar=None, output_name="images", dtypes=None
    ):
        """Calls the model's `predict` method.

        Args:
            inputs: `{input_name: array-like}`.
            signature_name: the signature; `serving_default` when `None`.
            columnar: the request form; by default the columnar form when an input is a scalar
                (as for `generate`), else the row form.
            output_name: the name given to an unnamed single output.
            dtypes: dtypes of the outputs (see `decode_predict_response`); kgan's `generate`
                signature's `images` are decoded as uint8 by default.

        Returns:
            `{output_name: np.ndarray}`.

        Raises:
            PredictError: if the server answers with an error.
        """
        if columnar is None:
            columnar = isinstance(inputs, dict) and any(
                np.ndim(value) == 0 for value in inputs.values()
            )
        if dtypes is None and signature_name == "generate":
            dtypes = {"images": "uint8"}
        body = encode_predict_request(inputs, signature_name=signature_name, columnar=columnar)
        response = self._request(self.predict_url, body)
        return decode_predict_response(response, output_name=output_name, dtypes=dtypes)

    def status(self):
        """The model's status (`GET /v1/models/NAME`): its versions and their states."""
        return self._request(self.model_url)
