"""safetensors checkpoints: round trips, atomic writes, and clear refusals of bad files."""

import json
import os
import pickle
import struct

import pytest
import torch
from safetensors.torch import save_file

from dcgan_studio import checkpoint as ckpt
from dcgan_studio.config import ModelConfig
from dcgan_studio.models import Discriminator, Generator


def test_generator_export_round_trip(tmp_path, tiny_model_config):
    G = Generator(tiny_model_config).eval()
    path = ckpt.save_generator(tmp_path / "g.safetensors", G)
    loaded = ckpt.load_generator(path)
    assert loaded.config == tiny_model_config and not loaded.training
    z = torch.randn(4, tiny_model_config.nz)
    assert torch.equal(G(z), loaded(z))
    assert ckpt.read_metadata(path)["has_discriminator"] is False
    with pytest.raises(ckpt.CheckpointError, match="no discriminator"):
        ckpt.load_discriminator(path)


def test_models_file_holds_g_and_d(tmp_path, tiny_model_config):
    G, D = Generator(tiny_model_config), Discriminator(tiny_model_config)
    path = ckpt.save_models(tmp_path / "m.safetensors", G, D)
    x = torch.randn(2, 1, 32, 32)
    assert torch.equal(ckpt.load_discriminator(path)(x), D.eval()(x))
    with pytest.raises(ckpt.CheckpointError, match="cannot resume"):
        ckpt.load_training_state(path)


def test_a_load_parses_the_header_once(tmp_path, tiny_model_config, monkeypatch):
    G, D = Generator(tiny_model_config).eval(), Discriminator(tiny_model_config).eval()
    path = ckpt.save_models(tmp_path / "m.safetensors", G, D)
    parses = []
    real = ckpt.info.read_header
    monkeypatch.setattr(ckpt.info, "read_header", lambda p: parses.append(p) or real(p))
    nets = ckpt.load_networks(path)
    assert len(parses) == 1
    assert nets.info.has_discriminator and nets.info.model_config == tiny_model_config
    z, x = torch.randn(2, tiny_model_config.nz), torch.randn(2, 1, 32, 32)
    assert torch.equal(nets.generator(z), G(z)) and torch.equal(nets.discriminator(x), D(x))
    info = ckpt.read_info(path)  # one parse, then every loader and the listing from it
    assert ckpt.load_generator(info).config == tiny_model_config and info.summary() == ckpt.read_metadata(path)
    assert len(parses) == 3


def test_load_networks_of_a_generator_export_has_no_discriminator(tmp_path, tiny_model_config):
    path = ckpt.save_generator(tmp_path / "g.safetensors", Generator(tiny_model_config))
    nets = ckpt.load_networks(path)
    assert nets.discriminator is None and not nets.info.has_discriminator and not nets.generator.training


def test_training_checkpoint_holds_everything_to_resume(tiny_run):
    path = sorted((tiny_run / "checkpoints").glob("step_*.safetensors"))[-1]
    state = ckpt.load_training_state(path)
    assert state.step == 6 and state.model_config.ngf == 8
    assert state.fixed_noise.shape == (16, 16, 1, 1)
    assert {"noise", "cpu"} <= set(state.rng)
    assert len(state.optim_g["state"]) == len(list(Generator(state.model_config).parameters()))
    assert state.optim_d["param_groups"][0]["betas"] == [0.5, 0.999]
    assert ckpt.read_metadata(path)["step"] == 6


def test_atomic_write_keeps_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "g.safetensors"
    G = Generator(ModelConfig(ngf=8, ndf=8))
    ckpt.save_generator(target, G)
    before = target.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        ckpt.save_generator(target, Generator(ModelConfig(ngf=8, ndf=8)))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["g.safetensors"]  # no temporary left behind


def _good(tmp_path, tiny_model_config):
    return ckpt.save_generator(tmp_path / "good.safetensors", Generator(tiny_model_config))


def test_rejects_missing_and_truncated_files(tmp_path, tiny_model_config):
    with pytest.raises(ckpt.CheckpointError, match="does not exist"):
        ckpt.load_generator(tmp_path / "nope.safetensors")
    good = _good(tmp_path, tiny_model_config)
    data = good.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 1):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(ckpt.CheckpointError):
            ckpt.load_generator(bad)


def test_rejects_a_pickle_renamed_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps({"main.0.weight": Evil()}))
    with pytest.raises(ckpt.CheckpointError, match="safetensors"):
        ckpt.load_generator(bad)
    assert not marker.exists()


def test_rejects_oversized_header(tmp_path):
    bad = tmp_path / "huge.safetensors"
    bad.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    with pytest.raises(ckpt.CheckpointError, match="header"):
        ckpt.load_generator(bad)


def test_rejects_foreign_safetensors_and_lying_metadata(tmp_path, tiny_model_config):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, foreign)
    with pytest.raises(ckpt.CheckpointError, match="not written by DCGAN Studio"):
        ckpt.load_generator(foreign)

    G = Generator(tiny_model_config)
    liar = tmp_path / "liar.safetensors"
    meta = {
        "format": ckpt.FORMAT_GENERATOR,
        "format_version": "1",
        "model_config": json.dumps({**tiny_model_config.to_dict(), "ngf": 16}),
    }
    save_file({k: v.contiguous() for k, v in G.state_dict().items()}, liar, metadata=meta)
    with pytest.raises(ckpt.CheckpointError, match="wrong shapes"):
        ckpt.load_generator(liar)

    bad_cfg = tmp_path / "badcfg.safetensors"
    save_file(
        {k: v.contiguous() for k, v in G.state_dict().items()},
        bad_cfg,
        metadata={**meta, "model_config": json.dumps({"image_size": 48})},
    )
    with pytest.raises(ckpt.CheckpointError, match="invalid model_config"):
        ckpt.load_generator(bad_cfg)

    missing = tmp_path / "missing.safetensors"
    state = {k: v.contiguous() for k, v in G.state_dict().items() if not k.startswith("main.0")}
    save_file(state, missing, metadata={**meta, "model_config": tiny_model_config.to_json()})
    with pytest.raises(ckpt.CheckpointError, match="missing"):
        ckpt.load_generator(missing)
