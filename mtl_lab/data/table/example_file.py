"""The small CSV that ``data=table`` declares as its example (for the datamodule contract tests).

40 rows, split by the column ``split`` (rows 0-7 of every 10 train, 8 val, 9 test): numeric ``x1``,
``x2``, categorical ``colour``, labels ``flag`` (binary 0/1), ``kind`` (classes a/b/c) and ``amount``
(regression), each with a few missing cells, and every task labelled in every split.
"""

from __future__ import annotations

from pathlib import Path

HEADER = "x1,x2,colour,flag,kind,amount,split"


def _row(i: int) -> str:
    x1 = "" if i == 5 else f"{i * 0.5:g}"
    colour = "" if i == 7 else ("red", "green", "blue")[i % 3]
    flag = "" if i % 5 == 0 else str(int(i % 4 >= 2))
    kind = "" if i % 6 == 1 else "abc"[(i // 2) % 3]
    amount = "" if i % 7 == 2 else f"{i * 1.5 - 3:g}"
    split = "train" if i % 10 < 8 else ("val" if i % 10 == 8 else "test")
    return f"{x1},{(i * 7) % 11},{colour},{flag},{kind},{amount},{split}"


def write_example_table(path: Path) -> Path:
    """Write the example CSV at ``path`` (its parent created) and return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *(_row(i) for i in range(40))]) + "\n")
    return path
