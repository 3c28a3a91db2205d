"""The Studio's attack surface through its real endpoints: out-of-range numbers on every named endpoint, typed
paths, hostile zips and checkpoints, and what /gradio_api/file= and /monitoring serve from a server started by
launch.py. After each attack the server must still answer a normal call."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import socket
import struct
import zipfile
from pathlib import Path

import httpx
import pytest
from PIL import Image
from support import TINY_FORM

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from dcgan_studio.app import train_tab  # noqa: E402
from dcgan_studio.app.errors import StudioError  # noqa: E402
from dcgan_studio.app.settings import Limits  # noqa: E402
from dcgan_studio.app.visitors import LOCAL_VISITOR, safe_folder  # noqa: E402

LIMITS = Limits()  # the local Studio's limits (the running_studio fixture)

ROOT = Path(__file__).resolve().parents[1]
FORM = dict(TINY_FORM)
BIG = 10**12


@pytest.fixture(scope="module")
def client(running_studio):
    return Client(running_studio[1], verbose=False)


def still_serving(client, ckpt):
    *_, ids = client.predict(checkpoint=ckpt, seed=1, count=2, truncation=0.0, api_name="/sample")
    assert len(ids.split(",")) == 2


# ------------------------------------------------------------------------------------------------ numbers


def over(value, maximum) -> str:
    """Gradio's refusal of a number above a widget's maximum (checked before the handler runs)."""
    return rf"^Value {re.escape(str(value))} is greater than maximum value {re.escape(str(maximum))}\.$"


def under(value, minimum) -> str:
    return rf"^Value {re.escape(str(value))} is less than minimum value {re.escape(str(minimum))}\.$"


def not_a_choice(value, choices: list[str]) -> str:
    """Gradio's refusal of a value that is not one of a dropdown's or radio's choices."""
    return rf"^Value: {re.escape(str(value))} (\(type: <class '\w+'>\) )?is not in the list of choices: " + re.escape(
        str(choices)
    )


