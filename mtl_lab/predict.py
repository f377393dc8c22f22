"""``mtl-predict run=<run dir> output=<file> [split=test|val|train] [ckpt=best|last|<path>]
[carry=[col,...]] [predict.probabilities=true] [overwrite=true] [key=value ...]``.

Writes a finished run's predictions, one row per input row in input order, to ``output`` (``.parquet``,
``.csv`` or ``.jsonl``) and, when the rows have labels, their metrics to ``<output>.metrics.json`` (see
:func:`mtl_lab.prediction.run.predict_run`). Other ``key=value`` arguments override the run's config as
in mtl-eval (``data.path=new.parquet``: predict a new file, a table or a text run's), and
``trainer=<option>`` selects a trainer (``trainer=ddp_cpu``). Errors are one line,
``mtl-predict: error: ...``, exit status 1.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

from mtl_lab.cli_arguments import split_own_arguments
from mtl_lab.ddp import ddp_job
from mtl_lab.errors import ConfigError, MtlLabError
from mtl_lab.prediction import predict_run

warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")

USAGE = (
    "usage: mtl-predict run=<run dir> output=<file .parquet|.csv|.jsonl> [split=test|val|train] "
    "[ckpt=best|last|<path>] [carry=[column,...]] [predict.probabilities=true] [overwrite=true] "
    "[trainer=<option>] [key=value ...]"
)
#: Arguments of mtl-predict itself; run, output and ckpt are taken verbatim (paths may hold any character).
OWN_KEYS = ("run", "output", "split", "ckpt", "carry", "predict.probabilities", "overwrite")
FLAGS = ("predict.probabilities", "overwrite")


def _flag(key: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value.lower() == "true"


def _columns(value: str) -> list[str]:
    """``carry``'s value: one column name or a list (Hydra's grammar: ``[id, 'a b']``)."""
    try:
        parsed = OverridesParser.create().parse_override(f"carry={value}").value()
    except HydraException as err:
        raise ConfigError(f"carry: cannot parse {value!r} ({str(err).splitlines()[0]})") from None
    columns = parsed if isinstance(parsed, list) else [parsed]
    if not columns or not all(isinstance(c, str) and c for c in columns):
        raise ConfigError(f"carry: expected a column name or a list of them, e.g. carry=[id], got {value!r}")
    return columns


def split_arguments(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """mtl-predict's own values (:data:`OWN_KEYS`), and the config overrides (everything else)."""
    return split_own_arguments(argv, OWN_KEYS, {"run": "run=<run dir>", "output": "output=<file>"})


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE)
        return
    try:
        own, overrides = split_arguments(argv)
        with ddp_job():
            result = predict_run(
                own["run"],
                own["output"],
                split=own.get("split", "test"),
                ckpt=own.get("ckpt", "best"),
                overrides=overrides,
                carry=_columns(own["carry"]) if "carry" in own else (),
                probabilities=_flag("predict.probabilities", own.get("predict.probabilities", "false")),
                overwrite=_flag("overwrite", own.get("overwrite", "false")),
            )
    except MtlLabError as err:
        sys.exit(f"mtl-predict: error: {err}")
    if result is None:
        return
    print(f"predicted {result.rows} rows ({result.description}): {result.output}")
    for name, value in result.record["metrics"].items():
        print(f"  {name} = {value if value is None else f'{value:.4f}'}")
    if result.metrics_path is not None:
        print(f"metrics: {result.metrics_path}")


if __name__ == "__main__":
    main()
