"""``mtl-train resume=<run dir>``: the run's own command line, and the one-line refusals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from mtl_lab.config import config_dir
from mtl_lab.errors import ConfigError
from mtl_lab.lifecycle.resume_command import merge_overrides, resume_argv

SAVED = ["trainer.max_epochs=2", "weighting=uncertainty", "+callbacks.kill._target_=plugins.SigkillAt"]


def fake_run(directory: Path, overrides: Sequence[str], checkpoint: bool = True) -> Path:
    """A run directory as Hydra and mtl-train leave it (``.hydra/``, ``checkpoints/last.ckpt``)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides))
    GlobalHydra.instance().clear()
    (directory / ".hydra").mkdir(parents=True)
    OmegaConf.save(cfg, directory / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(list(overrides)), directory / ".hydra" / "overrides.yaml")
    if checkpoint:
        (directory / "checkpoints").mkdir()
        (directory / "checkpoints" / "last.ckpt").write_bytes(b"")
    return directory


def test_a_command_line_without_resume_is_left_alone() -> None:
    argv = ["mtl-train", "-m", "weighting=fixed,uncertainty", "resume=null"]
    assert resume_argv(argv) == argv
    assert resume_argv(["mtl-train", "a=[1"]) == ["mtl-train", "a=[1"], "Hydra reports what does not parse"


def test_resume_becomes_the_runs_saved_overrides_then_the_new_ones_in_its_directory(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "my run", SAVED)
    argv = resume_argv(
        ["mtl-train", f"resume={run}", "trainer.max_epochs=4", "~callbacks.kill", "hydra.verbose=true"]
    )
    assert argv == [
        "mtl-train",
        "weighting=uncertainty",
        "+callbacks.kill._target_=plugins.SigkillAt",
        "trainer.max_epochs=4",
        "~callbacks.kill",
        f'resume="{run}"',
        "hydra.verbose=true",
        f'hydra.run.dir="{run}"',
    ]


def test_a_new_override_replaces_a_saved_one_of_its_key_and_kind() -> None:
    parse = OverridesParser.create().parse_overrides
    saved = parse(["a=1", "+b=2", "c=3", "g=x", "~h", "+i=1"])
    new = parse(["a=5", "b=6", "~c", "g=y", "~h", "+i=2"])
    assert merge_overrides(saved, new) == ["+b=2", "c=3", "a=5", "b=6", "~c", "g=y", "~h", "+i=2"]
    assert merge_overrides(saved, saved) == [o.input_line for o in saved], "a resumed run resumed again"


@pytest.mark.parametrize(
    ("make", "argv", "message"),
    [
        (lambda d: d.mkdir() or d, [], r"resume: .*/run is not a run directory \(no .hydra/config.yaml"),
        (
            lambda d: fake_run(d, SAVED, checkpoint=False),
            [],
            r"resume: .*/run has no checkpoints/last.ckpt \(",
        ),
        (lambda d: fake_run(d, SAVED), ["-m"], r"resume: resumes one run; a killed sweep resumes by running"),
        (lambda d: fake_run(d, SAVED), ["hydra.run.dir=elsewhere"], r"hydra.run.dir: a resumed run stays in"),
    ],
    ids=["not-a-run", "no-last-ckpt", "multirun", "another-run-dir"],
)
def test_resume_refuses_what_is_not_a_resumable_run(
    tmp_path: Path, make: Callable[[Path], Path], argv: list[str], message: str
) -> None:
    run = make(tmp_path / "run")
    with pytest.raises(ConfigError, match=message):
        resume_argv(["mtl-train", f"resume={run}", *argv])


def test_a_saved_config_that_no_longer_composes_is_named(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run", SAVED)
    OmegaConf.save(OmegaConf.create([*SAVED, "encoder.channelz=[8]"]), run / ".hydra" / "overrides.yaml")
    with pytest.raises(ConfigError, match=r"no longer composes: Could not override 'encoder.channelz'.$"):
        resume_argv(["mtl-train", f"resume={run}"])


def test_a_saved_value_the_config_no_longer_gives_is_named_unless_overridden(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run", SAVED)
    saved = OmegaConf.load(run / ".hydra" / "config.yaml")
    saved.optimizer.lr = 0.5  # conf/ changed since the run, or the file was edited
    OmegaConf.save(saved, run / ".hydra" / "config.yaml")
    with pytest.raises(
        ConfigError, match=r"^resume: optimizer.lr: the run was saved with 0.5 but the config"
    ):
        resume_argv(["mtl-train", f"resume={run}"])
    assert "optimizer.lr=0.5" in resume_argv(["mtl-train", f"resume={run}", "optimizer.lr=0.5"])