def out_of_range_calls(ckpt, sid):
    """(endpoint, kwargs, message) triples, each with one value outside what the local server allows and the
    refusal it must get (the local limits, written out: 256 samples, seeds up to 2**31 - 1, 48 steps, ...)."""
    sample = dict(checkpoint=ckpt, seed=0, count=2, truncation=0.0)
    interp = dict(checkpoint=ckpt, start_id="", end_id="", seed_start=0, seed_end=1, mode="linear", steps=4)
    arith = dict(checkpoint=ckpt, a_ids=sid, b_ids=sid, c_ids=sid, neighbours=2, noise_scale=0.1, seed=0)
    feats = dict(checkpoint=ckpt, sample_id="", seed=0, image=None)
    ablate = dict(checkpoint=ckpt, sample_id="", seed=0, layer="0", channels="0")
    max_seed = 2**31 - 1
    calls = []
    calls += [
        ("/sample", sample | bad, message)
        for bad, message in (
            (dict(count=BIG), over(BIG, 256)),
            (dict(count=-1), under(-1, 1)),
            (dict(seed=-1), under(-1, 0)),
            (dict(seed=2**63), over(2**63, max_seed)),
            (dict(truncation=1e9), over(1e9, 4.0)),
            (dict(truncation=0.01), r"^truncation must be between 0\.05 and 10\.0, got 0\.01$"),
        )
    ]
    calls += [
        ("/interpolate", interp | bad, message)
        for bad, message in (
            (dict(steps=BIG), over(BIG, 48)),
            (dict(steps=1), under(1, 2)),
            (dict(seed_start=-5), under(-5, 0)),
            (dict(mode="cubic"), not_a_choice("'cubic'", ["spherical (slerp)", "linear"])),
            (dict(start_id="x" * 100_000), r"^sample ids is too long \(100000 characters; at most 4096\)$"),
        )
    ]
    calls += [
        ("/arithmetic", arith | bad, message)
        for bad, message in (
            (dict(neighbours=BIG), over(BIG, 16)),
            (dict(noise_scale=1e6), over(1e6, 2.0)),
            (dict(seed=-1), under(-1, 0)),
            (dict(a_ids=",".join([sid] * 1000)), r"^sample ids is too long \(16999 characters; at most 4096\)$"),
        )
    ]
    calls += [("/features", feats | dict(seed=BIG), over(BIG, max_seed))]
    calls += [
        ("/ablate", ablate | bad, message)
        for bad, message in (
            (dict(layer=BIG), not_a_choice(BIG, ["0", "1", "2"])),
            (dict(layer=-1), not_a_choice(-1, ["0", "1", "2"])),
            (dict(channels="0-99999999"), r"^channels must look like '0-3, 7'; cannot read '0-99999999'$"),
            (dict(channels="5000"), r"^G layer 0 has 32 channels \(0-31\); channel 5000 does not exist$"),
            (dict(channels="1" * 10_000), r"^channels is too long \(10000 characters; at most 4096\)$"),
        )
    ]
    calls += [
        ("/train_start", FORM | bad, message)
        for bad, message in (
            (dict(image_size=4096), not_a_choice(4096, ["32", "64", "128"])),
            (dict(image_size=48), not_a_choice(48, ["32", "64", "128"])),
            (dict(channels=2), not_a_choice(2, ["1", "3"])),
            (dict(nz=BIG), over(BIG, 512)),
            (dict(ngf=BIG), over(BIG, 256)),
            (dict(ndf=0), under(0, 4)),
            (dict(batch_size=BIG), over(BIG, 1024)),
            (dict(batch_size=0), under(0, 1)),
            (dict(epochs=BIG), over(BIG, 10000)),
            (dict(max_steps=BIG), over(BIG, 1000000)),
            (dict(seed=-1), under(-1, 0)),
            (dict(lr=1e9), over(1e9, 0.1)),
            (dict(beta1=2.0), over(2.0, 0.999)),
            (dict(log_every=BIG), rf"^log every must be between 1 and 10000, got {BIG}$"),
            (dict(sample_every=-1), under(-1, 0)),
            (dict(dataset="../../etc"), not_a_choice("../../etc", ["digits", "photos", "zip upload", "folder path"])),
        )
    ]
    calls += [
        (
            "/train_resume_from",
            dict(checkpoint="/etc/passwd", epochs=1, max_steps=1),
            r"^pick a training checkpoint of a run \(runs/<run>/checkpoints/step_\*\.safetensors\)$",
        ),
        ("/project", dict(checkpoint=ckpt, image=None, steps=BIG, restarts=1, seed=0), over(BIG, 1000)),
        ("/project", dict(checkpoint=ckpt, image=None, steps=10, restarts=BIG, seed=0), over(BIG, 16)),
        # a path is never read: only user/name[@revision]
        ("/load_from_hub", dict(repo="../../etc/passwd"), r"'\.\./\.\./etc/passwd' is not a Hub repo id"),
    ]
    calls += [
        (endpoint, dict(checkpoint=ckpt, chosen=[]) | bad, message)
        for endpoint in ("/steer", "/steer_keep")
        for bad, message in (
            (dict(amount_0=BIG), over(BIG, 3.0)),
            (dict(amount_7=-BIG), under(-BIG, -3.0)),
            (dict(amount_3=3.5), over(3.5, 3.0)),
        )
    ]
    calls += [
        ("/runs_grids", dict(runs=[]) | bad, message)
        for bad, message in (
            (dict(step=BIG), over(BIG, 10**9)),  # before any comparison: the slider's bound at build time
            (dict(step=-1), under(-1, 0)),
            (dict(step=1, runs=["a"] * 5), r"^5 runs given: compare at most 4 at a time$"),
        )
    ]
    return calls


