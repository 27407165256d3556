"""TF Serving's REST `predict` JSON: requests and responses to and from NumPy arrays.

The row form (`"instances"`/`"predictions"`) and the columnar form (`"inputs"`/`"outputs"`)
of https://www.tensorflow.org/tfx/serving/api_rest, for clients and for test doubles of a
server. Binary values travel as `{"b64": "<base64>"}`: TF Serving writes a string output that
way when the output's name ends in `_bytes` (as the `png_bytes` of kgan's `generate_png`
signature does), and the decoders here turn such objects back into `bytes`.
"""

import base64
import json

import numpy as np


class PredictError(RuntimeError):
    """A request to TF Serving failed: the server answered with an error, could not be reached,
    did not answer in time, or answered with something that is not TF Serving's JSON.

    Attributes:
        status: the HTTP status code (`None` when there was no HTTP error status).
    """

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def _to_list(name, value):
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"Inputs must be numeric arrays. Received: {name} of dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(
            f"JSON cannot carry NaN or infinity. Received: non-finite values in {name}"
        )
    return array.tolist()


# TF Serving writes a string output as `{"b64": ...}` when its name ends with this.
BYTES_SUFFIX = "_bytes"


def _output_to_list(name, value):
    """An output as JSON values; binary outputs (named `*_bytes`) as `{"b64": ...}` objects."""
    array = np.asarray(value)
    if name is not None and name.endswith(BYTES_SUFFIX) and array.dtype.kind in "OS":
        encoded = [{"b64": base64.b64encode(bytes(item)).decode("ascii")} for item in array.flat]
        return np.array(encoded, dtype=object).reshape(array.shape).tolist()
    return _to_list(name or "outputs", array)


def _from_b64(value):
    """`value` with every `{"b64": ...}` object decoded to `bytes` (lists kept as lists)."""
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_from_b64(item) for item in value]
    return value


def _has_b64(value):
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, dict) and set(value) == {"b64"}


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
    if _has_b64(value):
        # An object array of `bytes`: NumPy's fixed-width bytes would drop trailing zero bytes.
        return np.array(_from_b64(value), dtype=object)
    array = np.asarray(value)
    if dtype is not None:
        return array.astype(dtype)
    if array.dtype.kind == "f":
        # TF Serving's float tensors are float32; JSON cannot say so.
        return array.astype("float32")
    return array


def _rows_to_arrays(rows, dtypes):
    if rows and all(isinstance(row, dict) for row in rows) and not _has_b64(rows):
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
        A dict ready for `json.dumps`. As in TF Serving, a single output is not named, and the
        strings of an output named `*_bytes` are written as `{"b64": ...}`.
    """
    if not isinstance(outputs, dict):
        outputs = {None: outputs}
    lists = {name: _output_to_list(name, value) for name, value in outputs.items()}
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
        Binary values (`{"b64": ...}`) become `bytes` in an object array.

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
