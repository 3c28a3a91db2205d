"""Hostile checkpoints: every bad file is one clear CheckpointError, no code runs, nothing huge is allocated, and
the process keeps working afterwards. (tests/test_checkpoint.py has the basic refusals; these go further.)"""

import json
import pickle
import struct
import time
import zipfile

import pytest
import torch
from safetensors.torch import save_file
from support import TINY

from dcgan_studio import checkpoint as ckpt
from dcgan_studio.config import ModelConfig
from dcgan_studio.models import Generator
from dcgan_studio.train import Trainer

LOADERS = (ckpt.load_generator, ckpt.load_discriminator, ckpt.load_training_state, ckpt.read_metadata)


def _train_file(tiny_run):
    return sorted((tiny_run / "checkpoints").glob("step_*.safetensors"))[-1]


def _mutated(tmp_path, tiny_run, name, edit_tensors=None, edit_meta=None):
    """A copy of the tiny run's training checkpoint with its tensors and/or metadata edited."""
    meta, tensors = ckpt.read_file(_train_file(tiny_run))
    if edit_tensors:
        edit_tensors(tensors)
    if edit_meta:
        edit_meta(meta)
    path = tmp_path / name
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=meta)
    return path


def _raw_safetensors(path, header: dict, data: bytes = b"", header_bytes: bytes | None = None):
    text = header_bytes if header_bytes is not None else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def _refused(path, match=None, loaders=LOADERS):
    for load in loaders:
        with pytest.raises(ckpt.CheckpointError, match=match) as info:
            load(path)
        assert path.name in str(info.value) or "does not exist" in str(info.value)


def test_truncated_and_padded_files_of_every_format(tmp_path, tiny_run):
    G = Generator(ModelConfig(**TINY))
    files = [
        _train_file(tiny_run),
        ckpt.save_generator(tmp_path / "g.safetensors", G),
        ckpt.save_models(
            tmp_path / "m.safetensors",
            G,
            __import__("dcgan_studio.models", fromlist=["x"]).Discriminator(ModelConfig(**TINY)),
        ),
    ]
    for good in files:
        data = good.read_bytes()
        header_end = 8 + struct.unpack("<Q", data[:8])[0]
        for cut in (
            0,
            7,
            8,
            20,
            header_end - 1,
            header_end,
            header_end + 1,
            (header_end + len(data)) // 2,
            len(data) - 1,
        ):
            bad = tmp_path / f"cut_{cut}_{good.name}"
            bad.write_bytes(data[:cut])
            _refused(bad)
        assert ckpt.verify_file(tmp_path / f"cut_{len(data) - 1}_{good.name}") is not None
        padded = tmp_path / f"padded_{good.name}"
        padded.write_bytes(data + b"\0" * 64)
        _refused(padded, "truncated or damaged")
        assert ckpt.verify_file(good) is None