@pytest.mark.slow  # a sweep of every endpoint
def test_every_endpoint_refuses_out_of_range_numbers(client, running_studio):
    demo, _, _ = running_studio
    ckpt = demo.studio.models.default(LOCAL_VISITOR)
    *_, ids = client.predict(checkpoint=ckpt, seed=0, count=2, truncation=0.0, api_name="/sample")
    calls = out_of_range_calls(ckpt, ids.split(",")[0])
    covered = {name for name, _, _ in calls}
    named = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    numeric = named - {"/train_pause", "/train_resume", "/train_stop", "/train_status", "/upload_checkpoint"}
    # inputs that are only a checkpoint choice or a file (checked by Gradio's choices and the file tests)
    numeric -= {"/directions", "/directions_save", "/directions_load"}
    numeric -= {"/runs_list", "/runs_compare"}  # no input, or only run names (tests/test_runs_tab.py)
    assert numeric - {"/evaluate"} <= covered, f"endpoints without an out-of-range case: {numeric - covered}"
    for name, kwargs, message in calls:
        with pytest.raises(AppError, match=message):
            client.predict(**kwargs, api_name=name)
        assert demo.studio.jobs.current(LOCAL_VISITOR) is None or not demo.studio.jobs.active(LOCAL_VISITOR)
    still_serving(client, ckpt)


# ------------------------------------------------------------------------------------------------ typed paths


def test_typed_folder_paths_stay_inside_the_allowed_folders(tmp_path):
    data = tmp_path / "data"
    (data / "faces").mkdir(parents=True)
    outside = tmp_path / "secret"
    outside.mkdir()
    (data / "link").symlink_to(outside)
    assert safe_folder("faces", [data]) == (data / "faces").resolve()
    assert safe_folder(str(data / "faces"), [data]) == (data / "faces").resolve()
    dots = "'..' and control characters are not allowed in a folder path"
    outside_msg = f"is outside the folders datasets may come from \\({re.escape(str(data))}\\)$"
    for bad, error, message in (
        ("../secret", StudioError, re.escape(f"'../secret': {dots}")),
        (str(outside), StudioError, re.escape(repr(str(outside))) + " " + outside_msg),
        ("/etc", StudioError, "^'/etc' " + outside_msg),
        ("link", StudioError, "^'link' " + outside_msg),  # a symlink inside that points outside
        ("faces/../../secret", StudioError, re.escape(f"'faces/../../secret': {dots}")),
        ("", StudioError, "^type a folder path$"),
        ("faces\x00", StudioError, re.escape(f"'faces\\x00': {dots}")),
        ("x" * 10_000, ValueError, r"^folder is too long \(10000 characters; at most 4096\)$"),
        (5, ValueError, "^folder must be text$"),
    ):
        with pytest.raises(error, match=message):
            safe_folder(bad, [data])


def test_folder_and_zip_paths_through_the_api(client, running_studio, tmp_path):
    demo, url, root = running_studio
    allowed = re.escape(str(root / "data"))
    for folder, message in (
        ("/etc", f"^'/etc' is outside the folders datasets may come from \\({allowed}\\)$"),
        ("../../..", r"^'\.\./\.\./\.\.': '\.\.' and control characters are not allowed in a folder path$"),
        (str(ROOT), f"^{re.escape(repr(str(ROOT)))} is outside the folders datasets may come from \\({allowed}\\)$"),
        ("data/../../", r"^'data/\.\./\.\./': '\.\.' and control characters are not allowed"),
    ):
        with pytest.raises(AppError, match=message):
            client.predict(**(FORM | dict(dataset=train_tab.FOLDER_CHOICE, folder=folder)), api_name="/train_start")
    # a forged file payload naming a server path instead of an upload: every other input is the documented default
    # (a call short of inputs would be refused for that alone), so only the path can be what Gradio refuses
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/train_start"]["parameters"]
    defaults = {p["parameter_name"]: p["parameter_default"] for p in params}
    for path in ("/etc/passwd", str(ROOT / "checkpoints" / "digits32.safetensors")):
        form = (
            defaults
            | FORM
            | dict(dataset=train_tab.ZIP_CHOICE, zip_file={"path": path, "meta": {"_type": "gradio.FileData"}})
        )
        event, text = raw_call(url, "train_start", [form[p["parameter_name"]] for p in params])
        assert event == "error", text
        assert f"Cannot move {path} to the gradio cache dir because it was not uploaded by a user." in text, text
    assert not demo.studio.jobs.active(LOCAL_VISITOR)
    still_serving(client, demo.studio.models.default(LOCAL_VISITOR))


