"""Steerable directions in z: found without labels (GANSpace), from a classifier's labels, or from two groups of
samples (the paper's averaging), and moved along with sliders.

* **Unsupervised** (Härkönen et al. 2020, "GANSpace"): PCA of G's first-block activations (after its ReLU) over a
  few thousand samples, carried back to z the way GANSpace does for GANs steered in z: least-squares regression of
  the z's on the PCA coordinates, ``z ~ x @ B``; row i of ``B``, normalised, is direction i. Component 0 explains
  the most activation variance.
* **From labels** (digits): "towards a 7" = mean z of the samples the classifier calls a 7 with confidence minus
  the mean z of all samples (Radford et al. average exemplars the same way); "thicker" = the least-squares weights
  of the ink (mean pixel value of G(z)) regressed on z.
* **From groups**: ``group_direction(z_from, z_to)`` = mean(z_to) - mean(z_from), a reusable vector.

Units. Every direction is a unit vector ``d`` in z with a ``scale``: the standard deviation of ``z . d`` over as
many fresh z's as were sampled to find it (another seed: measured on the fitting samples, a fitted direction leans
towards their own spread and the scale comes out 5-15 % too large), so an amount ``a`` (a slider in [-3, 3])
moves ``a`` standard deviations of the latent distribution along ``d``: ``steer(z) = z + sum_i a_i * scale_i * d_i``.
For z ~ N(0, I) the scale is 1 up to sampling noise (+-0.01 at 4,096 samples) for every direction and every source,
so sliders of different sources mean the same thing and +-3 stays inside the region G was trained on. This is
GANSpace's own convention (its z-space scale is the spread of the samples' projections); the alternative, the PCA
coordinate's standard deviation mapped back through the regression, equals the multiple correlation of that
coordinate with z (<= 1): it shrinks a component by how non-linear it is, which ``explained`` already tells apart.
Group directions made from a handful of samples have no population to measure, so they take the prior's value, 1.

Files: safetensors with tensors ``vectors`` (k, nz) F32, ``scales`` (k,) F32 and optionally ``explained`` (k,)
F32, and string metadata ``format`` = ``dcgan_studio.directions``, ``format_version``, ``names`` (JSON list),
``source``, ``nz`` and ``model`` (JSON: the generator's config, its weights' fingerprint and the checkpoint name).
``load_directions`` checks the size, then the header (format, version, nz, names, tensor names/dtypes/shapes) before
reading any tensor, then the values (finite, unit length, positive scales).
"""

from __future__ import annotations

from .base import (
    FORMAT_DIRECTIONS,
    FORMAT_VERSION,
    MAX_DIRECTIONS,
    MAX_FILE_BYTES,
    MAX_NAME_CHARS,
    UNIT_TOLERANCE,
    Directions,
    DirectionsError,
    generator_fingerprint,
    model_info,
)
from .find import (
    activations,
    class_directions,
    combine,
    first_block_index,
    group_direction,
    principal_directions,
    standard_directions,
    suits_digits_classifier,
)
from .io import load_directions, save_directions
from .steer import render, steer, strip

__all__ = [
    "FORMAT_DIRECTIONS",
    "FORMAT_VERSION",
    "MAX_DIRECTIONS",
    "MAX_FILE_BYTES",
    "MAX_NAME_CHARS",
    "UNIT_TOLERANCE",
    "Directions",
    "DirectionsError",
    "activations",
    "class_directions",
    "combine",
    "first_block_index",
    "generator_fingerprint",
    "group_direction",
    "load_directions",
    "model_info",
    "principal_directions",
    "render",
    "save_directions",
    "standard_directions",
    "steer",
    "strip",
    "suits_digits_classifier",
]
