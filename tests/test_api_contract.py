"""The API takes what it documents: every named endpoint of the launched Studio, called with values built from the
types ``view_api()`` shows (a documented ``Literal['32', ...]`` is passed as that very string, numbers within the
documented ranges, files through ``handle_file``), either works or answers with a clear user error, never a
complaint about a type or a list of choices. Called with nothing but the defaults it documents (what the page shows
before anyone touches it), each endpoint works or asks for the input it needs. Every test runs against a local
Studio and a public one (a Space's limits: the same defaults must work there)."""

from __future__ import annotations

import ast
import re
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import TINY_FORM

from dcgan_studio.app.visitors import LOCAL_VISITOR, Visitor
from dcgan_studio.directions import load_directions

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

# what an error about a value's type or about a widget's choices looks like (Gradio's, or our checks' "whole number")
TYPE_COMPLAINTS = (
    "is not in the list of choices",
    "must be a whole number",
    "must be text",
    "Traceback",
    "TypeError",
    "could not convert",
    "invalid literal",
)
RANGE = re.compile(r"numeric value between (-?[\d.e+-]+) and (-?[\d.e+-]+)")
SIDE = 32  # the fixture's checkpoint: 32 px, 1 channel, nz = 16, ngf = ndf = 8


@pytest.fixture(scope="module", params=[False, True], ids=["local", "public"])
def running_studio(request, tiny_models_checkpoint, tmp_path_factory):
    """The Studio launched on 127.0.0.1, in local mode and in public mode (a Space): (demo, url, root)."""
    from dcgan_studio.app import build_app, launch_options

    root = tmp_path_factory.mktemp("studio")
    demo = build_app(
        shipped=tiny_models_checkpoint, runs_dir=root / "runs", data_dir=root / "data", public=request.param
    )
    demo.queue(default_concurrency_limit=1)
    options = launch_options(demo.studio.limits)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **options)
    try:
        yield demo, url, root
    finally:
        demo.studio.jobs.stop_and_wait(60)
        demo.close()


@pytest.fixture(scope="module")
def client(running_studio):
    _, url, _ = running_studio
    return Client(url, verbose=False)


@pytest.fixture(scope="module")
def api(client) -> dict:
    return client.view_api(return_format="dict", print_info=False)["named_endpoints"]


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_models_checkpoint) -> dict:
    """Small files to upload: an image, a zip of images, a copy of the fixture's checkpoint."""
    folder = tmp_path_factory.mktemp("contract_files")
    image = folder / "mine.png"
    Image.fromarray(np.tile(np.arange(40, dtype=np.uint8) * 6, (40, 1))).save(image)  # a ramp, 40x40
    archive = folder / "few.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(4):
            path = folder / f"{i}.png"
            Image.new("L", (36, 36), 40 * i).save(path)
            zf.write(path, f"{i}.png")
    ckpt = folder / "uploaded.safetensors"
    shutil.copyfile(tiny_models_checkpoint, ckpt)
    return {"image": image, "zip": archive, "checkpoint": ckpt}


# ------------------------------------------------------------------------------------------------ documented types


def python_type(p: dict) -> str:
    return p["python_type"]["type"]


def literals(p: dict) -> list[str] | None:
    """The values of a documented ``Literal[...]`` (None when the type is not a Literal)."""
    t = python_type(p)
    if not t.startswith("Literal["):
        return None
    return list(ast.literal_eval("[" + t[len("Literal[") : -1] + "]"))


def documented_range(p: dict) -> tuple[float, float] | None:
    m = RANGE.search(p["python_type"].get("description", "") or p["type"].get("description", "") or "")
    return (float(m.group(1)), float(m.group(2))) if m else None


def is_documented(p: dict, value) -> bool:
    """Whether ``value`` has the type (and lies in the range, or among the literals) that view_api documents."""
    t, lits = python_type(p), literals(p)
    if lits is not None:
        # an empty Literal: a dropdown built with no choices yet that takes custom values (training checkpoints)
        return value in lits if lits else isinstance(value, str)
    if t == "int":
        return type(value) is int
    if t == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        bounds = documented_range(p)
        return bounds is None or bounds[0] <= value <= bounds[1]
    if t == "bool":
        return isinstance(value, bool)
    if t == "str":
        return isinstance(value, str)
    if t.startswith("list["):  # a multiselect dropdown (the Directions tab's picks: choices made per checkpoint)
        return isinstance(value, list)
    if t == "filepath":
        return value is None or (isinstance(value, dict) and value.get("meta", {}).get("_type") == "gradio.FileData")
    raise AssertionError(f"{p['parameter_name']}: no rule for the documented type {t!r}; teach is_documented about it")


