"""``mtl-train resume=<run dir> [overrides]``: the command line that continues a run in its directory.

Before Hydra composes anything, :func:`resume_argv` turns ``resume=<dir>`` into the run's own command
line: the run's saved overrides (``<dir>/.hydra/overrides.yaml``), then the new ones (a new override
replaces a saved one of the same key and kind, see :func:`merge_overrides`), then ``resume=<dir>`` and
``hydra.run.dir=<dir>``.
Hydra then composes and runs the job in the same directory (rewriting ``.hydra/`` with the merged
overrides), and :func:`mtl_lab.experiment.run_experiment` fits from ``<dir>/checkpoints/last.ckpt``.

One-line errors (:class:`ConfigError`): a directory that is not a run (no ``.hydra/config.yaml``), a
run without ``checkpoints/last.ckpt`` (never a silent fresh start), ``-m`` (a killed sweep resumes by
running its command again), ``hydra.run.dir`` naming another directory, and a saved config that no
longer composes or composes to other values (:mod:`.saved_config`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra._internal.utils import get_args_parser
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import OverrideParseException
from omegaconf import OmegaConf

from mtl_lab.config import config_dir
from mtl_lab.errors import ConfigError
from mtl_lab.lifecycle.last_checkpoint import LAST_CHECKPOINT
from mtl_lab.lifecycle.saved_config import check_recomposes

RESUME_KEY = "resume"
RUN_DIR_KEY = "hydra.run.dir"


def quoted(value: str) -> str:
    """``value`` as a quoted Hydra override value (any path: spaces, commas, ``=``)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def last_checkpoint(run_dir: Path) -> Path:
    """``<run_dir>/checkpoints/last.ckpt``; ConfigError when ``run_dir`` is not a run or has none."""
    if (
        not (run_dir / ".hydra" / "config.yaml").is_file()
        or not (run_dir / ".hydra" / "overrides.yaml").is_file()
    ):
        raise ConfigError(
            f"resume: {run_dir} is not a run directory (no .hydra/config.yaml and overrides.yaml)"
        )
    checkpoint = run_dir / "checkpoints" / LAST_CHECKPOINT
    if not checkpoint.is_file():
        raise ConfigError(
            f"resume: {run_dir} has no checkpoints/{LAST_CHECKPOINT} (killed before its first checkpoint); "
            "start it again without resume="
        )
    return checkpoint


def _kind(override: Override) -> str:
    if override.is_delete():
        return "~"
    return "++" if override.is_force_add() else "+" if override.is_add() else "="


def merge_overrides(saved: Sequence[Override], new: Sequence[Override]) -> list[str]:
    """The saved overrides, each dropped when a new one of the same kind (set, ``+`` add, ``++``, ``~``
    delete) has its key, then the new ones: ``x=1`` replaces ``x=0`` and ``~x`` a saved ``~x``, while
    ``+x=0 x=1`` or ``x=0 ~x`` are both kept (applied in order)."""
    replaced = {(o.key_or_group, _kind(o)) for o in new}
    kept = [o for o in saved if (o.key_or_group, _kind(o)) not in replaced]
    return [o.input_line for o in (*kept, *new)]


def resume_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` unchanged without ``resume=<dir>``; else the run's command line (module docstring)."""
    args = get_args_parser().parse_args(list(argv[1:]))
    parser = OverridesParser.create()
    try:
        overrides = parser.parse_overrides(list(args.overrides))
    except OverrideParseException:
        return list(argv)  # Hydra reports it
    requested = [o.value() for o in overrides if o.key_or_group == RESUME_KEY]
    if not requested or requested[-1] is None:
        return list(argv)
    if args.multirun:
        raise ConfigError(
            "resume: resumes one run; a killed sweep resumes by running the same mtl-train -m command again"
        )
    run_dir = Path(str(requested[-1])).expanduser().resolve()
    last_checkpoint(run_dir)
    for override in overrides:
        if override.key_or_group == RUN_DIR_KEY and Path(str(override.value())).resolve() != run_dir:
            raise ConfigError(
                f"{RUN_DIR_KEY}: a resumed run stays in its directory {run_dir}; drop {RUN_DIR_KEY}"
            )
    new = [o for o in overrides if o.key_or_group not in (RESUME_KEY, RUN_DIR_KEY)]
    task = [o for o in new if not o.is_hydra_override()]
    saved_lines = [str(line) for line in OmegaConf.load(run_dir / ".hydra" / "overrides.yaml")]
    saved = [o for o in parser.parse_overrides(saved_lines) if o.key_or_group != RESUME_KEY]
    merged = [*merge_overrides(saved, task), f"{RESUME_KEY}={quoted(str(run_dir))}"]
    search = []
    if args.config_dir:
        search = [f"hydra.searchpath=[{quoted('file://' + str(Path(args.config_dir).resolve()))}]"]
    directory = Path(args.config_path).resolve() if args.config_path else config_dir()
    changed = [o.key_or_group.replace("/", ".") for o in task]
    check_recomposes(run_dir, [*merged, *search], changed, directory, args.config_name or "train")
    flags = list(argv[1:])
    for line in args.overrides:
        flags.remove(line)
    hydra_overrides = [o.input_line for o in new if o.is_hydra_override()]
    return [argv[0], *flags, *merged, *hydra_overrides, f"{RUN_DIR_KEY}={quoted(str(run_dir))}"]
