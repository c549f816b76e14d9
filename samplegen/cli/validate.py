"""`samplegen validate`: does a synthetic set help ESMM? Real-only vs real + each set.

Trains ESMM on the same deterministic split and seeds for every arm (real-only,
real + each synthetic set, and with ``--global-conversions`` the global-conversion
rows alone and together with each set), evaluates on the real test rows, prints
one table (mean +- std, paired delta to real-only with a paired t-test, and the
share of the real-only -> oracle gap closed when the source has an oracle) and
writes ``metrics.json`` where every CVR AUC is tagged with its protocol.
"""

from __future__ import annotations

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
    require_finished_sets,
)
from samplegen.cli.validate_tables import MAIN_METRICS, print_results
from samplegen.errors import UsageError

__all__ = ["register", "MAIN_METRICS"]


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
        seeds: Annotated[int | None, typer.Option(
            "--seeds", help="Training seeds per arm (default: 10 on travel-sim, where "
                            "per-target differences of 0.01 need them; 5 elsewhere).")] = None,
        fresh_real: Annotated[bool, typer.Option(
            "--fresh-real", help="travel-sim: add the real-data ceilings +fresh-positives and "
                                 "+fresh-impressions (same-world draws in the training "
                                 "window).")] = False,
        test_conversions: Annotated[int, typer.Option(
            "--test-conversions", help="travel-sim: enlarge each target's test with "
                                       "same-world draws to this many conversions (0: the "
                                       "split's test only).")] = 1000,
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
        level: Annotated[str, typer.Option(
            "--level", help="Target conversion level of each target: auto (empirical-Bayes "
                            "estimate from the training rows), none (today: no level "
                            "correction), a rate, or 'CAT=RATE,...'.")] = "none",
        level_fix: Annotated[str, typer.Option(
            "--level-fix", help="How --level is reached: weights (of the synthetic rows) or "
                                "offset (a per-target CVR logit shift at inference, solved "
                                "on the validation clicks).")] = "weights",
        synthetic_rows: Annotated[str, typer.Option(
            "--synthetic-rows", help="all (synthetic rows enter every ESMM loss) or cvr "
                                     "(only a click-space CVR term, never CTR/CTCVR).")
        ] = "all",
        synthetic_bias: Annotated[bool, typer.Option(
            "--synthetic-bias", help="A train-only bias on the CVR logit of synthetic rows "
                                     "(provenance tag, dropped at inference).")] = False,
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
        if seeds is not None and seeds < 1:
            raise UsageError(f"--seeds {seeds}: need at least 1 seed (10 recommended).")
        if test_conversions < 0:
            raise UsageError(f"--test-conversions {test_conversions} must be >= 0.")
        if epochs < 1:
            raise UsageError(f"--epochs {epochs} must be >= 1.")
        if not sets and not global_conversions and not fresh_real:
            raise UsageError("nothing to compare. Fix: pass --synthetic DIR, "
                             "--global-conversions and/or --fresh-real (travel-sim).")
        for p in sets:
            if not p.exists():
                raise UsageError(f"synthetic set {str(p)!r} does not exist. Fix: pass a run "
                                 "directory written by 'samplegen generate'.")
        require_finished_sets(sets, quiet=as_json)
        rate = _neg_rate(neg_rate)
        from samplegen.level import parse_level

        level_arg = parse_level(level)
        if level_fix not in ("weights", "offset"):
            raise UsageError(f"--level-fix {level_fix!r}: use weights or offset.")
        if synthetic_rows not in ("all", "cvr"):
            raise UsageError(f"--synthetic-rows {synthetic_rows!r}: use all or cvr.")
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
        from samplegen.datasets.travel_sim_truth import is_travel_sim

        sim = is_travel_sim(src)
        if fresh_real and not sim:
            raise UsageError(f"--fresh-real needs a simulator (travel-sim): {src.name!r} has no "
                             "world to draw fresh real rows from. Fix: drop --fresh-real.")
        if seeds is None:
            seeds = 10 if sim else 5
        ruler = {"test_conversions": test_conversions if sim else 0, "fresh_real": fresh_real}
        result = _run(src, sets, ruler=ruler, seeds=seeds, targets=targets, global_conversions=global_conversions,
                      global_mode=global_mode, global_weight=global_weight,
                      synthetic_weight=synthetic_weight, epochs=epochs, batch_size=batch_size,
                      lr=lr, rate=rate, aux=aux, rank_alpha=_rank_alpha(rank_alpha),
                      route=route, nise=nise,
                      threads=threads, valid_frac=valid_frac, test_frac=test_frac,
                      split_seed=split_seed, progress=not as_json, split=split,
                      recipe={"level": level_arg, "level_fix": level_fix,
                              "synthetic_rows": synthetic_rows,
                              "synthetic_bias": synthetic_bias})
        folder = out or (sets[0] if sets and sets[0].is_dir() else Path("samplegen-validate"))
        path = result.save(Path(folder) / "metrics.json")
        if as_json:
            print_json(result.to_dict() | {"metrics_path": str(path)})
            return
        print_results(result, src.oracle is not None)
        from samplegen.cli import console

        console.print(f"metrics: {path}")


