"""Start-up: ``python launch.py`` answers its first page before torch is imported (importing torch is most of a
start), then a background warm-up imports torch and loads the preselected checkpoint. ``bench/startup.py`` measures
the time against a bare Gradio app; these tests check the order of things, which is what makes it quick."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

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


def test_first_page_is_served_before_torch_and_the_warm_up_loads_it():
    out = subprocess.run(
        [sys.executable, "-c", FIRST_PAGE],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "GRADIO_ANALYTICS_ENABLED": "False", "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
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