def raw_call(url: str, api_name: str, data: list) -> tuple[str, str]:
    """POST /gradio_api/call/<api_name> by hand (no client-side file handling): (last event, its data)."""
    r = httpx.post(f"{url}gradio_api/call/{api_name}", json={"data": data}, timeout=30)
    if r.status_code != 200:
        return "error", r.text
    event_id = r.json()["event_id"]
    text = httpx.get(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=60).text
    events = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("event:")]
    return (events[-1] if events else "none"), text


# ------------------------------------------------------------------------------------------------ hostile uploads


def png_bytes(value=128, size=(20, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, value).save(buf, "PNG")
    return buf.getvalue()


def test_hostile_zip_through_train_start(client, running_studio, tmp_path):
    demo, _, _ = running_studio
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(3):
            z.writestr(f"good/{i}.png", png_bytes(40 * i))
        z.writestr("../escape.png", png_bytes())
        z.writestr("/abs/evil.png", png_bytes())
        z.writestr("bomb.png", b"\x00" * (80 * 1024**2))  # 80 MB of zeros, ~80 KB compressed
        z.writestr("broken.png", png_bytes()[:40])
        z.writestr("inner.zip", b"PK\x03\x04")
        z.writestr("notes.txt", b"hello")
    msg = client.predict(
        **(FORM | dict(dataset=train_tab.ZIP_CHOICE, zip_file=handle_file(str(archive)), max_steps=2)),
        api_name="/train_start",
    )
    assert msg.startswith("started") and "on 3 images" in msg
    for rule in ("[path]", "[nested-archive]", "[not-an-image]", "[corrupt-image]"):
        assert rule in msg, msg
    # 80 MiB uncompressed is over the local 64 MiB per member: refused by its size, before any ratio is looked at
    assert (
        "- `bomb.png`: the entry is too large uncompressed: 83,886,080 bytes, the limit is 67,108,864 [member-size]"
        in msg
    )
    assert "escape.png" in msg and not (tmp_path.parent / "escape.png").exists() and not Path("/abs/evil.png").exists()
    assert demo.studio.jobs.current(LOCAL_VISITOR).join(60)

    only_bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(only_bad, "w") as z:
        z.writestr("../../x.png", png_bytes())
        z.writestr("y.txt", b"no")
    with pytest.raises(AppError, match=r"no usable images.*\[path\]"):
        client.predict(
            **(FORM | dict(dataset=train_tab.ZIP_CHOICE, zip_file=handle_file(str(only_bad)))), api_name="/train_start"
        )
    not_zip = tmp_path / "fake.zip"
    not_zip.write_bytes(b"this is not a zip")
    with pytest.raises(AppError, match=r"fake\.zip is not a zip archive"):
        client.predict(
            **(FORM | dict(dataset=train_tab.ZIP_CHOICE, zip_file=handle_file(str(not_zip)))), api_name="/train_start"
        )
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(AppError, match=r"no usable images in empty\.zip \(the archive is empty\)"):
        client.predict(
            **(FORM | dict(dataset=train_tab.ZIP_CHOICE, zip_file=handle_file(str(empty)))), api_name="/train_start"
        )
    still_serving(client, demo.studio.models.default(LOCAL_VISITOR))


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = Path("/tmp/dcgan_studio_pwned_marker")


def hostile_checkpoints(good: Path, tmp_path: Path) -> dict[str, Path]:
    out = {}
    raw = good.read_bytes()
    out["pickle.safetensors"] = tmp_path / "pickle.safetensors"
    out["pickle.safetensors"].write_bytes(pickle.dumps({"generator": Exploit()}))
    out["truncated.safetensors"] = tmp_path / "truncated.safetensors"
    out["truncated.safetensors"].write_bytes(raw[: len(raw) // 2])
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header["__metadata__"]
    key = next(k for k in meta if "model_config" in k)
    cfg = json.loads(meta[key])
    cfg["ngf"] = 512  # the tensors say 8
    meta[key] = json.dumps(cfg)
    body = json.dumps(header).encode()
    out["lying.safetensors"] = tmp_path / "lying.safetensors"
    out["lying.safetensors"].write_bytes(struct.pack("<Q", len(body)) + body + raw[8 + n :])
    out["huge_header.safetensors"] = tmp_path / "huge_header.safetensors"
    out["huge_header.safetensors"].write_bytes(struct.pack("<Q", 2**40) + b"{}")
    out["empty.safetensors"] = tmp_path / "empty.safetensors"
    out["empty.safetensors"].write_bytes(b"")
    out["notes.txt"] = tmp_path / "notes.txt"
    out["notes.txt"].write_text("hello")
    return out


def test_hostile_checkpoints_through_upload(client, running_studio, tmp_path):
    demo, _, _ = running_studio
    good = Path(demo.studio.models.default(LOCAL_VISITOR))
    MARKER.unlink(missing_ok=True)
    not_safetensors = r"is not a valid safetensors file \(header length {} does not fit a {}-byte file\); it may be "
    refusals = {  # what each upload is told (the file's name first, then why)
        "pickle.safetensors": "^pickle.safetensors: pickle.safetensors "
        + not_safetensors.format(r"\d+", len(pickle.dumps({"generator": Exploit()})))
        + r"truncated, or a pickle/\.pth file renamed",
        "truncated.safetensors": r"^truncated\.safetensors: truncated\.safetensors holds \d+ bytes of tensor data but "
        r"its header describes \d+; it is truncated or damaged",
        "lying.safetensors": r"^lying\.safetensors: lying\.safetensors: the generator weights do not match the "
        r"architecture in its metadata \(wrong shapes main\.0\.weight: expected \(16, 2048, 4, 4\), "
        r"found \(16, 32, 4, 4\)",
        "huge_header.safetensors": "^huge_header.safetensors: huge_header.safetensors "
        + not_safetensors.format(2**40, 10),
        "empty.safetensors": r"^empty\.safetensors: empty\.safetensors is not a safetensors file \(only 0 bytes\)$",
        "notes.txt": r"^Invalid file type\. Please upload a file that is one of these formats: \['\.safetensors'\]$",
    }
    for name, path in hostile_checkpoints(good, tmp_path).items():
        with pytest.raises(AppError, match=refusals[name]):
            client.predict(path=handle_file(str(path)), api_name="/upload_checkpoint")
        assert not MARKER.exists(), f"{name}: code ran"
    assert all("upload:" not in label for label, _ in demo.studio.models.choices(LOCAL_VISITOR))
    # a good upload is accepted and usable
    out = client.predict(path=handle_file(str(good)), api_name="/upload_checkpoint")
    value = out["value"] if isinstance(out, dict) else out  # the dropdown's update: new choices and value
    assert value.endswith(".safetensors") and "upload: " + good.name in [
        label for label, _ in demo.studio.models.choices(LOCAL_VISITOR)
    ]
    still_serving(client, value)


def test_hostile_images_through_project(client, running_studio, tmp_path):
    demo, _, _ = running_studio
    ckpt = demo.studio.models.default(LOCAL_VISITOR)
    bomb = tmp_path / "bomb.png"
    Image.new("1", (5000, 5000)).save(bomb)  # 25 Mpx, a few KB on disk
    broken = tmp_path / "broken.png"
    noisy = io.BytesIO()
    Image.frombytes("L", (64, 64), os.urandom(64 * 64)).save(noisy, "PNG")
    broken.write_bytes(noisy.getvalue()[: len(noisy.getvalue()) // 2])  # header fine, pixel data cut off
    for path, pattern in (
        (bomb, r"^the image is too large \(5000x5000; at most 16777216 pixels\)$"),
        (broken, r"^the uploaded image is damaged \(it cannot be decoded\)$"),
    ):
        with pytest.raises(AppError, match=pattern):
            client.predict(
                checkpoint=ckpt, image=handle_file(str(path)), steps=10, restarts=1, seed=0, api_name="/project"
            )
    still_serving(client, ckpt)


# ------------------------------------------------------------------------------------------------ the server's surface


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def launched():
    """The Studio exactly as ``python launch.py`` starts it (shipped checkpoint, runs/ of the repository)."""
    import launch

    demo = launch.main(["--host", "127.0.0.1", "--port", str(free_port())], block=False)
    try:
        yield demo, demo.local_url
    finally:
        demo.close()


def test_file_route_serves_only_the_cache(launched, tmp_path):
    demo, url = launched
    probe_dir = ROOT / "runs" / "_security_probe"
    probe_dir.mkdir(parents=True, exist_ok=True)
    probe = probe_dir / "checkpoints.safetensors"
    probe.write_bytes(b"secret run file")
    try:
        targets = [
            "checkpoints/digits32.safetensors",
            str(ROOT / "checkpoints" / "digits32.safetensors"),
            str(probe),
            "runs/_security_probe/checkpoints.safetensors",
            str(probe_dir),
            "launch.py",
            str(ROOT / "README.md"),
            str(ROOT / "dcgan_studio" / "app" / "settings.py"),
            "/etc/passwd",
            "../../../../etc/passwd",
            "%2e%2e/%2e%2e/etc/passwd",
            "/tmp/gradio/../../etc/passwd",
            str(Path.home() / ".bashrc"),
        ]
        with httpx.Client(timeout=10) as http:
            for target in targets:
                r = http.get(f"{url}gradio_api/file={target}")
                assert r.status_code in (403, 404), f"{target}: {r.status_code}"
                assert b"secret run file" not in r.content and b"root:" not in r.content
            for path in ("monitoring", "monitoring/summary", "gradio_api/monitoring"):
                assert http.get(f"{url}{path}").status_code in (403, 404), path
            # an upload over the limit is refused before it is stored
            size = LIMITS.max_upload_mb * 1024**2 + 1024
            r = http.post(f"{url}gradio_api/upload", files={"files": ("big.zip", b"\x00" * size)})
            assert r.status_code == 413
            # a small upload works, and another visitor cannot find it by guessing the path
            r = http.post(f"{url}gradio_api/upload", files={"files": ("mine.png", png_bytes(7))})
            assert r.status_code == 200
            mine = r.json()[0]
            assert http.get(f"{url}gradio_api/file={mine}").status_code == 200  # its uploader may read it back
            import hashlib

            guess = Path(mine).parent.parent / hashlib.sha256(png_bytes(7)).hexdigest() / "mine.png"
            assert str(guess) != mine  # the folder is a seeded hash, not the content's plain hash
            assert http.get(f"{url}gradio_api/file={guess}").status_code == 403
    finally:
        probe.unlink(missing_ok=True)
        probe_dir.rmdir()
    opts = __import__("dcgan_studio.app", fromlist=["launch_options"]).launch_options()
    assert (
        opts["enable_monitoring"] is False
        and opts["allowed_paths"] == []
        and opts["max_file_size"] == LIMITS.max_file_size
    )
