"""PNG plots written next to the JSON they summarise (matplotlib's Agg backend, no display)."""

from __future__ import annotations

from pathlib import Path


def line_plot(path: str | Path, series: dict[str, list[float]], *, x: list[float] | None = None,
              xlabel: str = "step", ylabel: str = "", title: str = "") -> Path:
    """One line per entry of `series` (name -> values); returns the written path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for name, values in series.items():
        ax.plot(x if x is not None else range(len(values)), values, label=name)
    if x is None or all(float(v).is_integer() for v in x):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # rounds and steps are whole numbers
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def bar_plot(path: str | Path, counts: dict[str, float], *, ylabel: str = "", title: str = "") -> Path:
    """A bar per entry of `counts`; returns the written path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.bar(list(counts), list(counts.values()))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
