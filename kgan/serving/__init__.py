"""Serving an exported generator with TF Serving: its config file, REST JSON and a small client.

`kgan.export.to_saved_model` writes `base_dir/<version>/`; TF Serving loads it with
`--model_base_path=base_dir` (one model) or with a `models.config` written by
`write_models_config` (several). Clients then POST JSON to
`http://HOST:8501/v1/models/NAME:predict`; `encode_predict_request` and
`decode_predict_response` translate between that JSON and NumPy, and `PredictClient` sends it.

    client = kgan.serving.PredictClient(model="mnist")
    images = client.predict({"z": np.random.normal(size=(4, 100))})["images"]

HTTP goes through the standard library: no gRPC or TF Serving package is needed. Importing
`kgan` imports TensorFlow, so a client machine needs kgan's own dependencies (and Pillow for
`decode_pngs`, which reads the PNGs of the `generate_png` signature).

Modules: `config` (`models.config`), `rest` (the REST JSON) and `client` (`PredictClient`).
"""

from kgan.serving.client import PredictClient, decode_pngs
from kgan.serving.config import write_models_config
from kgan.serving.rest import (
    PredictError,
    decode_predict_request,
    decode_predict_response,
    encode_predict_request,
    encode_predict_response,
)

__all__ = [
    "PredictClient",
    "PredictError",
    "decode_pngs",
    "decode_predict_request",
    "decode_predict_response",
    "encode_predict_request",
    "encode_predict_response",
    "write_models_config",
]
