"""Options declared once (config.py): every field of a config is an option, every option is a flag and every flag an
option, the Studio's form takes its bounds from the config (narrowing them, never widening), and a public Studio's
caps lie within a local one's."""

from __future__ import annotations

import argparse
import math
from dataclasses import fields

import pytest

from dcgan_studio import limits as core_limits
from dcgan_studio.config import TYPED_PARTS, ConfigError, EmaConfig, ModelConfig, TrainConfig
from dcgan_studio.option_names import find, option_name, render_advice, retell
from dcgan_studio.options import check, flag_of, options_of

CONFIGS = {"model": ModelConfig, "train": TrainConfig, **TYPED_PARTS}
OPTIONS = [(part, f, opt) for part, cls in CONFIGS.items() for f, opt in options_of(cls)]
CLI_ONLY = {"out", "resume", "help"}  # flags of ``train`` that are not config fields


def train_parser() -> argparse.ArgumentParser:
    from dcgan_studio.cli.train import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    return p


def test_every_config_field_is_an_option():
    for cls in CONFIGS.values():
        plain = [f.name for f in fields(cls) if "option" not in f.metadata and f.name not in TYPED_PARTS]
        assert plain == [], f"{cls.__name__}: {plain} have no Option (declare them with options.option)"


def test_every_option_is_a_flag_and_every_flag_an_option():
    actions = {a.dest: a for a in train_parser()._actions}
    names = {f.name for _, f, _ in OPTIONS}
    assert set(actions) - CLI_ONLY == names  # no flag without a field, no field without a flag
    for part, f, opt in OPTIONS:
        action = actions[f.name]
        assert flag_of(f.name, opt) in action.option_strings and set(opt.aliases) <= set(action.option_strings)
        typed_part = part in TYPED_PARTS
        assert action.default == (None if typed_part else f.default), f.name  # typed parts: "not typed" is None
        assert "%(default)" not in action.help or not typed_part, f.name


def test_old_spellings_still_parse():
    args = train_parser().parse_args(["--ema", "0.99", "--label-smoothing", "0.1", "--lr-floor", "0.2"])
    assert (args.ema_decay, args.label_smoothing, args.lr_floor) == (0.99, 0.1, 0.2)


def _form_options():
    from dcgan_studio.app.train_form import FIELDS

    by_name = {(opt.widget.name or f.name): (part, f, opt) for part, f, opt in OPTIONS if opt.widget is not None}
    assert [f.name for f in FIELDS[3:]] == sorted(by_name, key=lambda n: by_name[n][2].widget.pos)
    return [(field, *by_name[field.name]) for field in FIELDS[3:]]


@pytest.mark.parametrize("public", [False, True], ids=["local", "public"])
def test_the_studio_never_accepts_what_the_config_refuses(public):
    """The Studio's bounds narrow the config's: both ends of each field pass the config's own check, and a value just
    outside the config's range (the EMA decay's 1.0 and 0.3 among them) is refused by the Studio too."""
    from dcgan_studio.app.settings import Limits

    limits = Limits.for_mode(public, {})
    checked = 0
    for field, _part, f, opt in _form_options():
        if field.choices is not None:
            assert set(field.choices(limits)) <= set(opt.choices), field.name
            continue
        if field.bounds is None:
            continue
        lo, hi = field.bounds(limits)
        for end in (lo, hi):
            value = field.check(limits, end)
            check(f.name, value, opt, nullable=f.default is None)  # the config takes what the Studio sent on
        outside = [opt.hi if opt.hi_open else opt.hi * 1.01, opt.lo - 1]
        if opt.off is not None:
            outside.append((opt.off + opt.lo) / 2)  # between "off" and the range: the EMA decay's 0.25
        for bad in outside:
            if f.default is None and bad == 0:
                continue  # 0 is "as above" / "no limit" in the form
            with pytest.raises(ConfigError):
                field.check(limits, bad)
            with pytest.raises(ConfigError):
                check(f.name, bad, opt)
        checked += 1
    assert checked >= 16