def documented_default(p: dict):
    """A value of the documented type: the documented default where it is one, else the first literal, the low end
    of the range, 0, "" or no file."""
    t, lits = python_type(p), literals(p)
    has, default = p.get("parameter_has_default"), p.get("parameter_default")
    if lits is not None:
        return default if has and default in lits else (lits[0] if lits else None)
    if t == "int":
        return int(default) if has and default is not None else 0
    if t == "float":
        bounds = documented_range(p)
        return float(default) if has and default is not None else float(bounds[0] if bounds else 0)
    if t == "bool":
        return bool(default) if has else False
    if t == "str":
        return default if has and isinstance(default, str) else ""
    if t.startswith("list["):
        return []
    if t == "filepath":
        return None
    raise AssertionError(f"{p['parameter_name']}: no rule for the documented type {t!r}")


def arguments(api: dict, endpoint: str, unchecked: tuple[str, ...] = (), **overrides) -> dict:
    """Every parameter of ``endpoint`` by name, each of its documented type: the overrides (checked, but for the
    ``unchecked`` names), else a default."""
    params = {p["parameter_name"]: p for p in api[endpoint]["parameters"]}
    unknown = set(overrides) - set(params)
    assert not unknown, f"{endpoint} documents no parameter {unknown}"
    args = {}
    for name, p in params.items():
        value = overrides[name] if name in overrides else documented_default(p)
        assert name in unchecked or is_documented(p, value), (
            f"{endpoint} {name}={value!r} is not of the documented type {python_type(p)}"
        )
        args[name] = value
    return args


def refuses_clearly(exc: AppError) -> str:
    """The message of a refusal, checked to be a user error in words and not a complaint about a type or choice."""
    message = str(exc)
    assert message.strip(), "an error without a message"
    for phrase in TYPE_COMPLAINTS:
        assert phrase not in message, f"a type/choices complaint for documented values: {message}"
    return message


# ------------------------------------------------------------------------------------------------ pictures


