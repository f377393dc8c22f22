"""Every config file in conf/ is composed and built (parametrized over the files on disk)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
from data_overrides import table_overrides, text_overrides
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, RichProgressBar
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger
from pytorch_lightning.strategies import DDPStrategy

from mtl_lab.callbacks import TaskAffinity
from mtl_lab.config import config_dir
from mtl_lab.ddp import HydraJobFSDPStrategy
from mtl_lab.experiment import build_experiment
from mtl_lab.lifecycle import LastCheckpoint
from mtl_lab.loggers import WandbRunLogger
from mtl_lab.models.architectures import ARCHITECTURES
from mtl_lab.module import MultiTaskModule
from mtl_lab.typecheck import check_arguments
from mtl_lab.weighting import WEIGHTINGS

CONF = config_dir()
# groups whose options need a device this machine may not have: built with the CPU accelerator
NEEDS_CPU_OVERRIDE = {"trainer/gpu", "trainer/ddp", "trainer/fsdp"}
SPLITS = ("train", "val", "test")
REVIEWS_SIZES = [f"data.{split}_size=20" for split in SPLITS]
TINY_BERT = ["data.tiny_bert_config={hidden_size: 16, intermediate_size: 32}"]
EXTRA = {
    "encoder/mlp": [],
    "data/gradnorm_toy": ["encoder=mlp", "data.train_size=64", "data.val_size=16", "data.test_size=16"],
    "experiment/gradnorm_toy": ["data.train_size=64", "data.val_size=16", "data.test_size=16"],
    "data/mmoe_synthetic": ["encoder=mlp"],
    "data/iris": ["encoder=mlp"],
    "data/per_task": [
        "encoder=mlp",
        "+data.sources.species={name: iris, parts: 2, part: 0, use_tasks: [species]}",
        "+data.sources.petal_width={name: iris, parts: 2, part: 1, use_tasks: [petal_width]}",
    ],
    "experiment/iris_two_tasks": [],
    "data/table_demo": ["data.rows=300", "encoder=tabular"],
    "experiment/table_demo": ["data.rows=300"],
    "encoder/tabular": ["data=table_demo", "data.rows=300"],
    "data/recsys_synthetic": ["data.rows=1000", "encoder=tabular"],
    "data/reviews": ["encoder=transformer", *REVIEWS_SIZES, *TINY_BERT],
    "data/reviews_per_task": [
        "encoder=transformer",
        *[f"data.sources.{task}.{split}_size=20" for task in ("sentiment", "ner") for split in SPLITS],
        *[f"+data.sources.{task}.tiny_bert_config={{hidden_size: 16}}" for task in ("sentiment", "ner")],
    ],
    "experiment/sentiment_ner": [*REVIEWS_SIZES, *TINY_BERT],
}
#: configs of other data than MultiDigits: built without the MultiDigits sizes of the FAST preset
OWN_DATA = {
    "data/iris",
    "data/per_task",
    "data/table",
    "data/table_demo",
    "data/text",
    "data/reviews",
    "data/reviews_per_task",
    "experiment/sentiment_ner",
    "encoder/transformer",
    "data/recsys_synthetic",
    "experiment/iris_two_tasks",
    "experiment/table_demo",
    "encoder/tabular",
}


# hydra/ (incl. hydra/launcher/) and paths/ hold run-level settings, checked below, in test_sweeps.py
# and used by every CLI test
CONFIG_FILES = sorted(
    str(p.relative_to(CONF).with_suffix(""))
    for p in CONF.rglob("*.yaml")
    if p.parent != CONF
    and p.relative_to(CONF).parts[0]
    not in {"hydra", "paths", "experiment_weighting", "experiment_architecture"}
)
#: experiment_weighting/<experiment>/<weighting>.yaml: an experiment's values for one strategy
EXPERIMENT_WEIGHTING = sorted(
    p.relative_to(CONF / "experiment_weighting").with_suffix("").parts
    for p in (CONF / "experiment_weighting").rglob("*.yaml")
)
#: experiment_architecture/<experiment>/<architecture>.yaml: an experiment's values for one architecture
EXPERIMENT_ARCHITECTURE = sorted(
    p.relative_to(CONF / "experiment_architecture").with_suffix("").parts
    for p in (CONF / "experiment_architecture").rglob("*.yaml")
)
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


def test_config_files_are_all_covered() -> None:
    groups = {f.split("/")[0] for f in CONFIG_FILES}
    assert groups == {
        "architecture",
        "callbacks",
        "data",
        "debug",
        "encoder",
        "experiment",
        "head",
        "hparams_search",
        "logger",
        "optimizer",
        "scheduler",
        "trainer",
        "weighting",
    }
    assert (CONF / "train.yaml").is_file()


@pytest.mark.parametrize("config_file", CONFIG_FILES)
def test_every_config_file_composes_and_builds(
    config_file: str, make_config: Callable[..., DictConfig], tmp_path: Path
) -> None:
    group, option = config_file.split("/")
    overrides = [f"{group}={option}", *EXTRA.get(config_file, [])]
    if config_file == "data/table":
        overrides += table_overrides(tmp_path)
    if config_file == "data/text":
        overrides += ["encoder=transformer", *text_overrides(tmp_path)]
    if config_file == "encoder/transformer":
        overrides += ["data=text", *text_overrides(tmp_path)]
    if config_file in NEEDS_CPU_OVERRIDE:
        overrides += ["trainer.accelerator=cpu", "trainer.devices=1"]
    # the fast preset removes callbacks.rich_progress_bar, which callbacks/none does not have
    cfg = make_config(*overrides, fast=group != "callbacks" and config_file not in OWN_DATA)
    experiment = build_experiment(cfg)
    assert isinstance(experiment.module, MultiTaskModule)
    assert isinstance(experiment.trainer, pl.Trainer)
    optimizers = experiment.module.configure_optimizers()
    if group == "scheduler":
        assert optimizers["lr_scheduler"]["interval"] == "epoch"
        assert (
            type(optimizers["lr_scheduler"]["scheduler"]).__name__
            == {"cosine": "CosineAnnealingLR", "step": "StepLR"}[option]
        )
    if group == "optimizer":
        assert type(optimizers).__name__.lower() == option
    if group == "logger":
        expected = {
            "csv": [CSVLogger],
            "tensorboard": [TensorBoardLogger],
            "wandb": [WandbRunLogger],
            "many": [CSVLogger, TensorBoardLogger, WandbRunLogger],
        }[option]
        assert [type(lg) for lg in experiment.trainer.loggers] == expected
        for logger in experiment.trainer.loggers:
            directory = logger.save_dir if isinstance(logger, WandbRunLogger) else logger.log_dir
            assert Path(directory).is_relative_to(cfg.paths.output_dir)
            # building starts nothing: a W&B run starts on first use, on rank 0, offline in tests
            assert not isinstance(logger, WandbRunLogger) or logger._experiment is None
    if config_file == "callbacks/default":
        kinds = {type(c) for c in experiment.trainer.callbacks}
        assert {ModelCheckpoint, EarlyStopping, RichProgressBar, LearningRateMonitor} <= kinds
        checkpoint = experiment.checkpoint_callback
        assert checkpoint.monitor == "val/loss" and checkpoint.mode == "min" and not checkpoint.save_last
        assert LastCheckpoint in kinds  # mtl_lab writes checkpoints/last.ckpt
    if config_file == "trainer/fsdp":  # built only: PyTorch's FSDP runs on accelerator devices
        assert isinstance(experiment.trainer.strategy, HydraJobFSDPStrategy)
    if config_file == "trainer/ddp_cpu":
        strategy = experiment.trainer.strategy
        assert isinstance(strategy, DDPStrategy) and strategy.process_group_backend == "gloo"
        assert experiment.trainer.num_devices == 2


def test_hydra_and_paths_configs_put_each_run_in_its_own_directory_under_outputs() -> None:
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", return_hydra_config=True)
    hydra = OmegaConf.to_container(cfg.hydra, resolve=False)
    assert hydra["run"]["dir"] == "${paths.log_dir}/runs/${now:%Y-%m-%d}/${now:%H-%M-%S_%f}"
    assert (
        hydra["sweep"]["dir"].startswith("${paths.log_dir}/multirun/")
        and hydra["sweep"]["subdir"] == "${hydra.job.num}"
    )
    assert hydra["job"]["chdir"] is False
    paths = OmegaConf.to_container(cfg.paths, resolve=False)
    assert paths == {"log_dir": "outputs", "output_dir": "${hydra:runtime.output_dir}"}


def test_optimized_metric_sets_checkpoint_and_early_stopping_direction(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = make_config("optimized_metric=val/left/accuracy", fast=False)
    experiment = build_experiment(cfg)
    stopping = next(c for c in experiment.trainer.callbacks if isinstance(c, EarlyStopping))
    assert experiment.checkpoint_callback.mode == "max" and stopping.mode == "max"
    assert experiment.checkpoint_callback.monitor == "val/left/accuracy"


@pytest.mark.parametrize(("experiment", "weighting"), EXPERIMENT_WEIGHTING)
def test_experiment_values_for_one_weighting_apply_to_that_weighting_only(
    experiment: str, weighting: str, make_config: Callable[..., DictConfig]
) -> None:
    values = OmegaConf.to_container(
        OmegaConf.load(CONF / "experiment_weighting" / experiment / f"{weighting}.yaml")
    )
    cfg = make_config(f"experiment={experiment}", f"weighting={weighting}", fast=False)
    assert cfg.weighting.name == weighting
    assert {k: cfg.weighting[k] for k in values} == values
    default = OmegaConf.to_container(OmegaConf.load(CONF / "weighting" / f"{weighting}.yaml"))
    assert OmegaConf.to_container(make_config(f"weighting={weighting}", fast=False).weighting) == default


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_with_every_weighting(
    experiment: str, make_config: Callable[..., DictConfig]
) -> None:
    """Every strategy can be switched on every preset (``-m experiment=X weighting=a,b,c``): the composed
    weighting node fits the strategy's signature (no key of another strategy left in it)."""
    for weighting in WEIGHTINGS.names():
        cfg = make_config(f"experiment={experiment}", f"weighting={weighting}", fast=False)
        node = OmegaConf.to_container(cfg.weighting, resolve=True)
        assert node.pop("name") == weighting
        check_arguments(f"weighting.{weighting}", WEIGHTINGS.resolve(weighting), node, {"tasks": {}})