def test_the_ema_decay_bound_is_the_configs():
    from dcgan_studio.app.settings import Limits

    ((field, _, _, opt),) = [t for t in _form_options() if t[0].name == "ema"]
    lo, hi = field.bounds(Limits())
    assert (lo, hi) == (0.0, 0.9999) and hi < opt.hi and opt.hi_open
    assert EmaConfig(field.check(Limits(), hi)).ema_decay == 0.9999
    for bad in (1.0, 0.3):
        with pytest.raises(ConfigError, match=r"0 \(off\) or in \[0.5, "):
            EmaConfig(bad)
        with pytest.raises(ConfigError, match="EMA decay must be 0"):
            field.check(Limits(), bad)


def test_a_public_cap_never_exceeds_the_local_cap_nor_the_config_bound():
    from dcgan_studio.app.settings import Limits, public_caps

    local, public = Limits.for_mode(False, {}), Limits.for_mode(True, {})
    assert public_caps()  # the public caps are declared with the options
    for _, f, opt in OPTIONS:
        if not opt.limit:
            continue
        here, there = getattr(local, opt.limit), getattr(public, opt.limit)
        if isinstance(here, tuple):  # the choices a Studio offers
            assert set(there) <= set(here) <= set(opt.choices), f.name
            continue
        assert there <= here <= opt.hi, (f.name, there, here, opt.hi)
        assert not (opt.hi_open and here == opt.hi), f.name
        lo, hi = public.bounds(opt)
        assert opt.lo <= lo <= hi <= min(here, opt.hi), f.name
        if opt.limit_lo:
            assert getattr(local, opt.limit_lo) >= opt.lo, f.name


def test_one_check_int_and_check_float_for_the_whole_project():
    from dcgan_studio.app import settings

    assert settings.check_int is core_limits.check_int and settings.check_float is core_limits.check_float
    with pytest.raises(ConfigError, match="n must be between 1 and 3, got 4"):
        core_limits.check_int("n", 4, 1, 3)
    with pytest.raises(ConfigError, match=r"s must be in \[0, 0.5\), got 0.5"):
        core_limits.check_float("s", 0.5, 0.0, 0.5, hi_open=True)
    assert math.isclose(core_limits.check_float("s", "0.25", 0.0, 0.5, hi_open=True), 0.25)


def test_advice_names_options_as_each_face_does():
    assert option_name("stability.label_smoothing") == "--label-smoothing"
    assert option_name("ema.ema_decay") == "--ema-decay"
    label = find("stability.label_smoothing")[1].widget.label
    assert option_name("stability.label_smoothing", "studio") == f"“{label}”"
    text = "try {stability.label_smoothing=0.1} or a lower {lr_d}"
    assert render_advice(text) == "try --label-smoothing 0.1 or a lower --lr-d"
    studio = render_advice(text, "studio")
    assert studio.startswith(f"try “{label}” = 0.1 or a lower “D learning rate") and "--" not in studio
    with pytest.raises(KeyError):
        option_name("stability.no_such_option")


def test_the_studio_retells_a_warning_in_its_field_labels():
    """A run's warnings are kept as the CLI says them; the Train tab shows each flag as its field's label."""
    from dcgan_studio.app.train_view import format_status
    from dcgan_studio.health import D_WIN_REMEDY

    cli = "D is winning ...; " + render_advice(D_WIN_REMEDY)
    snap = dict.fromkeys(("error", "run_dir", "eta_s", "img_per_s", "total_steps"), None)
    snap |= dict(state="running", step=1, epoch=0, epochs=1, batch=1, batches=1, warnings=[cli])
    shown = format_status(snap)
    label = find("stability.label_smoothing")[1].widget.label
    assert f"“{label}” = 0.1" in shown and "--label-smoothing" not in shown and "--lr-d" not in shown
    assert retell("try --nan-max-rollbacks 5") == "try --nan-max-rollbacks 5"  # not in the form: the flag stays
    assert retell(cli, "cli") == cli
