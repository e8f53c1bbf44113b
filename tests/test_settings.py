"""One table of settings: every flag has its environment variable, both read the same values, bad values are
named, and the CLI, the demo and eval build their pipelines from it."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from click2graph.errors import Click2GraphError
from click2graph.settings import OPTIONS, Settings, add_arguments

# A valid value of every option as typed, and what it becomes.
VALUES = {
    "preset": ("paper", "paper"),
    "backend": ("classic", "classic"),
    "checkpoint": ("small", "small"),
    "sam2_size": ("512", 512),
    "device": ("cpu", "cpu"),
    "precision": ("bf16", "bf16"),
    "sam2_encoder": ("fp32", "fp32"),
    "sam2_stride": ("3", 3),
    "discovery": ("heuristic", "heuristic"),
    "learned": ("w/x.pt", Path("w/x.pt")),
    "max_objects": ("2", 2),
    "keyframe_interval": ("0.5", 0.5),
    "object_filters": ("off", "off"),
    "semantics": ("off", "off"),
    "ranking": ("raw", "raw"),
    "classes": ("cat,dog", ("cat", "dog")),
    "clip_model": ("vit-b-32-openai", "vit-b-32-openai"),
    "clip_precision": ("fp32", "fp32"),
    "prior": ("p.json", Path("p.json")),
}


def parse(argv: list[str]) -> Settings:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_arguments(parser)
    return Settings.from_args(parser.parse_args(argv))


def test_every_option_is_a_flag_and_a_variable_with_the_same_meaning():
    assert {o.name for o in OPTIONS} == set(VALUES)
    for option in OPTIONS:
        text, value = VALUES[option.name]
        from_flag = parse([option.flag, text])
        from_env = Settings.from_env({option.env: text})
        assert getattr(from_flag, option.name) == getattr(from_env, option.name) == value
        assert from_flag == from_env  # nothing else changed


def test_unset_and_empty_mean_the_defaults():
    assert parse([]) == Settings() == Settings.from_env({}) == Settings.from_env({o.env: " " for o in OPTIONS})


@pytest.mark.parametrize(
    "name, text",
    [("backend", "gpu"), ("sam2_size", "abc"), ("sam2_size", "768"), ("sam2_stride", "0"), ("max_objects", "-1")],
)
def test_a_bad_value_is_named_with_what_is_allowed(name, text):
    option = next(o for o in OPTIONS if o.name == name)
    with pytest.raises(Click2GraphError, match=f"{option.env} must be"):
        Settings.from_env({option.env: text})
    with pytest.raises(argparse.ArgumentError, match=f"argument {option.flag}: must be"):
        parse([option.flag, text])


def test_settings_assemble_the_pipeline_they_name():
    assembled = Settings(backend="classic", discovery="heuristic", max_objects=1, semantics="off").assemble()
    assert assembled.pipeline.segmenter.name == "classic"
    assert assembled.strategy == "heuristic"
    assert assembled.pipeline.config.discovery.max_objects == 1
    assert assembled.pipeline.semantics.classifier is None
    assert "discovery: heuristic" in assembled.describe()


def test_the_demo_refuses_to_start_on_a_bad_variable_with_one_line(tmp_path):
    env = {"CLICK2GRAPH_SAM2_SIZE": "huge", "PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=Path(__file__).parents[1], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "CLICK2GRAPH_SAM2_SIZE must be one of 512, 1024" in done.stderr.strip().splitlines()[-1]


def test_the_demo_server_follows_the_environment(monkeypatch, tmp_path):
    from demo.server import Server

    monkeypatch.setenv("CLICK2GRAPH_BACKEND", "classic")
    monkeypatch.setenv("CLICK2GRAPH_DISCOVERY", "heuristic")
    monkeypatch.setenv("CLICK2GRAPH_BUILD_CONCURRENCY", "2")
    here = Server.create(folder=tmp_path)
    assert here.assembled.strategy == "heuristic" and here.strategies["heuristic"] is here.pipeline.discover
    assert here.limits.build_concurrency == 2 and "2 at a time" in here.status()
