"""The Studio's run yields to the server: a lower priority for its thread, a core fewer while requests run."""

import os
import threading

import pytest
import torch
from support import TINY

from dcgan_studio.config import ModelConfig, TrainConfig
from dcgan_studio.train import Trainer
from dcgan_studio.train.priority import (
    Busy,
    ThreadBudget,
    lower_thread_priority,
    openmp_thread_setter,
    training_threads,
)

PER_THREAD_NICE = hasattr(os, "setpriority") and os.uname().sysname == "Linux"


def nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_busy_nests_and_counts_from_many_threads():
    busy = Busy()
    assert not busy.busy()
    with busy:
        with busy:
            assert busy.count == 2 and busy.busy()
        assert busy.count == 1
    assert busy.count == 0 and not busy.busy()
    start = threading.Barrier(8)

    def hammer():
        start.wait()
        for _ in range(2000):
            with busy:
                assert busy.count >= 1

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert busy.count == 0


@pytest.mark.parametrize(
    "busy, normal, cores, expected",
    [(False, 2, 2, 2), (True, 2, 2, 1), (True, 1, 1, 1), (True, 1, 2, 1), (True, 16, 16, 15), (True, 4, 16, 4)],
)
def test_training_threads_leave_a_core_while_busy(busy, normal, cores, expected):
    assert training_threads(busy, normal, cores) == expected


def test_thread_budget_sets_threads_only_when_the_count_changes():
    busy, calls = Busy(), []
    budget = ThreadBudget(busy, normal=4, set_threads=calls.append, cores=4)
    assert budget.fit() == 4 and calls == []
    busy.enter()
    assert budget.fit() == 3 and budget.fit() == 3 and calls == [3]
    busy.exit()
    assert budget.fit() == 4 and calls == [3, 4]
    busy.enter()
    budget.fit()
    budget.restore()
    assert calls == [3, 4, 3, 4] and budget.current == 4


@pytest.mark.skipif(not PER_THREAD_NICE, reason="per-thread nice is Linux's")
def test_lower_thread_priority_changes_only_the_calling_thread():
    seen = {}

    def work():
        seen["before"] = nice_of_this_thread()
        seen["done"] = lower_thread_priority(3)
        seen["after"] = nice_of_this_thread()

    main_before = nice_of_this_thread()
    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen["done"] and seen["after"] == min(19, seen["before"] + 3)
    assert nice_of_this_thread() == main_before
    assert not lower_thread_priority(0)


@pytest.mark.skipif(not PER_THREAD_NICE, reason="per-thread nice is Linux's")
def test_started_trainer_runs_niced_and_on_fewer_threads_while_busy():
    busy, seen = Busy(), {}
    config = TrainConfig(batch_size=64, epochs=1, max_steps=2, log_every=1, device="cpu", n_fixed=4)
    trainer = Trainer(ModelConfig(**TINY), config, busy=busy, nice=1)  # any raise shows it; 1 starves least

    def other_thread():
        seen["other"] = torch.get_num_threads()

    def listen(event):
        if event.kind == "metrics" and "nice" not in seen:  # in the training thread, after a step
            seen["nice"], seen["threads"] = nice_of_this_thread(), torch.get_num_threads()
            starts_now = threading.Thread(target=other_thread)  # a server thread starting meanwhile
            starts_now.start()
            starts_now.join()

    trainer.subscribe(listen)
    normal = torch.get_num_threads()
    with busy:  # a request in flight for the whole run
        trainer.start()
        assert trainer.join(120)
    assert trainer.latest.state == "finished"
    assert seen["nice"] == min(19, nice_of_this_thread() + 1)
    assert seen["threads"] == training_threads(True, normal, os.cpu_count())
    assert seen["other"] == normal  # the training thread's count is its own, not torch's default for new threads
    assert torch.get_num_threads() == normal  # the caller's count untouched


def test_openmp_thread_setter_is_none_without_the_library(tmp_path):
    assert openmp_thread_setter(tmp_path) is None


def test_handler_counts_the_call_as_busy(studio):
    seen = []
    listener = studio.handler(lambda x: seen.append(studio.busy.count) or x)
    assert listener(3, request=None) == 3
    assert seen == [1] and not studio.busy.busy()
    assert studio.jobs.busy is studio.busy  # the Studio's runs read the same counter
