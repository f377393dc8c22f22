"""``mtl-eval run=<run dir> [ckpt=best|last|<path>] [split=test|val] [key=value ...]``.

Re-evaluates a finished run on its own saved config (other ``key=value`` arguments override it, Hydra
grammar), prints the per-task table and writes ``<run dir>/eval.json`` (see
:func:`mtl_lab.evaluation.evaluate_run`). Errors are one line, ``mtl-eval: error: ...``, exit status 1.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

from mtl_lab.cli_arguments import split_own_arguments
from mtl_lab.errors import MtlLabError
from mtl_lab.evaluation import evaluate_run
from mtl_lab.summary import SUMMARY_FILE, format_results_table, read_summary

warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")

USAGE = "usage: mtl-eval run=<run dir> [ckpt=best|last|<path>] [split=test|val] [key=value ...]"
#: Arguments of mtl-eval itself; their values are taken verbatim (paths may hold any character).
OWN_KEYS = ("run", "ckpt", "split")


def split_arguments(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """``run=``/``ckpt=``/``split=`` values, and the config overrides (everything else)."""
    return split_own_arguments(argv, OWN_KEYS, {"run": "run=<run dir>"})


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE)
        return
    try:
        own, overrides = split_arguments(argv)
        result = evaluate_run(own["run"], own.get("ckpt", "best"), own.get("split", "test"), overrides)
    except MtlLabError as err:
        sys.exit(f"mtl-eval: error: {err}")
    record = result.record
    summary_path = result.path.parent / SUMMARY_FILE
    weights = read_summary(summary_path).get("weights", {}) if summary_path.is_file() else {}
    print(f"\n{record['split'].capitalize()} results ({record['checkpoint']}):")
    print(format_results_table({**record, "weights": weights}, split=record["split"]))
    if result.kept_previous is not None:
        print(f"previous {result.path.name} kept as {result.kept_previous.name}")
    print(f"eval: {result.path}")


if __name__ == "__main__":
    main()
