"""Every named endpoint of the launched Studio, called with gradio_client as a script would."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
from PIL import Image
from support import TINY_FORM

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from dcgan_studio.app.visitors import LOCAL_VISITOR  # noqa: E402

ENDPOINTS = {
    "/sample",
    "/interpolate",
    "/arithmetic",
    "/project",
    "/features",
    "/ablate",
    "/train_start",
    "/train_pause",
    "/train_resume",
    "/train_stop",
    "/train_resume_from",
    "/train_status",
    "/runs_list",
    "/runs_compare",
    "/runs_grids",
}


@pytest.fixture(scope="module")
def client(running_studio):
    _, url, _ = running_studio
    return Client(url, verbose=False)


def test_named_endpoints_are_listed(client):
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert ENDPOINTS <= set(named)


def test_sample_interpolate_arithmetic(client, running_studio):
    demo, _, _ = running_studio
    ckpt = demo.studio.models.default(LOCAL_VISITOR)
    grid, files, ids = client.predict(checkpoint=ckpt, seed=4, count=12, truncation=0.0, api_name="/sample")
    ids = ids.split(",")
    assert len(ids) == 12 and Image.open(grid).size[0] >= 256
    assert sorted(p.rsplit(".", 1)[-1] for p in files) == ["png", "safetensors"]

    strip, gif, caption = client.predict(
        checkpoint=ckpt,
        start_id=ids[0],
        end_id=ids[1],
        seed_start=0,
        seed_end=0,
        mode="linear",
        steps=6,
        api_name="/interpolate",
    )
    assert Image.open(strip).size[0] > 6 * 32 and Image.open(gif).is_animated and "6 steps" in caption
    strip, _, caption = client.predict(
        checkpoint=ckpt,
        start_id="",
        end_id="",
        seed_start=1,
        seed_end=2,
        mode="spherical (slerp)",
        steps=4,
        api_name="/interpolate",
    )
    assert "seed 1" in caption

    result, row = client.predict(
        checkpoint=ckpt,
        a_ids=",".join(ids[0:3]),
        b_ids=ids[3],
        c_ids=",".join(ids[4:6]),
        neighbours=6,
        noise_scale=0.2,
        seed=0,
        api_name="/arithmetic",
    )
    assert Image.open(result).size[0] >= 256 and Image.open(row).size[0] > Image.open(row).size[1]
    # ids the server never made are refused
    with pytest.raises(AppError, match="only samples this server made"):
        client.predict(
            checkpoint=ckpt,
            a_ids="0123456789abcdef",
            b_ids=ids[3],
            c_ids=ids[4],
            neighbours=2,
            noise_scale=0.2,
            seed=0,
            api_name="/arithmetic",
        )
    with pytest.raises(AppError, match="not one of the checkpoints"):
        client.predict(checkpoint="/etc/passwd", seed=0, count=2, truncation=0.0, api_name="/sample")
    with pytest.raises(AppError, match="maximum|count"):  # the slider bound, checked server-side
        client.predict(checkpoint=ckpt, seed=0, count=100000, truncation=0.0, api_name="/sample")


def test_project_features_ablate(client, running_studio, tmp_path):
    demo, _, _ = running_studio
    ckpt = demo.studio.models.default(LOCAL_VISITOR)
    img = tmp_path / "mine.png"
    Image.new("L", (40, 40), 30).save(img)
    target, recon, info, sid = client.predict(
        checkpoint=ckpt, image=handle_file(str(img)), steps=10, restarts=2, seed=0, api_name="/project"
    )
    assert "MSE" in info and len(sid) == 16 and Image.open(recon).size[0] >= 256

    caption, drawn, filters, g_maps, d_maps = client.predict(
        checkpoint=ckpt, sample_id=sid, seed=0, image=None, api_name="/features"
    )
    assert "projected" in caption and len(g_maps) == 4 and len(d_maps) == 3
    assert Image.open(filters).size[0] > 0 and Image.open(drawn).size[0] >= 32  # files that open as images
    assert all(Image.open(item["image"]).size[0] >= 32 and ":" in item["caption"] for item in g_maps + d_maps)
    before, after, text = client.predict(
        checkpoint=ckpt, sample_id=sid, seed=0, layer="0", channels="0-3", api_name="/ablate"
    )
    assert "4 channel(s)" in text and Image.open(before).size == Image.open(after).size


def test_training_endpoints(client, running_studio):
    demo, _, root = running_studio
    with pytest.raises(AppError, match="no training run"):
        client.predict(api_name="/train_pause")
    msg = client.predict(
        **(TINY_FORM | dict(max_steps=60)),
        api_name="/train_start",
    )
    assert "started" in msg and str(root / "runs") in msg
    assert "pause requested" in client.predict(api_name="/train_pause")
    deadline = time.time() + 60
    while client.predict(api_name="/train_status")["state"] != "paused" and time.time() < deadline:
        time.sleep(0.2)
    status = client.predict(api_name="/train_status")
    assert status["state"] == "paused"
    assert "resume requested" in client.predict(api_name="/train_resume")
    assert "stop requested" in client.predict(api_name="/train_stop")
    assert demo.studio.jobs.current(LOCAL_VISITOR).join(60)
    status = client.predict(api_name="/train_status")
    assert status["state"] == "stopped" and status["step"] < 60
    step_ckpt = demo.studio.models.training_checkpoints(LOCAL_VISITOR)[0][1]
    msg = client.predict(checkpoint=step_ckpt, epochs=1, max_steps=status["step"] + 2, api_name="/train_resume_from")
    assert "resumed" in msg
    assert demo.studio.jobs.current(LOCAL_VISITOR).join(60)
    assert client.predict(api_name="/train_status")["state"] == "finished"


def test_server_hardening(running_studio):
    _, url, _ = running_studio
    for path in ("gradio_api/file=/etc/passwd", "monitoring"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + path, timeout=10)
        assert err.value.code in (403, 404)