def test_pickles_and_torch_zips_renamed_run_no_code(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    plain = tmp_path / "evil.safetensors"
    plain.write_bytes(pickle.dumps({"main.0.weight": Evil()}, protocol=2))
    torch_zip = tmp_path / "evil_torch.safetensors"
    torch.save({"main.0.weight": torch.zeros(2)}, torch_zip)  # the zip-based .pth format
    assert zipfile.is_zipfile(torch_zip)
    for bad in (plain, torch_zip):
        _refused(bad, "safetensors")
    assert not marker.exists()
    # import-pth loads with weights_only=True: the pickle's code does not run either
    with pytest.raises(ckpt.CheckpointError, match="weights_only"):
        ckpt.import_pth(plain, tmp_path / "out.safetensors")
    assert not marker.exists() and not (tmp_path / "out.safetensors").exists()


def test_malformed_headers(tmp_path):
    cases = {
        "not_json": (None, b"{not json" + b" " * 10),
        "deep_json": (None, b"[" * 100_000 + b"]" * 100_000),
        "list": (None, b"[1, 2]"),
        "bad_meta": ({"__metadata__": {"format": 5}}, None),
        "bad_entry": ({"w": {"dtype": "F32", "shape": "big", "data_offsets": [0, 4]}}, None),
        "bad_dtype": ({"w": {"dtype": "PICKLE", "shape": [1], "data_offsets": [0, 4]}}, None),
        "negative_shape": ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, None),
        "float_shape": ({"w": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, None),
        "huge_shape": ({"w": {"dtype": "F32", "shape": [2**20, 2**20], "data_offsets": [0, 4]}}, None),
        "overflow_shape": ({"w": {"dtype": "F32", "shape": [2**39] * 8, "data_offsets": [0, 4]}}, None),
        "overlap": (
            {
                "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
            },
            None,
        ),
        "offsets_past_end": ({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}, None),
    }
    for name, (header, raw) in cases.items():
        path = _raw_safetensors(tmp_path / f"{name}.safetensors", header, b"\0" * 4, raw)
        _refused(path)


def test_huge_architecture_in_the_metadata_is_refused_before_allocating_it(tmp_path):
    G = Generator(ModelConfig(**TINY))
    lie = {**TINY, "image_size": 128, "ngf": 1024, "ndf": 1024, "nz": 1024}  # ~3 G parameters if it were built
    meta = {"format": ckpt.FORMAT_GENERATOR, "format_version": "1", "model_config": json.dumps(lie)}
    path = tmp_path / "liar.safetensors"
    save_file({k: v.contiguous() for k, v in G.state_dict().items()}, path, metadata=meta)
    t0 = time.perf_counter()
    with pytest.raises(ckpt.CheckpointError, match="invalid model_config|wrong shapes|missing"):
        ckpt.load_generator(path)
    assert time.perf_counter() - t0 < 5
    for bad_cfg in (
        {**TINY, "nz": "16"},
        {**TINY, "nz": 16.0},
        {**TINY, "channels": True},
        {**TINY, "image_size": 48},
        {**TINY, "ngf": 10**30},
        ["not", "a", "dict"],
    ):
        meta["model_config"] = json.dumps(bad_cfg)
        save_file({k: v.contiguous() for k, v in G.state_dict().items()}, path, metadata=meta)
        with pytest.raises(ckpt.CheckpointError, match="invalid model_config"):
            ckpt.load_generator(path)


def test_wrong_dtypes_are_refused(tmp_path):
    G = Generator(ModelConfig(**TINY))
    meta = {"format": ckpt.FORMAT_GENERATOR, "format_version": "1", "model_config": json.dumps(TINY)}
    for dtype in (torch.int32, torch.float64, torch.float16, torch.uint8):
        state = {k: v.contiguous() for k, v in G.state_dict().items()}
        state["main.0.weight"] = state["main.0.weight"].to(dtype)
        path = tmp_path / f"{dtype}.safetensors"
        save_file(state, path, metadata=meta)
        with pytest.raises(ckpt.CheckpointError, match=r"wrong dtypes main\.0\.weight: expected F32"):
            ckpt.load_generator(path)
    state = {k: v.contiguous() for k, v in G.state_dict().items()}
    state["main.1.num_batches_tracked"] = state["main.1.num_batches_tracked"].float()
    save_file(state, tmp_path / "nbt.safetensors", metadata=meta)
    with pytest.raises(ckpt.CheckpointError, match="expected I64"):
        ckpt.load_generator(tmp_path / "nbt.safetensors")


def test_nan_and_inf_weights_are_refused(tmp_path, tiny_run):
    G = Generator(ModelConfig(**TINY))
    with torch.no_grad():
        G.main[0].weight[0, 0, 0, 0] = float("nan")
    path = ckpt.save_generator(tmp_path / "nan.safetensors", G)
    with pytest.raises(ckpt.CheckpointError, match=r"NaN/inf values in \['main.0.weight'\].*earlier checkpoint"):
        ckpt.load_generator(path)

    def inf_moment(t):
        t["optim.D.0.exp_avg_sq"][0] = float("inf")

    bad = _mutated(tmp_path, tiny_run, "inf_adam.safetensors", inf_moment)
    with pytest.raises(ckpt.CheckpointError, match="optim.D.0.exp_avg_sq"):
        ckpt.load_training_state(bad)
    ckpt.load_generator(bad)  # G itself is fine: sampling from this file still works


@pytest.mark.parametrize(
    "case",
    [
        "opt_shape",
        "opt_missing",
        "opt_extra_index",
        "opt_bad_key",
        "rng_cpu_length",
        "rng_dtype",
        "fixed_noise_shape",
        "fixed_noise_huge",
        "extra_tensor",
        "d_shape",
    ],
)
def test_training_checkpoints_with_bad_state_are_refused(tmp_path, tiny_run, case):
    def edit(t):
        if case == "opt_shape":
            t["optim.G.0.exp_avg"] = torch.zeros(3, 3)
        elif case == "opt_missing":
            del t["optim.G.1.exp_avg_sq"]
        elif case == "opt_extra_index":
            t["optim.G.99.exp_avg"] = torch.zeros(1)
        elif case == "opt_bad_key":
            t["optim.G.x"] = torch.zeros(1)
        elif case == "rng_cpu_length":
            t["rng.cpu"] = t["rng.cpu"][:100].clone()
        elif case == "rng_dtype":
            t["rng.noise"] = t["rng.noise"].float()
        elif case == "fixed_noise_shape":
            t["fixed_noise"] = torch.zeros(4, 7, 1, 1)
        elif case == "fixed_noise_huge":
            t["fixed_noise"] = torch.zeros(5000, TINY["nz"], 1, 1)
        elif case == "extra_tensor":
            t["payload"] = torch.zeros(10)
        elif case == "d_shape":
            t["D.main.0.weight"] = torch.zeros(1)

    bad = _mutated(tmp_path, tiny_run, f"{case}.safetensors", edit)
    with pytest.raises(ckpt.CheckpointError, match="training-state weights do not match"):
        ckpt.load_training_state(bad)
    with pytest.raises(ckpt.CheckpointError):
        Trainer(
            ModelConfig(**TINY),
            __import__("dcgan_studio.config", fromlist=["x"]).TrainConfig(device="cpu"),
            resume_from=bad,
        )


@pytest.mark.parametrize(
    "key,value",
    [
        ("step", "-5"),
        ("step", "1e9"),
        ("epoch", "x"),
        ("train_config", "{nope"),
        ("train_config", json.dumps({"batch_size": 0})),
        ("optim_g_groups", "[]"),
        ("optim_g_groups", "not json"),
        ("optim_d_groups", "lr:nan"),
        ("optim_d_groups", "amsgrad"),
        ("optim_d_groups", "params"),
        ("optim_g_groups", "betas"),
    ],
)
def test_lying_training_metadata_is_refused(tmp_path, tiny_run, key, value):
    def edit(meta):
        if key.startswith("optim") and value in ("lr:nan", "amsgrad", "params", "betas"):
            groups = json.loads(meta[key])
            if value == "lr:nan":
                groups[0]["lr"] = float("nan")
            elif value == "amsgrad":
                groups[0]["amsgrad"] = True
            elif value == "params":
                groups[0]["params"] = groups[0]["params"][:-1]
            else:
                groups[0]["betas"] = [0.5, 1.5]
            meta[key] = json.dumps(groups)
        else:
            meta[key] = value

    bad = _mutated(tmp_path, tiny_run, "meta.safetensors", edit_meta=edit)
    with pytest.raises(ckpt.CheckpointError, match="meta.safetensors"):
        ckpt.load_training_state(bad)


def test_the_process_keeps_working_after_many_bad_files(tmp_path, tiny_run):
    good = tiny_run / "generator.safetensors"
    z = torch.randn(2, TINY["nz"])
    expected = ckpt.load_generator(good)(z)
    bad_files = []
    data = _train_file(tiny_run).read_bytes()
    for i in range(30):
        bad = tmp_path / f"bad{i}.safetensors"
        bad.write_bytes(data[: (i + 1) * len(data) // 32] if i % 3 else pickle.dumps(i))
        bad_files.append(bad)
    for _round in range(2):
        for bad in bad_files:
            for load in LOADERS:
                with pytest.raises(ckpt.CheckpointError):
                    load(bad)
        assert torch.equal(ckpt.load_generator(good)(z), expected)
        assert ckpt.load_training_state(_train_file(tiny_run)).step == 6


def test_metadata_listing_reads_the_header_only(tmp_path, tiny_run, monkeypatch):
    def no_tensors(*a, **k):
        raise AssertionError("read_metadata must not load tensors")

    monkeypatch.setattr(ckpt.io, "safe_open", no_tensors)  # the one place tensors are read
    info = ckpt.read_metadata(_train_file(tiny_run))
    assert info["step"] == 6 and info["train_config"]["batch_size"] == 64