def grid_layout(path, n: int, side: int = SIDE, padding: int = 2) -> tuple[int, int, int]:
    """(columns, rows, factor) of a saved make_grid image of ``n`` cells, enlarged by an integer factor."""
    with Image.open(path) as im:
        w, h = im.size
    step = side + padding
    for f in range(1, 65):
        if w % f or h % f or (w // f - padding) % step or (h // f - padding) % step:
            continue
        cols, rows = (w // f - padding) // step, (h // f - padding) // step
        if cols * rows >= n > cols * (rows - 1):
            return cols, rows, f
    raise AssertionError(f"{path}: a {w}x{h} image is not a grid of {n} {side}px cells")


def grid_cells(path, n: int, side: int = SIDE, padding: int = 2) -> np.ndarray:
    cols, _, f = grid_layout(path, n, side, padding)
    grid = np.asarray(Image.open(path).convert("RGB"))[..., 0]
    step = side + padding
    return np.stack(
        [
            grid[
                (padding + (k // cols) * step) * f : (padding + (k // cols) * step + side) * f : f,
                (padding + (k % cols) * step) * f : (padding + (k % cols) * step + side) * f : f,
            ]
            for k in range(n)
        ]
    )


def image_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.load()  # a whole, decodable image
        return im.size


# ------------------------------------------------------------------------------------------------ the tests


def test_documented_choices_are_the_values_the_server_takes(api, running_studio):
    """The root of 'Value: 32 is not in the list of choices: [32, 64, 128]': view_api shows every choice as a string,
    so a widget's choice values must be those strings."""
    for endpoint, info in api.items():
        for p in info["parameters"]:
            lits = literals(p)
            if lits is None:
                continue
            enum = p["type"].get("enum", [])
            assert all(isinstance(v, str) for v in enum), (
                f"{endpoint} {p['parameter_name']}: choices {enum!r} are not strings"
            )
            assert enum == lits, (endpoint, p["parameter_name"], enum, lits)
    start = {p["parameter_name"]: p for p in api["/train_start"]["parameters"]}
    sizes = ["32", "64"] if running_studio[0].studio.public else ["32", "64", "128"]  # a Space trains up to 64x64
    assert literals(start["image_size"]) == sizes and literals(start["channels"]) == ["1", "3"]
    assert literals(start["nan_policy"]) == ["stop", "rollback"] and "default" in literals(start["amp"])
    # the form's first 16 fields keep their places (calls that pass them by position still work); the Advanced
    # fields come after, each with a default
    assert list(start)[:16] == [
        "dataset",
        "zip_file",
        "folder",
        "image_size",
        "channels",
        "nz",
        "ngf",
        "ndf",
        "batch_size",
        "lr",
        "beta1",
        "epochs",
        "max_steps",
        "seed",
        "log_every",
        "sample_every",
    ]
    assert list(start)[16:] == [
        *("nan_policy", "amp", "label_smoothing", "instance_noise", "lr_g", "lr_d"),  # stability and speed
        *("diffaugment", "augment_p", "ema", "lr_decay", "lr_floor"),  # quality per minute
        "track",  # the experiment tracker (Logging), added later: optional too
        "lr_decay_start",  # where the decay starts (issue 20's late decay), added later
    ]
    assert all(p["parameter_has_default"] for p in list(start.values())[16:])
    assert literals({p["parameter_name"]: p for p in api["/ablate"]["parameters"]}["layer"]) == ["0", "1", "2"]


# one value per endpoint that is refused cheaply (by Gradio's bounds or by the handler) and that comes AFTER every
# documented Literal among the endpoint's inputs: Gradio checks the inputs in order, so this refusal means each literal
# before it passed Gradio's check of the choices, and nothing runs
POISONS = {
    "/train_start": ("lr_decay_start", -1),  # the last field: NaN policy, precision, DiffAugment, decay, tracker
    # are literals
    "/sample": ("seed", -1),
    "/interpolate": ("steps", 1.0),
    "/arithmetic": ("seed", -1),
    "/project": ("seed", -1),
    "/features": ("seed", -1),
    "/ablate": ("channels", "no such channel"),
    "/evaluate": ("seed", -1),
    "/steer": ("amount_0", 9.0),
    "/steer_keep": ("amount_0", 9.0),
    "/directions_load": ("path", None),
}
# literals that come after every numeric input (nothing later to poison): the handler's first refusal, after Gradio
# has checked every input, is the poison instead (a dataset upload that is missing)
LAST_LITERALS = {"/train_start": ({"dataset": "zip upload", "zip_file": None}, "upload a .zip")}
POISON_ANSWERS = (
    "less than minimum value",
    "greater than maximum value",
    "seed",
    "steps",
    "channel",
    "direction",
    "slider",
)
# endpoints whose one input is the checkpoint: nothing can be poisoned after it, so each of its documented values is
# called for real in test_every_endpoint_takes_documented_values instead
CHECKPOINT_ONLY = ("/directions", "/directions_save")


def test_every_documented_literal_gets_past_gradio(client, api, files):
    """Each documented literal of each endpoint, sent with one poisoned later input so that nothing runs: the refusal
    must be the poison's, never Gradio's complaint about the choices."""
    tried = 0
    for endpoint, info in api.items():
        params = info["parameters"]
        names = [p["parameter_name"] for p in params]
        choice_params = [p for p in params if literals(p)]
        if not choice_params or endpoint in CHECKPOINT_ONLY:
            continue
        assert endpoint in POISONS, f"{endpoint} has documented choices: give it a poison in POISONS"
        poison, bad = POISONS[endpoint]
        late = [p for p in choice_params if names.index(p["parameter_name"]) > names.index(poison)]
        assert not late or endpoint in LAST_LITERALS, (endpoint, poison)
        files_in = {
            p["parameter_name"]: handle_file(str(files["zip" if "zip" in p["parameter_name"] else "image"]))
            for p in params
            if python_type(p) == "filepath"
        }
        for p in choice_params:
            for value in literals(p):
                args = arguments(api, endpoint, **(files_in | {p["parameter_name"]: value}))
                poisoned, answers = (args | {poison: bad}), POISON_ANSWERS
                if p in late:
                    poisoned, answers = args | LAST_LITERALS[endpoint][0], (LAST_LITERALS[endpoint][1],)
                with pytest.raises(AppError) as err:
                    client.predict(**poisoned, api_name=endpoint)
                message = refuses_clearly(err.value)
                assert any(a in message for a in answers), f"{endpoint} {p['parameter_name']}={value!r}: {message}"
                tried += 1
    assert tried >= 20  # 3 datasets, 3 sizes, 2 channel counts, 2 paths, 3 layers, the checkpoints...


def as_the_client(studio, client) -> Visitor:
    """The client's visitor, to look at the server's registries as it (public mode: ``api-<session hash>``)."""
    return Visitor(f"api-{client.session_hash}") if studio.public else LOCAL_VISITOR


@pytest.mark.slow  # a sweep of every endpoint
def test_every_endpoint_takes_documented_values(client, api, files, running_studio):
    demo, _, root = running_studio
    studio = demo.studio
    called = set()
    check_every_endpoint(client, api, files, root, studio, called, as_the_client(studio, client))
    assert called == set(api), f"named endpoints this test does not call: {set(api) - called}"


def check_every_endpoint(client, api, files, root, studio, called: set, me: Visitor) -> None:

    def call(endpoint, unchecked=(), **overrides):
        called.add(endpoint)
        try:
            return client.predict(**arguments(api, endpoint, unchecked, **overrides), api_name=endpoint)
        except AppError as exc:
            pytest.fail(f"{endpoint} refused documented values: {refuses_clearly(exc)}")

    ckpt = literals({p["parameter_name"]: p for p in api["/sample"]["parameters"]}["checkpoint"])[0]

    # /upload_checkpoint: a .safetensors through handle_file; its answer names the checkpoint for the other endpoints
    uploaded = call("/upload_checkpoint", path=handle_file(str(files["checkpoint"])))
    # the handler answers the page with gr.update(choices=..., value=...), which reaches a client as that dict; the
    # value is what view_api documents (the checkpoint to pass on)
    if isinstance(uploaded, dict) and uploaded.get("__type__") == "update":
        uploaded = uploaded["value"]
    assert isinstance(uploaded, str) and uploaded.endswith(".safetensors")
    assert uploaded in [p for _, p in studio.models.choices(me)]
    # /load_from_hub: its documented parameter reaches the handler (the download path is tests/test_hub_studio.py's)
    called.add("/load_from_hub")
    with pytest.raises(AppError, match="is not a Hub repo id: type user/name or user/name@revision"):
        client.predict(repo="checkpoints/x.safetensors", api_name="/load_from_hub")

    # /sample: a grid of exactly the samples the server registered under the ids it returns, and their z file
    grid, outputs, ids = call("/sample", checkpoint=ckpt, seed=3, count=4.0, truncation=0.0)
    ids = ids.split(",")
    assert len(ids) == 4 and all(len(i) == 16 for i in ids)
    shown = [studio.samples.get(me, i) for i in ids]
    assert all(s is not None for s in shown)
    assert np.array_equal(grid_cells(grid, 4), np.stack([s.image[0].numpy() for s in shown]))
    assert max(image_size(grid)) >= 256  # enlarged for the screen (nearest neighbour, integer factor)
    assert sorted(Path(p).suffix for p in outputs) == [".png", ".safetensors"]
    z = load_file(next(p for p in outputs if p.endswith(".safetensors")))["z"]
    assert z.shape == (4, 16) and all(bool((z[k] == s.z).all()) for k, s in enumerate(shown))
    # the uploaded copy works where a checkpoint is asked for (view_api lists the checkpoints of its build time only)
    grid2, _, ids2 = call("/sample", unchecked=("checkpoint",), checkpoint=uploaded, seed=0, count=1.0, truncation=0.5)
    assert len(ids2.split(",")) == 1
    one = np.asarray(Image.open(grid2).convert("RGB"))[..., 0]  # one image: make_grid adds no border
    k = one.shape[1] // SIDE
    assert one.shape == (SIDE * k, SIDE * k) and np.array_equal(
        one[::k, ::k], studio.samples.get(me, ids2).image[0].numpy()
    )

    # /interpolate, each documented path
    for mode in literals({p["parameter_name"]: p for p in api["/interpolate"]["parameters"]}["mode"]):
        strip, gif, caption = call(
            "/interpolate",
            checkpoint=ckpt,
            start_id=ids[0],
            end_id=ids[1],
            seed_start=0,
            seed_end=1,
            mode=mode,
            steps=4.0,
        )
        assert grid_layout(strip, 4)[:2] == (4, 1) and "4 steps" in caption
        with Image.open(gif) as g:
            assert g.is_animated and g.n_frames >= 4 and g.size[0] % SIDE == 0

    # /arithmetic: the result image and a row of the result and its neighbours
    result, row, *_ = call(
        "/arithmetic",
        checkpoint=ckpt,
        a_ids=",".join(ids[:2]),
        b_ids=ids[2],
        c_ids=ids[3],
        neighbours=3.0,
        noise_scale=0.25,
        seed=0,
    )
    assert min(image_size(result)) >= 256 and grid_layout(row, 3)[:2] == (3, 1)

    # /project: an uploaded image; the projected z becomes a sample of this server
    target, recon, info, sid = call(
        "/project", checkpoint=ckpt, image=handle_file(str(files["image"])), steps=10.0, restarts=1.0, seed=0
    )
    assert "MSE" in info and studio.samples.get(me, sid) is not None
    assert image_size(target) == image_size(recon) and min(image_size(target)) >= 256

    # /features: G's layers for the projected z, D's for the uploaded image
    caption, drawn, filters, g_maps, d_maps = call(
        "/features", checkpoint=ckpt, sample_id=sid, seed=0, image=handle_file(str(files["image"]))
    )
    assert "projected" in caption and len(g_maps) == 4 and len(d_maps) == 3
    assert min(image_size(drawn)) >= SIDE and min(image_size(filters)) > 0
    assert all(min(image_size(item["image"])) > 0 and ":" in item["caption"] for item in g_maps + d_maps)

    # /ablate, each documented layer
    for layer in literals({p["parameter_name"]: p for p in api["/ablate"]["parameters"]}["layer"]):
        before, after, text = call("/ablate", checkpoint=ckpt, sample_id=ids[0], seed=0, layer=layer, channels="0-3")
        assert f"4 channel(s) of G layer {layer} off" in text and image_size(before) == image_size(after)

    # the Directions endpoints (the session's set and steered sample live in the client's session, as on a page)
    for value in literals({p["parameter_name"]: p for p in api["/directions"]["parameters"]}["checkpoint"]):
        strips, picks, *sliders_image_caption = call("/directions", checkpoint=value)
        assert strips.count("<img") >= 2 and "PC 0" in strips and "thicker" in strips
    image, caption = call("/steer", checkpoint=ckpt, chosen=[0], amount_0=2.0)
    assert 'src="data:image/png;base64,' in image and "PC 0 +2.0" in caption  # the image inline: one round trip
    assert "steered: seed 0 #0, PC 0 +2.0" in call("/steer_keep", checkpoint=ckpt, chosen=[0], amount_0=2.0)
    for value in literals({p["parameter_name"]: p for p in api["/directions_save"]["parameters"]}["checkpoint"]):
        saved = call("/directions_save", checkpoint=value)
        assert load_directions(saved, expected_nz=16).names[0] == "PC 0"
    strips, *_ = call("/directions_load", checkpoint=ckpt, path=handle_file(saved))
    assert "PC 0" in strips

    # /evaluate on the digits (no linear probe: the slow part)
    markdown, plots, report, written = call(
        "/evaluate", checkpoint=ckpt, dataset="digits", zip_file=None, folder="", run_probe=False, repeats=1.0, seed=0
    )
    assert "real-vs-real" in markdown and report["dataset"] == "digits" and report["classifier"]["available"]
    assert plots and all(min(image_size(item["image"])) > 0 for item in plots)
    assert {Path(p).suffix for p in written} >= {".json", ".md"}

    # the training endpoints: start a tiny run, pause, resume, stop, resume from its checkpoint
    assert call("/train_status")["state"] == "idle"
    msg = call(
        "/train_start",
        **(TINY_FORM | dict(batch_size=64.0, max_steps=60)),  # batch size as the float the API documents
    )
    try:
        assert msg.startswith("started") and str(root / "runs") in msg
        trainer = studio.jobs.current(me)
        assert (trainer.model_config.image_size, trainer.model_config.channels) == (
            32,
            1,
        )  # the strings, read as numbers
        assert "pause requested" in call("/train_pause")
        deadline = time.time() + 60
        while call("/train_status")["state"] != "paused" and time.time() < deadline:
            time.sleep(0.2)
        assert call("/train_status")["state"] == "paused"
        assert "resume requested" in call("/train_resume")
    finally:
        assert "stop" in call("/train_stop")
        assert studio.jobs.current(me).join(60)
    status = call("/train_status")
    assert status["state"] == "stopped" and 0 < status["step"] < 60
    # /train_resume_from documents an empty Literal (its dropdown is built before any run exists and takes custom
    # values): the value to pass is a training checkpoint this server wrote
    step_ckpt = studio.models.training_checkpoints(me)[0][1]
    msg = call("/train_resume_from", checkpoint=step_ckpt, epochs=1, max_steps=status["step"] + 2)
    try:
        assert "resumed" in msg
    finally:
        studio.jobs.current(me).stop()
        assert studio.jobs.current(me).join(60)
    assert call("/train_status")["state"] in ("finished", "stopped")
    check_runs_endpoints(call, client)


def check_runs_endpoints(call, client) -> None:
    """The Runs tab's endpoints on the run just trained: /runs_list offers it (the picker's update: (label, id)
    choices), /runs_compare compares it, /runs_grids moves its grid; a name it does not offer is refused in words."""
    choices = call("/runs_list")["choices"]
    mine = next(run_id for _, run_id in choices if run_id.startswith("app-"))  # the client's own run
    summary, curves, slider, grids, timelapses, diff, health, evals, figures = call("/runs_compare", runs=[mine])
    assert f"**{mine}**" in summary and "<svg" in curves and slider["maximum"] >= 1
    assert diff["data"][0][0].startswith("(one run") and health["data"][0][0] == mine
    assert [g["caption"].split(":")[0] for g in grids] == [mine] and min(image_size(grids[0]["image"])) >= 256
    (grid,) = call("/runs_grids", runs=[mine], step=0.0)
    assert grid["caption"].startswith(f"{mine}: step ") and min(image_size(grid["image"])) >= 256
    with pytest.raises(AppError, match="is not one of the runs this Studio offers you"):
        client.predict(runs=["../" + mine], api_name="/runs_compare")


# what an endpoint called with its documented defaults answers when the default leaves out an input it needs (an empty
# slot, no upload): the "needs input" message, written out
NEEDS_INPUT = {
    "/train_resume_from": "pick a training checkpoint of a run",
    "/arithmetic": "slot A is empty: drag at least one sample into it",
    "/project": "upload an image first",
    "/directions_load": "upload a directions .safetensors file",
    "/load_from_hub": "type user/name or user/name@revision",
}


@pytest.mark.slow  # a sweep of every endpoint
def test_every_endpoint_answers_its_documented_defaults(client, api, running_studio):
    """Each named endpoint, called with exactly the defaults view_api documents (the page's starting values): it
    works, or it answers with its "needs input" message; nothing fails on a default value. The /train_start defaults
    are the Train tab's preset, which must start in public mode as it does locally."""
    demo, _, _ = running_studio
    studio = demo.studio
    answers = {}
    try:
        for endpoint, info in api.items():
            args = {p["parameter_name"]: documented_default(p) for p in info["parameters"]}
            try:
                answers[endpoint] = client.predict(**args, api_name=endpoint)
            except AppError as exc:
                message = refuses_clearly(exc)
                assert endpoint in NEEDS_INPUT, f"{endpoint} refused its documented defaults: {message}"
                assert NEEDS_INPUT[endpoint] in message, (endpoint, message)
                answers[endpoint] = None
    finally:
        studio.jobs.stop_and_wait(60)
    assert set(answers) == set(api)
    assert {e for e, a in answers.items() if a is None} == set(NEEDS_INPUT)
    assert answers["/train_start"].startswith("started")
    trainer = studio.jobs.current(as_the_client(studio, client))
    assert (trainer.config.epochs, trainer.model_config.ngf, trainer.config.batch_size) == (60, 32, 128)