def _auto_number(flag: str, value: str, ok: Any, rule: str) -> float | None:
    """``None`` for ``auto``, else the number (UsageError naming ``rule`` when not ``ok``)."""
    if value == "auto":
        return None
    try:
        x = float(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r}: use 'auto' or a number {rule}.") from None
    if not ok(x):
        raise UsageError(f"{flag} {x} must be {rule} (or auto).")
    return x


def _neg_rate(value: str) -> float | None:
    return _auto_number("--neg-rate", value, lambda r: 0 < r <= 1, "in (0, 1]")


def _rank_alpha(value: str) -> float | None:
    """``None`` for auto (chosen on validation), else the weight."""
    return _auto_number("--rank-alpha", value, lambda a: a >= 0, ">= 0")


def _run(src: Any, sets: list[Path], *, ruler: dict[str, Any], seeds: int, targets: str | None,
         global_conversions: bool, global_mode: str, global_weight: float,
         synthetic_weight: float, epochs: int, batch_size: int, lr: float, rate: float | None,
         aux: bool, rank_alpha: float | None, nise: bool, threads: int, valid_frac: float,
         test_frac: float, split_seed: int, progress: bool, split: Any = None,
         route: bool = False, recipe: dict[str, Any] | None = None) -> Any:
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
    recipe = recipe or {}
    opts = ModelOptions(neg_rate=rate, aux=aux, rank_alpha=rank_alpha or 0.0, route=route,
                        nise=nise, synthetic_rows=recipe.get("synthetic_rows", "all"),
                        synthetic_bias=recipe.get("synthetic_bias", False))
    tc = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, threads=threads)
    choice = None
    if rank_alpha is None:
        choice = _choose_rank_alpha(src, split, tlist, opts, tc, seeds)
        opts.rank_alpha = choice.alpha
    instrument = None
    if ruler["test_conversions"] or ruler["fresh_real"]:
        instrument = _instrument(src, split, names, tlist, ruler)
        tlist = instrument.targets
    result = run_experiment(src, split, {k: str(v) for k, v in names.items()}, seeds=seeds,
                            targets=tlist, global_rows=global_conversions,
                            global_mode=global_mode, global_weight=global_weight,
                            synthetic_weight=synthetic_weight, options=opts, train_config=tc,
                            progress=progress, instrument=instrument,
                            level=recipe.get("level"), level_fix=recipe.get("level_fix", "weights"))
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


def _instrument(src: Any, split: Any, names: dict[str, Path], targets: list[str] | None,
                ruler: dict[str, Any]) -> Any:
    """travel-sim's enlarged per-target test and (with --fresh-real) its ceilings."""
    from downstream.experiment import load_synthetic
    from downstream.ruler import Instrument, largest_set_rows
    from samplegen.split import sparse_categories

    if not targets:
        rep = sparse_categories(split.frames(src)[0], src.schema)
        targets = list(dict.fromkeys([*rep.cold_start, *rep.sparse]))
    fresh = None
    if ruler["fresh_real"]:
        sets = {k: load_synthetic(str(v), src.schema, k) for k, v in names.items()}
        fresh = largest_set_rows(sets, src.schema.category, targets) if sets else 20
        if isinstance(fresh, dict) and not any(fresh.values()):
            fresh = 20
    return Instrument.build(src, split, targets, min_test_conversions=ruler["test_conversions"],
                            fresh_positives=fresh)
