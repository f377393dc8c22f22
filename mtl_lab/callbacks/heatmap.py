"""An annotated K x K heatmap of a task-by-task matrix, written as a PNG (no pyplot state: safe in any
backend and thread), replacing the file atomically."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor


def save_task_heatmap(
    matrix: Tensor,
    tasks: list[str],
    path: str | Path,
    title: str,
    *,
    cmap: str,
    limits: tuple[float, float],
    label: str,
    axis_labels: tuple[str, str] | None = None,
) -> Path:
    """Cells coloured by ``cmap`` over ``limits`` and annotated with their values (2 decimals); rows and
    columns named by ``tasks``; ``axis_labels``: (x, y) axis titles; ``label``: the colour bar's."""
    from matplotlib.figure import Figure

    size = 1.2 + 0.65 * len(tasks)
    figure = Figure(figsize=(size + 1.2, size), layout="constrained")
    axes = figure.add_subplot()
    values = matrix.double().cpu().numpy()
    image = axes.imshow(values, cmap=cmap, vmin=limits[0], vmax=limits[1])
    axes.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right")
    axes.set_yticks(range(len(tasks)), tasks)
    if axis_labels is not None:
        axes.set_xlabel(axis_labels[0])
        axes.set_ylabel(axis_labels[1])
    for i in range(len(tasks)):
        for j in range(len(tasks)):
            rgba = image.cmap(image.norm(values[i, j]))
            dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.5
            colour = "white" if dark else "black"
            axes.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", color=colour, fontsize=8)
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, label=label)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    figure.savefig(tmp, dpi=120)
    tmp.replace(path)
    return path
