"""PNG plots written next to the JSON they summarise (matplotlib's Agg backend, no display), and the
one smoothing of noisy training losses that plots and run cards share."""

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


def smooth(values: list[float], window: int | None = None) -> list[float]:
    """Trailing moving average: point i is the mean of the last `window` values up to i (fewer at the
    start, so the first point is the first value). Default window: a fifth of the series, 1 to 10."""
    window = window or smoothing_window(len(values))
    return [sum(part) / len(part) for part in (values[max(0, i + 1 - window):i + 1] for i in range(len(values)))]


def smoothing_window(points: int) -> int:
    """The default window of `smooth`: a fifth of the series, at least 1 and at most 10 points."""
    return max(1, min(10, points // 5))


def loss_plot(path: str | Path, losses: list[float], *, x: list[float] | None = None, name: str = "loss",
              **labels) -> Path:
    """A loss curve, raw and smoothed (`smooth`); `labels` are line_plot's xlabel, ylabel and title."""
    window = smoothing_window(len(losses))
    return line_plot(path, {name: losses, f"{name}, mean of last {window}": smooth(losses, window)}, x=x, **labels)


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
