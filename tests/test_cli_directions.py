"""``python -m dcgan_studio directions``: the directions file and one strip PNG per direction, as a user runs it."""

from __future__ import annotations

from PIL import Image
from support import TINY, cli

from dcgan_studio.directions import load_directions

SIDE, PAD, AMOUNTS, ROWS = TINY["image_size"], 2, 7, 4  # cli.directions: 7 amounts (-3..3), 4 samples per strip


def test_directions_writes_a_loadable_file_and_a_strip_per_direction(tiny_models_checkpoint, tmp_path):
    out = tmp_path / "dirs.safetensors"
    r = cli("directions", "--checkpoint", str(tiny_models_checkpoint), "--out", str(out), "--k", "3",
                "--samples", "256", "--labels")  # fmt: skip
    assert r.returncode == 0, r.stderr
    dirs = load_directions(out, expected_nz=TINY["nz"])
    assert dirs.names[:3] == ["PC 0", "PC 1", "PC 2"] and dirs.names[-1] == "thicker"
    strips = sorted(tmp_path.glob("dirs_*.png"))
    assert [p.name for p in strips[:3]] == ["dirs_00_pc_0.png", "dirs_01_pc_1.png", "dirs_02_pc_2.png"]
    assert strips[-1].name == f"dirs_{len(dirs) - 1:02d}_thicker.png" and len(strips) == len(dirs)
    for p in strips:
        image = Image.open(p)
        assert image.size == (AMOUNTS * (SIDE + PAD) + PAD, ROWS * (SIDE + PAD) + PAD)
        low, high = image.convert("L").getextrema()
        assert high - low > 0  # not blank
        assert str(p) in r.stdout
    assert f"{len(dirs)} directions, nz {TINY['nz']}" in r.stdout


def test_directions_refuses_bad_input_with_one_error_line(tiny_models_checkpoint, tmp_path):
    cases = [
        (["--checkpoint", str(tmp_path / "none.safetensors"), "--out", str(tmp_path / "d.safetensors")], "not exist"),
        (["--checkpoint", str(tiny_models_checkpoint), "--out", str(tmp_path / "d.png")], "--out must end in"),
        (["--checkpoint", str(tiny_models_checkpoint), "--out", str(tmp_path / "d.safetensors"), "--k", "0"], "--k"),
    ]
    for args, words in cases:
        r = cli("directions", *args)
        assert r.returncode == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], r.stderr
    assert not list(tmp_path.glob("d*"))
