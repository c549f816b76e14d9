"""Report figures as inline PNG data URIs (matplotlib, Agg backend, no files)."""

from __future__ import annotations

import base64
import io

from samplegen.cache import redirect_library_caches

redirect_library_caches()  # matplotlib's font cache goes under the samplegen cache, not ~
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["to_data_uri", "distribution_plot", "heatmap", "dcr_histogram", "shap_comparison"]

_REAL = "#444444"
_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf"]


#: figure width in inches at :data:`DPI`: >= 640 px, so tick labels stay readable
WIDTH = 7.0
DPI = 100


def to_data_uri(fig: plt.Figure, dpi: int = DPI) -> str:
    """PNG bytes of ``fig`` as a ``data:image/png;base64,...`` URI (the figure is closed).

    ``bbox_inches="tight"`` grows the canvas to hold every label (nothing is clipped)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def distribution_plot(column: str, real: pd.Series, synthetic: dict[str, pd.Series],
                      continuous: bool, max_values: int = 12) -> str:
    """Real vs each synthetic set: frequency bars (categorical) or histograms (continuous)."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6))
    if continuous:
        r = pd.to_numeric(real, errors="coerce").dropna().to_numpy(dtype=float)
        allv = [r] + [pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
                      for s in synthetic.values()]
        pooled = np.concatenate([v for v in allv if len(v)]) if any(len(v) for v in allv) \
            else np.zeros(1)
        lo, hi = np.quantile(pooled, [0.01, 0.99])
        if hi <= lo:
            lo, hi = float(pooled.min()) - 0.5, float(pooled.max()) + 0.5
        edges = np.linspace(lo, hi, 21)
        allv = [np.clip(v, lo, hi) for v in allv]
        r = allv[0]
        ax.hist(r, bins=edges, density=True, histtype="stepfilled", alpha=0.35, color=_REAL,
                label="real")
        for i, name in enumerate(synthetic):
            ax.hist(allv[i + 1], bins=edges, density=True, histtype="step", linewidth=1.6,
                    color=_COLORS[i % len(_COLORS)], label=name)
        ax.set_ylabel("density")
        column = f"{column} (1-99% range, tails clipped)"
    else:
        rs = real.astype(object).where(real.notna(), "NaN").astype(str)
        freq = rs.value_counts(normalize=True)
        values = list(freq.index[:max_values])
        series = {"real": freq}
        for name, s in synthetic.items():
            ss = s.astype(object).where(s.notna(), "NaN").astype(str)
            series[name] = ss.value_counts(normalize=True)
            values += [v for v in series[name].index[:3] if v not in values]
        values = values[: max_values + 3]
        width = 0.8 / len(series)
        x = np.arange(len(values))
        for i, (name, f) in enumerate(series.items()):
            color = _REAL if name == "real" else _COLORS[(i - 1) % len(_COLORS)]
            ax.bar(x + i * width - 0.4 + width / 2, [f.get(v, 0.0) for v in values], width,
                   color=color, label=name, alpha=0.8 if name == "real" else 1.0)
        ax.set_xticks(x)
        ax.set_xticklabels([_short(v) for v in values], rotation=45, ha="right", fontsize=8)
        ax.set_ylabel("share of rows")
    ax.set_title(column, fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.tick_params(labelsize=8)
    return to_data_uri(fig)


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def heatmap(diff: pd.DataFrame, title: str) -> str:
    """Diverging heatmap of association differences (synthetic - real) in [-1, 1]."""
    n = len(diff)
    size = max(WIDTH, min(11.0, 2.5 + 0.36 * n))
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    values = diff.to_numpy(dtype=float)
    # grey: an undefined association (a column constant in one table)
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#d9d9d9")
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=-1, vmax=1)
    for i, j in zip(*np.nonzero(~np.isfinite(values)), strict=True):
        ax.text(j, i, "n/a", ha="center", va="center", fontsize=6, color="#555555")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels([_short(str(c)) for c in diff.columns], rotation=90, fontsize=8)
    ax.set_yticklabels([_short(str(c)) for c in diff.index], fontsize=8)
    ax.set_title(title + "\n(grey n/a: a column constant in one table, no association)",
                 fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return to_data_uri(fig)


def dcr_histogram(dcr_train: np.ndarray, dcr_holdout: np.ndarray, baseline: np.ndarray,
                  title: str) -> str:
    """Histograms of synthetic rows' distance to the closest train / holdout row."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6))
    pooled = np.concatenate([dcr_train, dcr_holdout, baseline])
    edges = np.histogram_bin_edges(pooled, bins=25) if np.ptp(pooled) > 0 else 10
    kw = {"bins": edges, "weights": None}
    for values, color, label in ((dcr_train, "#d62728", "synthetic -> train"),
                                 (dcr_holdout, "#1f77b4", "synthetic -> holdout")):
        kw["weights"] = np.full(len(values), 1.0 / max(1, len(values)))
        ax.hist(values, alpha=0.55, color=color, label=label, **kw)
    kw["weights"] = np.full(len(baseline), 1.0 / max(1, len(baseline)))
    ax.hist(baseline, histtype="step", color=_REAL, linewidth=1.4,
            label="holdout -> train (real baseline)", **kw)
    ax.set_xlabel("distance to closest record", fontsize=9)
    ax.set_ylabel("share of rows", fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.tick_params(labelsize=8)
    return to_data_uri(fig)


def shap_comparison(real: pd.Series, synthetic: dict[str, pd.Series], top: int = 15) -> str:
    """Normalised mean |SHAP| per feature: real-trained vs each synthetic-trained model."""
    order = real.sort_values(ascending=False).index[:top]
    series = {"real-trained": real / real.sum() if real.sum() else real}
    for name, s in synthetic.items():
        series[f"{name} (TSTR)"] = s / s.sum() if s.sum() else s
    fig, ax = plt.subplots(figsize=(WIDTH, 1.0 + 0.32 * len(order) * max(1, len(series) / 2)))
    height = 0.8 / len(series)
    y = np.arange(len(order))
    for i, (name, s) in enumerate(series.items()):
        color = _REAL if i == 0 else _COLORS[(i - 1) % len(_COLORS)]
        ax.barh(y + i * height - 0.4 + height / 2, s.reindex(order).fillna(0).to_numpy(),
                height, color=color, label=name)
    ax.set_yticks(y)
    ax.set_yticklabels([_short(str(c)) for c in order], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share of mean |SHAP|", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    ax.tick_params(labelsize=8)
    return to_data_uri(fig)
