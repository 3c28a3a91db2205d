"""Start-up: ``python launch.py`` answers its first page before torch is imported (importing torch is most of a
start), then a background warm-up imports torch and loads the preselected checkpoint. ``bench/startup.py`` measures
the time against a bare Gradio app; these tests check the order of things, which is what makes it quick."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from support import ROOT

from dcgan_studio.app import make_studio

# runs in a fresh interpreter: in the test process torch is long imported
FIRST_PAGE = """
import json, socket, sys
import httpx
import launch
from dcgan_studio.app import Studio

seen = {}
warm_up = Studio.warm_up

def spy(self):
    seen["torch_when_the_server_answers"] = "torch" in sys.modules
    seen["status"] = httpx.get(url, timeout=30).status_code
    seen["torch_after_the_first_page"] = "torch" in sys.modules
    thread = warm_up(self)
    thread.join(300)
    seen["torch_after_warm_up"] = "torch" in sys.modules
    seen["models_loaded"] = [str(m.path.name) for m in self.models._cache.values()]
    return thread

Studio.warm_up = spy
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
url = f"http://127.0.0.1:{port}/"
demo = launch.main(["--host", "127.0.0.1", "--port", str(port)], block=False)
seen["config_has_tabs"] = sum(1 for c in demo.config["components"] if c.get("type") == "tabitem")
demo.close()
print(json.dumps(seen))
"""


# launch.py as a Space starts it (the mode comes from the environment), then two calls through gradio_client that
# start nothing in either mode: an epochs value over the public cap, and the "folder path" dataset with no folder
MODE = """
import json, socket
from gradio_client import Client
from gradio_client.exceptions import AppError
import launch

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
demo = launch.main(["--host", "127.0.0.1", "--port", str(port)], block=False)
seen = {"public": demo.studio.public, "max_epochs": demo.studio.limits.max_epochs}
client = Client(f"http://127.0.0.1:{port}/", verbose=False)
calls = {
    "zip_101_epochs": dict(dataset="zip upload", zip_file=None, folder="", epochs=101),
    "zip_100_epochs": dict(dataset="zip upload", zip_file=None, folder="", epochs=100),
    "folder": dict(dataset="folder path", zip_file=None, folder=""),
}
for name, form in calls.items():
    try:
        seen[name] = "answered: " + str(client.predict(**form, api_name="/train_start"))
    except AppError as exc:
        seen[name] = str(exc)
seen["jobs"] = demo.studio.jobs.live_count()
demo.close()
print(json.dumps(seen))
"""


def run_fresh(*scripts: tuple[str, dict[str, str]]) -> list[dict]:
    """Each ``(script, env)`` in a fresh interpreter in the repository (a bare environment plus ``env``), all at
    once (each mostly imports, so two share two cores well): their last stdout lines, read as JSON."""
    base = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1", "HOME": "/tmp"}  # fmt: skip
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**base, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for script, env in scripts
    ]
    seen = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=300)
        finally:
            process.kill()
        assert process.returncode == 0, err[-3000:]
        seen.append(json.loads(out.strip().splitlines()[-1]))
    return seen


@pytest.mark.slow  # a fresh interpreter starting the Studio
def test_first_page_is_served_before_torch_and_the_warm_up_loads_it():
    (seen,) = run_fresh((FIRST_PAGE, {}))
    assert seen["status"] == 200
    assert seen["torch_when_the_server_answers"] is False, "the page was built with torch imported"
    assert seen["torch_after_the_first_page"] is False, "serving the first page imported torch"
    assert seen["torch_after_warm_up"] is True
    assert seen["models_loaded"] == ["digits32.safetensors"], "the warm-up did not load the preselected checkpoint"
    assert seen["config_has_tabs"] >= 8, "the first page is the whole Studio, not a placeholder"


def test_a_failed_warm_up_is_logged_and_the_studio_keeps_running(tmp_path, caplog):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")  # a header that lies about the data
    studio = make_studio(shipped=broken, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data", public=False)
    with caplog.at_level(logging.ERROR, logger="dcgan_studio.app.studio"):
        thread = studio.warm_up()
        thread.join(300)
    assert not thread.is_alive()
    assert any("warming up failed" in r.getMessage() for r in caplog.records)
    assert "broken.safetensors" in caplog.text  # the log says which file


@pytest.mark.slow  # fresh interpreters starting the Studio
def test_a_space_id_launches_the_public_studio_and_dcgan_studio_public_0_keeps_it_local():
    public, local = run_fresh(
        (MODE, {"SPACE_ID": "user/space"}), (MODE, {"SPACE_ID": "user/space", "DCGAN_STUDIO_PUBLIC": "0"})
    )

    assert public["public"] is True and public["max_epochs"] == 100
    assert public["zip_101_epochs"] == "Value 101 is greater than maximum value 100."  # the public cap...
    assert public["zip_100_epochs"] == "upload a .zip of images first"  # ...lets 100 through to the handler
    assert public["folder"] == "Value: folder path is not in the list of choices: ['digits', 'photos', 'zip upload']"
    assert public["jobs"] == 0

    assert local["public"] is False and local["max_epochs"] == 10_000
    assert (
        local["zip_101_epochs"] == local["zip_100_epochs"] == "upload a .zip of images first"
    )  # no public cap: the handler answers both
    assert local["folder"] == "type a folder path"  # folder paths are offered locally
    assert local["jobs"] == 0
