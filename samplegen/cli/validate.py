"""`samplegen validate`: does a synthetic set help ESMM? Real-only vs real + each set.

Trains ESMM on the same deterministic split and seeds for every arm (real-only,
real + each synthetic set, and with ``--global-conversions`` the global-conversion
rows alone and together with each set), evaluates on the real test rows, prints
one table (mean +- std, paired delta to real-only with a paired t-test, and the
share of the real-only -> oracle gap closed when the source has an oracle) and
writes ``metrics.json`` where every CVR AUC is tagged with its protocol.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from samplegen.cli.common import (
    CategoryOpt,
    ClickOpt,
    ConversionOpt,
    HeaderOpt,
    InvalidConversions,
    InvalidConversionsOpt,
    JsonOpt,
    KeepOpt,
    NImpressionsOpt,
    SchemaOpt,
    TestFileOpt,
    TimestampOpt,
    TrainFileOpt,
    ValidFileOpt,
    load_cli_inputs,
    print_json,
)
from samplegen.errors import UsageError

__all__ = ["register", "MAIN_METRICS"]

MAIN_METRICS = ["ctr_auc", "cvr_auc@click-space", "cvr_auc@entire-space", "ctcvr_auc",
                "ctcvr_logloss", "ctr_calibration", "ctcvr_gauc"]


def register(app: typer.Typer) -> None:
    @app.command("validate", context_settings={"allow_extra_args": True,
                                               "ignore_unknown_options": False})
    def _cmd(
        ctx: typer.Context,
        source: Annotated[str | None, typer.Argument(
            help="Built-in dataset (travel-sim) or a path; omit it with --train/--test.")
        ] = None,
        synthetic: Annotated[list[Path] | None, typer.Option(
            "--synthetic", help="Run directory (or Parquet/CSV) of synthetic rows; several "
                                "may follow one flag: --synthetic A B.")] = None,
        seeds: Annotated[int, typer.Option("--seeds", help="Training seeds per arm.")] = 5,
        out: Annotated[Path | None, typer.Option(
            "--out", help="Folder for metrics.json (default: the first synthetic run "
                          "directory, else ./samplegen-validate).")] = None,
        as_json: JsonOpt = False,
        global_conversions: Annotated[bool, typer.Option(
            "--global-conversions", help="Add the source's global-conversion candidates as "
                                         "an extra source (arms +global, +global+SET).")] = False,
        global_mode: Annotated[str, typer.Option(
            "--global-mode", help="labels (bought -> click=1,conversion=1) or head (a "
                                  "separate global task head).")] = "labels",
        global_weight: Annotated[float, typer.Option("--global-weight")] = 1.0,
        synthetic_weight: Annotated[float, typer.Option(
            "--synthetic-weight", help="Loss weight of synthetic rows.")] = 1.0,
        targets: Annotated[str | None, typer.Option(
            "--targets", help="Comma-separated target categories (default: cold-start and "
                              "sparse categories of the training rows).")] = None,
        epochs: Annotated[int, typer.Option("--epochs")] = 4,
        batch_size: Annotated[int, typer.Option("--batch-size")] = 2048,
        lr: Annotated[float, typer.Option("--lr")] = 2e-3,
        neg_rate: Annotated[str, typer.Option(
            "--neg-rate", help="Share of non-clicked TRAINING rows kept (auto: ~4 per click "
                               "on large tables); corrected at evaluation.")] = "auto",
        aux: Annotated[bool, typer.Option("--aux", help="Auxiliary-label tasks.")] = False,
        rank_alpha: Annotated[str, typer.Option(
            "--rank-alpha", help="Weight of the pairwise rank loss, or auto: chosen on the "
                                 "validation split from 0, 0.1, 0.3, 1 (real-only, up to 3 "
                                 "seeds; metrics.json records the grid and the choice).")] = "0",
        route: Annotated[bool, typer.Option(
            "--route/--no-route", help="Fliggy dynamic route: two CVR branches, batches "
                                       "without a positive train only the other one (the "
                                       "default: README, 'ESMM variants').")] = True,
        nise: Annotated[bool, typer.Option("--nise", help="NISE pseudo-labels.")] = False,
        threads: Annotated[int, typer.Option("--threads", help="torch CPU threads.")] = 1,
        valid_frac: Annotated[float, typer.Option("--valid-frac")] = 0.1,
        test_frac: Annotated[float, typer.Option("--test-frac")] = 0.2,
        split_seed: Annotated[int, typer.Option("--split-seed")] = 0,
        schema: SchemaOpt = None,
        click: ClickOpt = None,
        conversion: ConversionOpt = None,
        category: CategoryOpt = None,
        timestamp: TimestampOpt = None,
        invalid_conversions: InvalidConversionsOpt = InvalidConversions.error,
        header: HeaderOpt = None,
        n_impressions: NImpressionsOpt = None,
        train: TrainFileOpt = None,
        test: TestFileOpt = None,
        valid: ValidFileOpt = None,
        keep: KeepOpt = None,
    ) -> None:
        """Train ESMM real-only vs real + synthetic (same split and seeds); print and save."""
        sets = list(synthetic or [])
        for extra in ctx.args:
            if extra.startswith("-") or not sets:
                raise UsageError(f"unexpected argument {extra!r}. Fix: see 'samplegen "
                                 "validate --help'.")
            sets.append(Path(extra))
        if seeds < 1:
            raise UsageError(f"--seeds {seeds}: need at least 1 seed (5 recommended).")
        if epochs < 1:
            raise UsageError(f"--epochs {epochs} must be >= 1.")
        if not sets and not global_conversions:
            raise UsageError("nothing to compare. Fix: pass --synthetic DIR and/or "
                             "--global-conversions.")
        for p in sets:
            if not p.exists():
                raise UsageError(f"synthetic set {str(p)!r} does not exist. Fix: pass a run "
                                 "directory written by 'samplegen generate'.")
        rate = _neg_rate(neg_rate)
        src, split = load_cli_inputs(source, train, test, valid, keep=keep, quiet=as_json,
                                     schema=schema, click=click, conversion=conversion,
                                     category=category, timestamp=timestamp,
                                     invalid_conversions=invalid_conversions, header=header,
                                     n_impressions=n_impressions)
        if src.schema.click is None:
            raise UsageError(f"source {src.name!r} has no click column. Fix: name it with "
                             "--click COL or role: click in a --schema file.")
        if src.schema.conversion is None:
            raise UsageError(f"source {src.name!r} has no conversion column. Fix: name it with "
                             "--conversion COL.")
        result = _run(src, sets, seeds=seeds, targets=targets, global_conversions=global_conversions,
                      global_mode=global_mode, global_weight=global_weight,
                      synthetic_weight=synthetic_weight, epochs=epochs, batch_size=batch_size,
                      lr=lr, rate=rate, aux=aux, rank_alpha=_rank_alpha(rank_alpha),
                      route=route, nise=nise,
                      threads=threads, valid_frac=valid_frac, test_frac=test_frac,
                      split_seed=split_seed, progress=not as_json, split=split)
        folder = out or (sets[0] if sets and sets[0].is_dir() else Path("samplegen-validate"))
        path = result.save(Path(folder) / "metrics.json")
        if as_json:
            print_json(result.to_dict() | {"metrics_path": str(path)})
            return
        _print_table(result, src.oracle is not None)
        _print_rank_choice(result.config.get("rank_alpha_selection"))
        _print_integrity(result)
        from samplegen.cli import console

        console.print(f"metrics: {path}")


def _neg_rate(value: str) -> float | None:
    if value == "auto":
        return None
    try:
        rate = float(value)
    except ValueError:
        raise UsageError(f"--neg-rate {value!r}: use 'auto' or a number in (0, 1].") from None
    if not 0 < rate <= 1:
        raise UsageError(f"--neg-rate {rate} must be in (0, 1].")
    return rate


def _rank_alpha(value: str) -> float | None:
    """``None`` for auto (chosen on validation), else the weight."""
    if value == "auto":
        return None
    try:
        alpha = float(value)
    except ValueError:
        raise UsageError(f"--rank-alpha {value!r}: use 'auto' or a number >= 0.") from None
    if not alpha >= 0:
        raise UsageError(f"--rank-alpha {alpha} must be >= 0 (or auto).")
    return alpha


def _print_rank_choice(sel: dict[str, Any] | None) -> None:
    if not sel:
        return
    from samplegen.cli import console

    grid = ", ".join(f"{s['alpha']:g}: {_fmt(s['mean'])}" for s in sel["scores"])
    console.print(f"rank_alpha auto: {sel['alpha']:g}, chosen on the validation split by "
                  f"{_label(sel['metric'])} (mean of seeds {sel['seeds']}: {grid})",
                  highlight=False)


def _run(src: Any, sets: list[Path], *, seeds: int, targets: str | None,
         global_conversions: bool, global_mode: str, global_weight: float,
         synthetic_weight: float, epochs: int, batch_size: int, lr: float, rate: float | None,
         aux: bool, rank_alpha: float | None, nise: bool, threads: int, valid_frac: float,
         test_frac: float, split_seed: int, progress: bool, split: Any = None,
         route: bool = False) -> Any:
    from downstream.experiment import run_experiment
    from downstream.fit import ModelOptions
    from downstream.trainer import TrainConfig
    from samplegen.split import make_split

    names: dict[str, Path] = {}
    for p in sets:
        name = p.stem if p.is_file() else p.name
        while name in names:
            name += "'"
        names[name] = p
    if split is None:
        split = make_split(src, valid_frac=valid_frac, test_frac=test_frac, seed=split_seed)
    tlist = [t.strip() for t in targets.split(",") if t.strip()] if targets else None
    opts = ModelOptions(neg_rate=rate, aux=aux, rank_alpha=rank_alpha or 0.0, route=route,
                        nise=nise)
    tc = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, threads=threads)
    choice = None
    if rank_alpha is None:
        choice = _choose_rank_alpha(src, split, tlist, opts, tc, seeds)
        opts.rank_alpha = choice.alpha
    result = run_experiment(src, split, {k: str(v) for k, v in names.items()}, seeds=seeds,
                            targets=tlist, global_rows=global_conversions,
                            global_mode=global_mode, global_weight=global_weight,
                            synthetic_weight=synthetic_weight, options=opts, train_config=tc,
                            progress=progress)
    if choice is not None:
        result.config["rank_alpha_selection"] = choice.to_dict()
    return result


def _choose_rank_alpha(src: Any, split: Any, targets: list[str] | None, opts: Any, tc: Any,
                       seeds: int) -> Any:
    """``--rank-alpha auto``: the weight from the grid with the best validation
    click-space CVR AUC of real-only ESMM (never the test rows)."""
    from downstream.experiment import _default_targets, _frames
    from downstream.fit import ModelOptions, auto_neg_rate
    from downstream.tuning import choose_rank_alpha

    train, valid, _ = _frames(src, split)
    if opts.neg_rate is None:  # the rate run_experiment will use
        opts = ModelOptions.from_dict({**opts.__dict__,
                                       "neg_rate": auto_neg_rate(train, src.schema.click)})
    tl = targets if targets is not None else _default_targets(train, src.schema)
    return choose_rank_alpha(train, valid, src.schema, seeds=list(range(min(seeds, 3))),
                             targets=tl, options=opts, train_config=tc)


def _fmt(v: float, spec: str = ".4f", signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, ("+" if signed else "") + spec)


def _label(metric: str) -> str:
    """Short display name; the protocol stays visible (click-space / entire-space)."""
    base, _, cat = metric.partition("[cat=")
    names = {"ctr_auc": "CTR AUC", "cvr_auc@click-space": "CVR AUC click-space",
             "cvr_auc@entire-space": "CVR AUC entire-space", "ctcvr_auc": "CTCVR AUC",
             "ctcvr_logloss": "CTCVR LogLoss", "ctr_calibration": "CTR calib. (corr.)",
             "ctcvr_gauc": "CTCVR GAUC by user"}
    if cat:
        space = "click-space" if "click-space" in base else "entire-space"
        return f"CVR AUC {cat.rstrip(']')} ({space})"
    return names.get(metric, metric)


def _print_integrity(result: Any) -> None:
    """One line per synthetic set: where it was fitted and how much of the test it copies."""
    from samplegen.cli import console

    overlap = (result.config.get("split", {}).get("rule") or {}).get("overlap") or {}
    if overlap.get("train&test"):
        console.print(f"[bold red]warning:[/] {overlap['train&test']} row(s) are in both the "
                      "train and the test file", highlight=False)
    for name, rec in (result.config.get("integrity") or {}).items():
        prov = rec.get("provenance", {})
        cont = rec.get("contamination", {})
        flag = "[bold red]CONTAMINATED[/]" if cont.get("contaminated") else "clean"
        console.print(f"integrity {name}: fitted {prov.get('status', 'unknown')}; test copies "
                      f"{cont.get('exact', 0)} exact + {cont.get('near', 0)} near of "
                      f"{cont.get('rows', 0)} ({cont.get('share', 0):.2%}) -> {flag}",
                      highlight=False)


def _print_table(result: Any, has_oracle: bool) -> None:
    from rich.table import Table

    from samplegen.cli import console

    s = result.summary
    cats = [m for m in dict.fromkeys(s["metric"]) if "[cat=" in m]
    cats = [m for m in cats if s[s["metric"] == m]["mean"].notna().any()]
    t = Table(title=f"ESMM validation: {len(result.seeds)} seed(s); test = real rows; "
                    "p = paired t-test vs real-only", title_justify="left")
    t.add_column("metric")
    t.add_column("arm")
    t.add_column("mean ± std", justify="right")
    t.add_column("Δ (p)", justify="right")
    if has_oracle:
        t.add_column("oracle", justify="right")
        t.add_column("gap", justify="right")
    for m in MAIN_METRICS + cats:
        part = s[s["metric"] == m]
        for i, (_, r) in enumerate(part.iterrows()):
            delta = "" if r["arm"] == "real-only" else \
                f"{_fmt(r['delta'], signed=True)} ({_fmt(r['p_value'], '.2f')})"
            row = [_label(m) if i == 0 else "", str(r["arm"]),
                   f"{_fmt(r['mean'])} ± {_fmt(r['std'])}", delta]
            if has_oracle:
                row += [_fmt(r["oracle"]) if i == 0 else "",
                        "" if r["arm"] == "real-only" else _fmt(r["gap_closed"], ".0%")]
            t.add_row(*row, end_section=i == len(part) - 1)
    console.print(t)
