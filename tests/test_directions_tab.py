"""The Directions tab's handlers on the tiny checkpoint: a slider move draws render(G, z, d, amounts), the result
kept is a server sample whose z is steer(...), group directions, files (a wrong file refused clearly), the cache."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_studio import directions
from dcgan_studio.app import directions_tab as tab
from dcgan_studio.app.errors import StudioError
from dcgan_studio.app.visitors import LOCAL_VISITOR
from dcgan_studio.directions import DirectionsError, render, save_directions, steer
from dcgan_studio.latent import sample_z


@pytest.fixture(autouse=True)
def fewer_samples(monkeypatch):
    monkeypatch.setattr(tab, "N_SAMPLES", 512)  # the maths is the same; the tiny random G needs no more


def _pixels(markup: str) -> np.ndarray:
    """The pixels of the one ``<img src="data:image/png;base64,...">`` in ``markup``."""
    data = re.search(r'src="data:image/png;base64,([^"]+)"', markup).group(1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data)))).astype(int)


def test_a_slider_move_draws_render_of_the_picked_directions(studio):
    ckpt = studio.models.default(LOCAL_VISITOR)
    dirs, strips = tab.base_directions(studio, LOCAL_VISITOR, ckpt)
    assert dirs.names[0] == "PC 0" and dirs.names[-1] == "thicker" and len(strips) == len(dirs)
    s = studio.samples.add(LOCAL_VISITOR, sample_z(1, 16, 5)[0], torch.zeros(1, 32, 32, dtype=torch.uint8), "five")
    picks = tab.default_picks(dirs)
    values = [1.5, -2.0] + [0.0] * (len(picks) - 2)
    z, image, label = tab.steered(studio, LOCAL_VISITOR, ckpt, [s.id], None, picks, values)
    amounts = torch.zeros(len(dirs))
    amounts[picks[0]], amounts[picks[1]] = 1.5, -2.0
    G = studio.models.get(LOCAL_VISITOR, ckpt).generator
    assert torch.equal(image, render(G, s.z, dirs, amounts)[0])
    assert torch.allclose(z, steer(s.z, dirs, amounts), atol=1e-6)
    assert "five" in label and f"{dirs.names[picks[0]]} +1.5" in label
    zero = tab.steered(studio, LOCAL_VISITOR, ckpt, [s.id], None, picks, [0.0] * len(picks))[1]
    assert torch.equal(zero, render(G, s.z, dirs, torch.zeros(len(dirs)))[0])
    assert not torch.equal(zero, image)


def test_the_page_shows_the_steered_image_enlarged_and_sliders_labelled(studio):
    ckpt = studio.models.default(LOCAL_VISITOR)
    dirs = tab.base_directions(studio, LOCAL_VISITOR, ckpt)[0]
    picks = tab.default_picks(dirs)
    out = tab.shown(studio, LOCAL_VISITOR, ckpt, dirs, picks, [])
    sliders, image = out[3 : 3 + tab.SLIDERS], out[3 + tab.SLIDERS]
    assert [u["label"] for u in sliders[: len(picks)]] == [dirs.names[p] for p in picks]
    G = studio.models.get(LOCAL_VISITOR, ckpt).generator
    expected = render(G, sample_z(1, 16, 0)[0], dirs, torch.zeros(len(dirs)))[0][0].numpy()
    pixels = _pixels(image)
    assert pixels.shape == (256, 256)
    assert np.array_equal(pixels[::8, ::8], expected)


def test_keeping_the_result_registers_a_sample_whose_z_is_the_steered_z(studio):
    ckpt = studio.models.default(LOCAL_VISITOR)
    dirs = tab.base_directions(studio, LOCAL_VISITOR, ckpt)[0]
    picks = tab.default_picks(dirs)
    values = [0.0, 3.0] + [0.0] * (len(picks) - 2)
    kept = tab.keep(studio, LOCAL_VISITOR, ckpt, [], None, picks, values)
    amounts = torch.zeros(len(dirs))
    amounts[picks[1]] = 3.0
    z0 = sample_z(1, 16, 0)[0]
    assert studio.samples.get(LOCAL_VISITOR, kept.id) is kept and kept.label.startswith("steered: seed 0 #0")
    assert torch.allclose(kept.z, steer(z0, dirs, amounts), atol=1e-6)
    assert torch.equal(kept.image, render(studio.models.get(LOCAL_VISITOR, ckpt).generator, z0, dirs, amounts)[0])


def test_a_group_direction_is_the_normalised_difference_of_the_groups_means(studio):
    ckpt = studio.models.default(LOCAL_VISITOR)
    z = sample_z(4, 16, 9)
    blank = torch.zeros(1, 32, 32, dtype=torch.uint8)
    ids = [studio.samples.add(LOCAL_VISITOR, zi, blank, f"s{i}").id for i, zi in enumerate(z)]
    new = tab.add_group(studio, LOCAL_VISITOR, ckpt, None, ids[:2], ids[2:], "mine")
    assert new.names[-1] == "mine" and len(new) == len(tab.base_directions(studio, LOCAL_VISITOR, ckpt)[0]) + 1
    want = z[2:].mean(0) - z[:2].mean(0)
    assert torch.allclose(new.vectors[-1], want / want.norm(), atol=1e-5)
    with pytest.raises(StudioError, match="name the direction"):
        tab.add_group(studio, LOCAL_VISITOR, ckpt, None, ids[:2], ids[2:], " ")
    with pytest.raises(StudioError, match="slot From is empty"):
        tab.add_group(studio, LOCAL_VISITOR, ckpt, None, [], ids[2:], "x")


def test_directions_load_back_and_a_wrong_file_is_refused_with_a_clear_message(studio, tmp_path):
    ckpt = studio.models.default(LOCAL_VISITOR)
    dirs = tab.base_directions(studio, LOCAL_VISITOR, ckpt)[0]
    back = tab.load_upload(studio, LOCAL_VISITOR, ckpt, save_directions(tmp_path / "d.safetensors", dirs))
    assert back.names == dirs.names and torch.equal(back.vectors, dirs.vectors)
    with pytest.raises(DirectionsError, match="not a directions file"):
        tab.load_upload(studio, LOCAL_VISITOR, ckpt, ckpt)  # a generator checkpoint
    other = dirs.__class__(torch.eye(3)[:1], torch.ones(1), ["x"], "groups")
    with pytest.raises(DirectionsError, match="nz = 3.*nz = 16"):
        tab.load_upload(studio, LOCAL_VISITOR, ckpt, save_directions(tmp_path / "o.safetensors", other))


def test_directions_are_found_once_per_checkpoint(studio, monkeypatch):
    ckpt = studio.models.default(LOCAL_VISITOR)
    first = tab.base_directions(studio, LOCAL_VISITOR, ckpt)
    # the tab imports the core's functions when it uses them, so the core's name is the one to replace
    monkeypatch.setattr(directions, "standard_directions", lambda *a, **k: pytest.fail("computed twice"))
    assert tab.base_directions(studio, LOCAL_VISITOR, ckpt) is first


def test_slider_values_out_of_range_or_too_many_picks_are_refused(studio):
    ckpt = studio.models.default(LOCAL_VISITOR)
    with pytest.raises(ValueError, match="slider"):
        tab.steered(studio, LOCAL_VISITOR, ckpt, [], None, [0], [7.0])
    with pytest.raises(StudioError, match="at most"):
        tab.steered(studio, LOCAL_VISITOR, ckpt, [], None, list(range(9)), [0.0] * 9)
