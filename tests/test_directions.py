"""Latent directions (dcgan_studio.directions): the maths on a generator whose first block is linear in z, the
shipped digits G steered by its classifier's labels, and the file format. Offline, a few seconds on 2 cores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from dcgan_studio.config import ModelConfig
from dcgan_studio.directions import (
    Directions,
    DirectionsError,
    class_directions,
    combine,
    group_direction,
    load_directions,
    principal_directions,
    render,
    save_directions,
    steer,
    strip,
)
from dcgan_studio.latent import generate, sample_z
from dcgan_studio.models import Generator

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_G = ROOT / "checkpoints" / "digits32.safetensors"
NZ = 16


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a.double() @ b.double() / (a.double().norm() * b.double().norm()))


def linear_generator(planted: list[tuple[float, int]], seed: int = 0) -> tuple[Generator, list[torch.Tensor]]:
    """A real (tiny) Generator whose first block is z @ W: the transposed conv's weights are set to W = noise +
    sum_j strength_j * u_j v_j^T and the batch norm is the identity, so the output of ``main[1]`` is linear in z.
    ``planted``: (strength, index of the z axis mixed into u_j). Returns G and the unit vectors u_j."""
    g = torch.Generator().manual_seed(seed)
    G = Generator(ModelConfig(image_size=32, channels=1, nz=NZ, ngf=8, ndf=8)).eval()
    conv, bn = G.main[0], G.main[1]
    features = conv.weight[0].numel()  # width * 4 * 4
    q_z, _ = torch.linalg.qr(torch.randn(NZ, NZ, generator=g))  # orthonormal columns: the planted u's
    q_f, _ = torch.linalg.qr(torch.randn(features, len(planted), generator=g))
    w = 0.02 * torch.randn(NZ, features, generator=g)
    us = []
    for j, (strength, axis) in enumerate(planted):
        u = q_z[:, axis]
        w += strength * u[:, None] * q_f[:, j][None, :]
        us.append(u)
    with torch.no_grad():
        conv.weight.copy_(w.reshape(conv.weight.shape))
        bn.weight.fill_(1.0)
        bn.bias.zero_()
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0)
    return G, us


# ---------------------------------------------------------------------------------------- unsupervised (PCA)


def test_principal_directions_recover_the_dominant_direction_of_a_linear_first_layer():
    G, (u,) = linear_generator([(5.0, 3)])
    d = principal_directions(G, n_samples=2048, k=4, seed=0, layer=1)
    assert abs(_cos(d.vectors[0], u)) > 0.99
    assert d.source == "pca" and d.names[0] == "PC 0" and d.model["nz"] == NZ


def test_principal_directions_order_components_by_explained_variance():
    G, (u_strong, u_weak) = linear_generator([(6.0, 0), (3.0, 7)])
    d = principal_directions(G, n_samples=2048, k=4, seed=1, layer=1)
    assert abs(_cos(d.vectors[0], u_strong)) > 0.99
    assert abs(_cos(d.vectors[1], u_weak)) > 0.99
    assert torch.all(d.explained[:-1] >= d.explained[1:])
    assert float(d.explained[0]) > 2 * float(d.explained[1])  # 6^2 vs 3^2 of the planted variance


def test_principal_directions_recover_the_direction_after_the_first_relu_too():
    G, (u,) = linear_generator([(5.0, 5)])
    d = principal_directions(G, n_samples=2048, k=2, seed=0)  # default layer: the first block's ReLU
    assert abs(_cos(d.vectors[0], u)) > 0.95


def test_principal_direction_scales_are_one_standard_deviation_of_the_prior():
    G, _ = linear_generator([(5.0, 3), (2.0, 4)])
    d = principal_directions(G, n_samples=4096, k=4, seed=0, layer=1)
    torch.testing.assert_close(d.vectors.norm(dim=1), torch.ones(4), atol=1e-5, rtol=0)
    assert torch.all((d.scales > 0.9) & (d.scales < 1.1))


def test_principal_directions_are_deterministic_for_a_seed_and_leave_the_mode_of_g_alone():
    G, _ = linear_generator([(5.0, 3)])
    G.train()
    a = principal_directions(G, n_samples=512, k=3, seed=7)
    b = principal_directions(G, n_samples=512, k=3, seed=7)
    torch.testing.assert_close(a.vectors, b.vectors, atol=1e-6, rtol=0)
    torch.testing.assert_close(a.scales, b.scales, atol=1e-6, rtol=0)
    assert G.training


def test_principal_directions_of_the_shipped_generator_are_unit_ordered_and_labelled_with_the_model():
    from dcgan_studio.checkpoint import load_generator

    G = load_generator(SHIPPED_G)
    d = principal_directions(G, n_samples=1024, k=8, seed=0, checkpoint=SHIPPED_G)
    assert d.vectors.shape == (8, 100)
    torch.testing.assert_close(d.vectors.norm(dim=1), torch.ones(8), atol=1e-5, rtol=0)
    assert torch.all(d.explained[:-1] >= d.explained[1:])
    assert torch.all((d.scales > 0.85) & (d.scales < 1.15))
    assert d.model["checkpoint"] == SHIPPED_G.name and d.model["nz"] == 100 and len(d.model["fingerprint"]) == 16


# ------------------------------------------------------------------------------------------ groups and steering


def test_group_direction_of_two_groups_shifted_by_a_known_vector_recovers_it():
    shift = torch.zeros(NZ)
    shift[2], shift[9] = 3.0, -4.0
    z_from = sample_z(12, NZ, seed=3)
    d = group_direction(z_from, z_from + shift, name="smile")
    torch.testing.assert_close(d.vectors[0], shift / shift.norm(), atol=1e-6, rtol=0)
    assert d.names == ["smile"] and d.source == "groups" and float(d.scales[0]) == pytest.approx(1.0)


def test_group_direction_of_independent_noisy_groups_points_along_the_shift():
    shift = torch.zeros(NZ)
    shift[0] = 2.0
    d = group_direction(sample_z(400, NZ, seed=1), list(sample_z(400, NZ, seed=2) + shift))
    assert _cos(d.vectors[0], shift) > 0.95


def test_group_direction_refuses_empty_or_identical_groups():
    z = sample_z(4, NZ, seed=0)
    with pytest.raises(ValueError):
        group_direction(z[:0], z)
    with pytest.raises(DirectionsError, match="zero length"):
        group_direction(z, z.clone())


def test_steer_moves_exactly_the_sum_of_amount_times_scale_times_direction():
    vectors = torch.nn.functional.normalize(torch.randn(3, NZ, generator=torch.Generator().manual_seed(0)), dim=1)
    d = Directions(vectors, torch.tensor([1.0, 0.5, 2.0]), ["a", "b", "c"], "pca")
    z = sample_z(5, NZ, seed=0)
    amounts = torch.tensor([1.5, -2.0, 0.25])
    expected = z + 1.5 * 1.0 * vectors[0] - 2.0 * 0.5 * vectors[1] + 0.25 * 2.0 * vectors[2]
    torch.testing.assert_close(steer(z, d, amounts), expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(steer(z[0], d, [0.0, 0.0, 0.0]), z[0], atol=0, rtol=0)  # (nz,) in, (nz,) out
    assert steer(z[:, :, None, None], d, amounts).shape == (5, NZ, 1, 1)
    per_row = torch.zeros(5, 3)
    per_row[2, 1] = 1.0  # only row 2 moves
    moved = steer(z, d, per_row)
    torch.testing.assert_close(moved[2] - z[2], 0.5 * vectors[1], atol=1e-6, rtol=0)
    torch.testing.assert_close(moved[[0, 1, 3, 4]], z[[0, 1, 3, 4]], atol=0, rtol=0)


def test_steer_refuses_amounts_of_the_wrong_length_and_non_finite_amounts():
    d = group_direction(torch.zeros(1, NZ), torch.ones(1, NZ))
    with pytest.raises(ValueError, match="one value per direction"):
        steer(torch.zeros(NZ), d, [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        steer(torch.zeros(NZ), d, [float("nan")])
    with pytest.raises(ValueError, match="nz = 16"):
        steer(torch.zeros(3, 8), d, [1.0])


def test_render_draws_the_steered_sample_and_leaves_threads_and_mode_as_they_were():
    G, _ = linear_generator([(5.0, 3)])
    G.train()
    d = principal_directions(G, n_samples=256, k=2, seed=0, layer=1)
    z = sample_z(1, NZ, seed=2)
    threads = torch.get_num_threads()
    image = render(G, z, d, [1.5, -0.5], threads=2 if threads == 1 else 1)  # another count than the test's
    assert image.dtype == torch.uint8 and image.shape == (1, 1, 32, 32)
    expected = generate(G, steer(z, d, [1.5, -0.5]))
    assert (image.int() - expected.int()).abs().max() <= 1
    assert torch.get_num_threads() == threads
    G.train()
    render(G, z[0], d, [0.0, 0.0])  # (nz,) is one sample too
    assert G.training


def test_strip_draws_one_image_per_amount_with_the_unmoved_sample_in_the_middle():
    G, _ = linear_generator([(5.0, 3)])
    d = principal_directions(G, n_samples=256, k=2, seed=0, layer=1)
    z = sample_z(2, NZ, seed=4)
    images = strip(G, z, d, index=0)
    assert images.dtype == torch.uint8 and images.shape == (14, 1, 32, 32)
    centre = generate(G, z)
    assert (images[3].int() - centre[0].int()).abs().max() <= 1  # same z; batch kernels may differ by rounding
    assert (images[10].int() - centre[1].int()).abs().max() <= 1
    assert not torch.equal(images[0], images[6])
    with pytest.raises(ValueError):
        strip(G, z, d, index=2)


# ------------------------------------------------------------------------------------------------- from labels


@pytest.fixture(scope="module")
def shipped():
    from dcgan_studio.checkpoint import load_generator
    from dcgan_studio.metrics.classifier import load_classifier

    G, classifier = load_generator(SHIPPED_G), load_classifier()
    return G, classifier, class_directions(G, classifier, n_samples=2048, seed=0)


def test_class_directions_name_one_direction_per_confident_class_and_a_thicker_one(shipped):
    _, _, d = shipped
    assert d.source == "labels" and d.names[-1] == "thicker"
    assert len(d.names) >= 9 and all(n.startswith("towards a") for n in d.names[:-1])
    torch.testing.assert_close(d.vectors.norm(dim=1), torch.ones(len(d)), atol=1e-5, rtol=0)


def test_steering_towards_a_class_raises_the_classifiers_probability_of_it(shipped):
    from dcgan_studio.metrics.classifier import classify

    G, classifier, d = shipped
    z = sample_z(64, 100, seed=12345)  # not the samples the directions were found from
    before = classify(classifier, generate(G, z)).probs
    classes = [int(name.split()[-1]) for name in d.names[:-1]]
    amounts = torch.zeros(len(classes), len(z), len(d))  # one batch: every sample moved +2 std along each class
    for i in range(len(classes)):
        amounts[i, :, i] = 2.0
    moved = steer(z.repeat(len(classes), 1), d, amounts.reshape(-1, len(d)))
    after = classify(classifier, generate(G, moved)).probs.reshape(len(classes), len(z), -1)
    gains = {c: float(after[i, :, c].mean() - before[:, c].mean()) for i, c in enumerate(classes)}
    raised = sum(g > 0.05 for g in gains.values())
    assert raised >= 7, f"only {raised} of {len(classes)} class directions raised p(class) by 0.05: {gains}"


def test_steering_thicker_adds_ink(shipped):
    G, _, d = shipped
    z = sample_z(64, 100, seed=54321)
    amounts = torch.zeros(len(d))
    amounts[-1] = 2.0
    before, after = generate(G, z).float().mean(), generate(G, steer(z, d, amounts)).float().mean()
    assert float(after) > float(before) + 2.0  # mean pixel value, 0..255


# ------------------------------------------------------------------------------------------------ save / load


def test_directions_round_trip_through_a_safetensors_file(tmp_path):
    G, _ = linear_generator([(5.0, 3)])
    d = combine(
        principal_directions(G, n_samples=256, k=3, seed=0, layer=1, checkpoint="lin.safetensors"),
        group_direction(torch.zeros(1, NZ), torch.ones(1, NZ), name="all up"),
    )
    assert d.source == "mixed" and d.explained is None and len(d) == 4
    path = save_directions(tmp_path / "dirs.safetensors", d)
    back = load_directions(path, expected_nz=NZ)
    torch.testing.assert_close(back.vectors, d.vectors, atol=0, rtol=0)
    torch.testing.assert_close(back.scales, d.scales, atol=0, rtol=0)
    assert back.names == ["PC 0", "PC 1", "PC 2", "all up"] and back.source == "mixed"
    assert back.model == d.model and back.model["checkpoint"] == "lin.safetensors"
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary behind


def test_pca_directions_keep_their_explained_variance_through_a_file(tmp_path):
    G, _ = linear_generator([(5.0, 3)])
    d = principal_directions(G, n_samples=256, k=2, seed=0, layer=1)
    back = load_directions(save_directions(tmp_path / "pca.safetensors", d))
    torch.testing.assert_close(back.explained, d.explained, atol=0, rtol=0)


def test_loading_refuses_a_generator_checkpoint_with_a_clear_error():
    with pytest.raises(DirectionsError, match="not a directions file"):
        load_directions(SHIPPED_G)


def test_loading_refuses_a_file_that_is_not_safetensors_at_all(tmp_path):
    bad = tmp_path / "junk.safetensors"
    bad.write_bytes(b"\x80\x04not a safetensors file at all" * 10)
    with pytest.raises(DirectionsError):
        load_directions(bad)
    with pytest.raises(DirectionsError, match="does not exist"):
        load_directions(tmp_path / "missing.safetensors")


def test_loading_refuses_directions_made_for_another_latent_size(tmp_path):
    path = save_directions(tmp_path / "d.safetensors", group_direction(torch.zeros(1, NZ), torch.ones(1, NZ)))
    with pytest.raises(DirectionsError, match="nz = 16.*nz = 100"):
        load_directions(path, expected_nz=100)


def _raw_file(tmp_path, vectors, scales, names, nz, model_nz=None) -> Path:
    """A directions file written by hand; ``nz`` is the header's text as given (a str) or a number, ``model_nz`` the
    value the 'model' JSON records (``nz`` itself by default)."""
    meta = {
        "format": "dcgan_studio.directions",
        "format_version": "1",
        "names": json.dumps(names),
        "source": "pca",
        "nz": str(nz),
        "model": json.dumps({"nz": nz if model_nz is None else model_nz}),
    }
    path = tmp_path / "raw.safetensors"
    path.write_bytes(st_save({"vectors": vectors, "scales": scales}, metadata=meta))
    return path


def test_loading_refuses_non_finite_values(tmp_path):
    vectors = torch.zeros(1, NZ)
    vectors[0, 0] = float("nan")
    with pytest.raises(DirectionsError, match="non-finite"):
        load_directions(_raw_file(tmp_path, vectors, torch.ones(1), ["x"], NZ))


def test_loading_refuses_shapes_that_disagree_with_the_names_or_nz_and_non_unit_vectors(tmp_path):
    unit = torch.nn.functional.normalize(torch.ones(2, NZ), dim=1)
    with pytest.raises(DirectionsError, match="expected float32"):
        load_directions(_raw_file(tmp_path, unit, torch.ones(2), ["only one name"], NZ))
    with pytest.raises(DirectionsError, match="expected float32"):
        load_directions(_raw_file(tmp_path, unit, torch.ones(2), ["a", "b"], 8))
    with pytest.raises(DirectionsError, match="unit length"):
        load_directions(_raw_file(tmp_path, 3 * unit, torch.ones(2), ["a", "b"], NZ))
    with pytest.raises(DirectionsError, match="positive"):
        load_directions(_raw_file(tmp_path, unit, torch.tensor([1.0, -1.0]), ["a", "b"], NZ))


@pytest.mark.parametrize(
    ("header_nz", "model_nz", "message"),
    [
        # the file: the model's nz is the string "16"; it used to read "16 coordinates but ... nz is 16"
        (str(NZ), str(NZ), r"nz in the header's 'model' must be written as a whole number \(16\), not \"16\""),
        (str(NZ), float(NZ), r"nz in the header's 'model' must be written as a whole number \(16\), not 16\.0"),
        (str(NZ), True, r"nz in the header's 'model' must be written as a whole number \(16\), not true"),
        (" 16", NZ, r"nz in the file's header must be a whole number from 1 to 1024, got ' 16'"),
        ("1_6", NZ, r"nz in the file's header must be a whole number from 1 to 1024, got '1_6'"),
        ("+16", NZ, r"nz in the file's header must be a whole number from 1 to 1024, got '\+16'"),
    ],
)
def test_loading_refuses_an_nz_that_is_not_written_as_a_whole_number(tmp_path, header_nz, model_nz, message):
    """Header numbers are read strictly, so the message names the bad value instead of contradicting itself."""
    vectors = torch.nn.functional.normalize(torch.ones(1, NZ), dim=1)
    path = _raw_file(tmp_path, vectors, torch.ones(1), ["x"], header_nz, model_nz=model_nz)
    with pytest.raises(DirectionsError, match=message) as exc:
        load_directions(path)
    assert "coordinates but" not in str(exc.value)
