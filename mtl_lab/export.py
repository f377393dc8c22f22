"""``mtl-export run=<run dir> format=onnx|torchscript [ckpt=best|last|<path>] [output=<path>]
[overwrite=true] [key=value ...]``.

Writes the run's model as one self-contained file (default ``<run dir>/export/model.onnx`` or
``model.pt``) and, for a ``data=table`` run, a copy of its ``preprocessing.json`` next to it (see
:func:`mtl_lab.model_export.export_run`). Other ``key=value`` arguments override the run's config as in
mtl-eval. Errors are one line, ``mtl-export: error: ...``, exit status 1.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Sequence

from mtl_lab.cli_arguments import split_own_arguments
from mtl_lab.errors import ConfigError, MtlLabError
from mtl_lab.model_export import export_run

warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")

USAGE = (
    "usage: mtl-export run=<run dir> format=onnx|torchscript [ckpt=best|last|<path>] [output=<path>] "
    "[overwrite=true] [key=value ...]"
)
#: Arguments of mtl-export itself, taken verbatim (paths may hold any character).
OWN_KEYS = ("run", "format", "ckpt", "output", "overwrite")


def split_arguments(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """mtl-export's own values (:data:`OWN_KEYS`), and the config overrides (everything else)."""
    required = {"run": "run=<run dir>", "format": "format=onnx or format=torchscript"}
    own, overrides = split_own_arguments(argv, OWN_KEYS, required)
    if own.get("overwrite", "false").lower() not in ("true", "false"):
        raise ConfigError(f"overwrite: expected true or false, got {own['overwrite']!r}")
    return own, overrides


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE)
        return
    try:
        own, overrides = split_arguments(argv)
        result = export_run(
            own["run"],
            own["format"],
            ckpt=own.get("ckpt", "best"),
            output=own.get("output"),
            overwrite=own.get("overwrite", "false").lower() == "true",
            overrides=overrides,
        )
    except MtlLabError as err:
        sys.exit(f"mtl-export: error: {err}")
    inputs = ", ".join(f"{n} {v['shape']} {v['dtype']}" for n, v in result.description["inputs"].items())
    print(f"model: {result.path}")
    print(f"inputs: {inputs}")
    print(f"outputs: {json.dumps({t: v['output'] for t, v in result.description['outputs'].items()})}")
    if result.preprocessing is not None:
        print(f"preprocessing: {result.preprocessing}")


if __name__ == "__main__":
    main()
