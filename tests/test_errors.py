"""Errors by type: a ``UserError`` (or a missing file) is bad input, shown as one line (CLI, exit 2) or a toast
(Studio); anything else, a bare ``ValueError`` from a library included, is a bug: the CLI prints its traceback (exit
1), the Studio logs it under a short reference and shows only that reference."""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace

import pytest

from dcgan_studio import cli
from dcgan_studio.errors import USER_ERRORS, UserError

gr = pytest.importorskip("gradio")
from dcgan_studio.app import build_app, sample_tab  # noqa: E402
from dcgan_studio.app.errors import StudioError, user_errors  # noqa: E402

INTERNAL = re.compile(r"internal error \(ref ([0-9a-f]{6})\): please report it")
LIBRARY_MESSAGE = "invalid literal for int() with base 10: 'x'"  # what int() says: no message for a user


def test_only_typed_errors_and_missing_files_are_user_errors():
    assert USER_ERRORS == (UserError, FileNotFoundError)
    for bug in (ValueError, OverflowError, TypeError, KeyError, RuntimeError):
        assert not issubclass(bug, USER_ERRORS), bug
    assert issubclass(StudioError, USER_ERRORS)


# ------------------------------------------------------------------------------------------------ the CLI


def test_cli_a_user_error_is_one_line_and_exit_2(capsys):
    assert cli.main(["sample", "--checkpoint", "unused.safetensors", "--n", "0"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: --n must be in 1..1024, got 0"]


@pytest.mark.parametrize("bug", [ValueError(LIBRARY_MESSAGE), OverflowError("cannot convert float infinity")])
def test_cli_an_internal_error_prints_its_traceback_and_exits_1(monkeypatch, capsys, bug):
    def broken(spec):
        raise bug

    monkeypatch.setattr("dcgan_studio.cli.sample.checkpoint_file", broken)
    assert cli.main(["sample", "--checkpoint", "x"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert f"{type(bug).__name__}: {bug}" in err
    assert not any(line.startswith("error:") for line in err.splitlines())  # not shown as bad input


# ------------------------------------------------------------------------------------------------ the Studio


def internal_ref(exc: gr.Error) -> str:
    match = INTERNAL.fullmatch(exc.message)
    assert match, exc.message
    return match.group(1)


def test_studio_a_user_error_is_a_one_line_toast(studio):
    def refuses(visitor, n):
        raise StudioError(f"n must be at most 3, got {n}")

    with pytest.raises(gr.Error) as exc:
        studio.handler(refuses, visitor=True)(7, request=None)
    assert exc.value.message == "n must be at most 3, got 7"


def test_studio_an_internal_error_is_logged_with_a_reference_the_toast_names(studio, caplog):
    def buggy(n):
        return int("x")

    with caplog.at_level(logging.ERROR, logger="dcgan_studio.app.errors"), pytest.raises(gr.Error) as exc:
        studio.handler(buggy)(1, request=None)
    ref = internal_ref(exc.value)
    assert LIBRARY_MESSAGE not in exc.value.message and "ValueError" not in exc.value.message
    logged = [r for r in caplog.records if ref in r.getMessage()]
    assert len(logged) == 1 and "buggy" in logged[0].getMessage()
    assert logged[0].exc_info is not None and logged[0].exc_info[0] is ValueError  # the traceback is in the log
    with pytest.raises(gr.Error) as again:
        studio.handler(buggy)(1, request=None)
    assert internal_ref(again.value) != ref  # each failure its own reference


def test_studio_a_page_loads_fallback_covers_user_errors_not_bugs(studio):
    def no_checkpoint(visitor):
        raise StudioError("no checkpoint yet")

    def buggy(visitor):
        raise OverflowError("cannot convert float infinity to integer")

    assert studio.handler(no_checkpoint, fallback="unchanged", visitor=True)(request=None) == "unchanged"
    with pytest.raises(gr.Error) as exc:
        studio.handler(buggy, fallback="unchanged", visitor=True)(request=None)
    internal_ref(exc.value)


def test_user_errors_wrapper_sorts_the_same_way():
    with pytest.raises(gr.Error) as exc:
        user_errors(lambda: (_ for _ in ()).throw(UserError("bad input, named")))()
    assert exc.value.message == "bad input, named"
    with pytest.raises(gr.Error) as exc:
        user_errors(lambda: int("x"))()
    internal_ref(exc.value)


def test_a_forced_value_error_in_the_sample_tabs_handler_is_not_shown_as_a_user_error(
    tiny_models_checkpoint, tmp_path, monkeypatch, caplog
):
    demo = build_app(shipped=tiny_models_checkpoint, runs_dir=tmp_path / "runs", data_dir=tmp_path, tabs=[sample_tab])
    (run,) = [f.fn for f in demo.fns.values() if getattr(f, "api_name", None) == "sample"]
    checkpoint = demo.studio.models.default(demo.studio.visitor_for())
    args = (checkpoint, 0, 2, 0.0, [])
    grid, *_ = run(*args, request=SimpleNamespace(session_hash="s", headers={}, client=None))
    assert grid.endswith(".png")  # the handler works as it is

    def broken(*a, **k):
        raise ValueError(LIBRARY_MESSAGE)

    monkeypatch.setattr(sample_tab, "sample", broken)
    with caplog.at_level(logging.ERROR, logger="dcgan_studio.app.errors"), pytest.raises(gr.Error) as exc:
        run(*args, request=None)
    ref = internal_ref(exc.value)
    assert any(ref in r.getMessage() and r.exc_info[0] is ValueError for r in caplog.records)