def test_gradnorm_toy_experiment_matches_the_papers_setup(make_config: Callable[..., DictConfig]) -> None:
    cfg = make_config("experiment=gradnorm_toy", fast=False)
    assert list(cfg.data.sigmas) == [1.0, 100.0] and cfg.data.input_dim == 250 and cfg.data.output_dim == 100
    assert list(cfg.encoder.hidden_dims) == [100, 100, 100, 100] and cfg.encoder.activation == "relu"
    assert cfg.head.name == "linear" and cfg.weighting.name == "gradnorm" and cfg.weighting.alpha == 0.12


def test_seed_zero_is_a_seed(make_config: Callable[..., DictConfig]) -> None:
    cfg = make_config("seed=0")
    assert cfg.seed == 0 and cfg.data.seed == 0


def test_task_affinity_composes_with_the_default_callbacks(make_config: Callable[..., DictConfig]) -> None:
    cfg = make_config(
        "callbacks=[default,task_affinity]", "callbacks.task_affinity.every_n_steps=5", fast=False
    )
    experiment = build_experiment(cfg)
    kinds = {type(c) for c in experiment.trainer.callbacks}
    assert {ModelCheckpoint, EarlyStopping, RichProgressBar, LearningRateMonitor, TaskAffinity} <= kinds
    affinity = next(c for c in experiment.trainer.callbacks if isinstance(c, TaskAffinity))
    assert affinity.every_n_steps == 5 and affinity.grad_level == "last_shared_layer"
    assert affinity.plot_path == str(Path(cfg.paths.output_dir, "task_affinity.png"))


def leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    """``{dotted.key: value}`` of a nested config mapping."""
    if not isinstance(node, dict):
        return {prefix: node}
    return {k: v for key, value in node.items() for k, v in leaves(value, f"{prefix}{key}.").items()}


def plain(value: Any) -> Any:
    return OmegaConf.to_object(value) if OmegaConf.is_config(value) else value


@pytest.mark.parametrize(("experiment", "architecture"), EXPERIMENT_ARCHITECTURE)
def test_experiment_values_for_one_architecture_apply_to_that_architecture_only(
    experiment: str, architecture: str, make_config: Callable[..., DictConfig]
) -> None:
    path = CONF / "experiment_architecture" / experiment / f"{architecture}.yaml"
    values = {k.rstrip("."): v for k, v in leaves(OmegaConf.to_container(OmegaConf.load(path))).items()}
    cfg = make_config(f"experiment={experiment}", f"architecture={architecture}", fast=False)
    assert cfg.architecture.name == architecture
    assert {k: plain(OmegaConf.select(cfg, k)) for k in values} == values
    others = [a for a in ARCHITECTURES.names() if (experiment, a) not in EXPERIMENT_ARCHITECTURE]
    for other in others:  # an architecture without values of its own keeps the preset's
        other_cfg = make_config(f"experiment={experiment}", f"architecture={other}", fast=False)
        assert {k: plain(OmegaConf.select(other_cfg, k)) for k in values} != values


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_with_every_architecture(
    experiment: str, make_config: Callable[..., DictConfig]
) -> None:
    """Every architecture can be switched on every preset (``-m experiment=X architecture=a,b,c``): the
    composed architecture node fits the architecture's signature (no key of another one left in it)."""
    for architecture in ARCHITECTURES.names():
        cfg = make_config(f"experiment={experiment}", f"architecture={architecture}", fast=False)
        node = OmegaConf.to_container(cfg.architecture, resolve=True)
        assert node.pop("name") == architecture
        extra = {"tasks": [], "inputs": {}, "encoder": {}}
        check_arguments(f"architecture.{architecture}", ARCHITECTURES.resolve(architecture), node, extra)
