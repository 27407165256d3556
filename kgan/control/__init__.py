"""Controlling what a generator draws: classes, latent walks and attribute edits.

    import kgan
    generator = kgan.control.load_generator("savedmodels/mnist_cdcgan")  # or a run, .keras, .onnx
    images = generator.generate(16, seed=0)
    path = kgan.control.interpolate(z[0], z[1], steps=10)              # slerp by default
    strip = kgan.control.interpolation_grid(generator, num_rows=4, steps=10, seed=0)
    edited_z, scores = kgan.control.edit(generator, z, classifier, target=7, steps=20)
    direction = kgan.control.attribute_direction(generator, classifier, target=7)
    more = kgan.control.apply_direction(z, direction, strength=2.0)

Modules: `generators` (one interface to Keras, SavedModel and ONNX generators), `loading`
(opening a MODEL path), `labels`, `interpolation`, `edit` (classifier-gradient directions) and
`measure` (how well the control works, read off a classifier).

Class interpolation: kgan's builders one-hot encode the integer labels inside the generator,
so a blend of two classes is a blend of one-hot rows fed in after that encoding
(`KerasGenerator.soft_label_model`). That needs the Keras model; exported SavedModel and ONNX
generators keep their integer `labels` input.
"""

from kgan.control import labels
from kgan.control.edit import (
    apply_direction,
    attribute_direction,
    classifier_outputs,
    edit,
    edit_samples,
    side_by_side,
    target_score,
)
from kgan.control.generators import (
    Generator,
    KerasGenerator,
    OnnxGenerator,
    SavedModelGenerator,
)
from kgan.control.interpolation import (
    METHODS,
    class_interpolation_grid,
    interpolate,
    interpolation_grid,
)
from kgan.control.labels import blend_labels
from kgan.control.loading import as_generator, load_generator
from kgan.control.measure import (
    class_control,
    format_report,
    measure_directions,
    measure_edits,
)

__all__ = [
    "METHODS",
    "Generator",
    "KerasGenerator",
    "OnnxGenerator",
    "SavedModelGenerator",
    "apply_direction",
    "as_generator",
    "attribute_direction",
    "blend_labels",
    "class_control",
    "class_interpolation_grid",
    "classifier_outputs",
    "edit",
    "edit_samples",
    "format_report",
    "interpolate",
    "interpolation_grid",
    "labels",
    "load_generator",
    "measure_directions",
    "measure_edits",
    "side_by_side",
    "target_score",
]
