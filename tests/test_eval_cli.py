"""``python -m dcgan_studio eval`` end to end on a tiny checkpoint: report.json, report.md and the plots."""

from __future__ import annotations

import json

import pytest
import torch
from support import cli


@pytest.mark.slow  # the whole report on a trained run (~10 s)
def test_eval_cli_writes_json_markdown_and_plots(tiny_run, tmp_path):
    ckpt = sorted((tiny_run / "checkpoints").glob("step_*.safetensors"))[-1]
    out = tmp_path / "eval"
    res = cli(
        "eval",
        "--checkpoint",
        str(ckpt),
        "--dataset",
        "digits",
        "--out",
        str(out),
        "--labels-per-class",
        "5",
        "--probe-repeats",
        "1",
    )
    assert res.returncode == 0, res.stderr
    report = json.loads((out / "report.json").read_text())
    clf = report["classifier"]
    assert clf["available"] and clf["frechet"]["held_out_vs_train"] < clf["frechet"]["generated_vs_train"]
    assert clf["frechet"]["held_out_vs_train"] < clf["frechet"]["noise_vs_train"]
    assert report["discriminator"]["available"] and 0 <= report["discriminator"]["accuracy"] <= 1
    assert set(report["linear_probe"]["accuracy"]) == {
        "D features + linear SVM",
        "random-weight D + linear SVM",
        "pixels + linear SVM",
        "pixels + 1-NN",
    }
    assert report["prdc"]["held_out"]["precision"] > 0.8
    assert report["memorisation"]["held_out"]["median"] > 0
    assert report["fid_is"]["available"] is False and "Inception" in report["fid_is"]["message"]
    swd = report["swd"]  # a tiny run's samples are further from the training digits than held-out digits are
    assert set(swd["generated"]["per_level"]) == {"32", "16"}
    assert swd["held_out"]["average"] < swd["generated"]["average"]
    assert swd["training"]["average"] < swd["generated"]["average"]  # the floor: other training digits
    assert 0 < report["msssim"]["held_out"]["mean"] < 1 and 0 < report["msssim"]["training"]["mean"] < 1
    md = (out / "report.md").read_text()
    assert "other training images (floor)" in md and "training images 0." in md
    assert "real-vs-real" in md and "Linear probe" in md and "Memorisation" in md and "SWD x 10^3" in md
    for png in ("samples.png", "class_histogram.png", "nn_distances.png", "memorisation_pairs.png", "linear_probe.png"):
        assert (out / png).stat().st_size > 500, png
    assert "classifier Fréchet distance" in res.stdout


def test_eval_on_a_user_folder_skips_the_classifier_and_says_why(tiny_run, tmp_path):
    from dcgan_studio.data import load_digits
    from dcgan_studio.metrics.evaluate import evaluate
    from dcgan_studio.plots import to_pil

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, img in enumerate(load_digits(32, 1).images[:60]):
        to_pil(img).save(folder / f"{i:03d}.png")
    ckpt = sorted((tiny_run / "checkpoints").glob("step_*.safetensors"))[-1]
    report = evaluate(ckpt, "folder", folder, cifar10_root=None)
    assert report["classifier"]["meaningful"] is False and "would not mean anything" in report["classifier"]["message"]
    assert "discriminator features" in report["prdc"]["feature_space"]
    assert report["linear_probe"]["available"] is False  # no labels in a folder
    assert report["discriminator"]["available"] and report["memorisation"]["generated"]["median"] > 0
    # the network-free figures exist for any dataset, each beside its real-vs-real reference
    assert report["swd"]["available"] and report["swd"]["held_out"]["average"] > 0
    assert report["msssim"]["available"] and 0 < report["msssim"]["generated"]["mean"] <= 1


def test_one_image_generator_is_flagged_by_evaluate(tmp_path):
    from dcgan_studio.checkpoint import save_generator
    from dcgan_studio.config import ModelConfig
    from dcgan_studio.metrics.evaluate import evaluate
    from dcgan_studio.models import Generator

    G = Generator(ModelConfig(image_size=32, channels=1, nz=8, ngf=4, ndf=4))
    with torch.no_grad():
        G.main[-2].weight.zero_()  # the output layer ignores z: every sample is the same grey image
    path = save_generator(tmp_path / "g.safetensors", G)
    report = evaluate(path, "digits", run_probe=False, n_generated=100)
    assert report["diversity"]["collapsed"] and report["diversity"]["generated"] < 1e-6
    # one image: no diversity
    assert report["msssim"]["generated"]["mean"] > 0.99 > report["msssim"]["held_out"]["mean"]
    assert report["classifier"]["coverage"]["generated"]["present"] == 1
    assert report["discriminator"]["available"] is False and "generator-only" in report["discriminator"]["message"]


def test_eval_cli_bad_input_is_one_line(tmp_path):
    res = cli("eval", "--checkpoint", str(tmp_path / "nope.safetensors"), "--out", str(tmp_path / "e"))
    assert res.returncode == 2 and res.stderr.startswith("error:") and len(res.stderr.strip().splitlines()) == 1
