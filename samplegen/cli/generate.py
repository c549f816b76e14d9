"""`samplegen generate`: synthetic positives for the sparse categories, into a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

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
    TimestampOpt,
    load_cli_inputs,
    print_json,
)
from samplegen.errors import UsageError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("generate")
    def _generate(
        source: Annotated[str | None, typer.Argument(
            help="Built-in dataset (travel-sim) or a path (CSV/Parquet/JSONL/HF dataset folder). "
                 "Omit it when giving --train/--test.")] = None,
        generator: Annotated[str, typer.Option(
            "--generator", "-g", help="Generator name (see `--list-generators`).")] = "",
        target: Annotated[list[str] | None, typer.Option(
            "--target", help="COL=VALUE[,COL2=VALUE2] conditions of one target; repeatable. "
                             "Default: every cold-start and sparse category. click=1 and "
                             "conversion=1 unless given.")] = None,
        n: Annotated[int | None, typer.Option("--n", help="Total rows, split over the "
                                              "targets (default 1000).")] = None,
        per_category: Annotated[int | None, typer.Option(
            "--per-category", help="Rows per target (instead of --n).")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of fitting and sampling.")] = 0,
        out: Annotated[Path | None, typer.Option(
            "--out", help="Run directory (default runs/<source>-<generator>-s<seed>).")] = None,
        resume: Annotated[bool, typer.Option(
            "--resume", help="Continue an interrupted run with the same flags.")] = False,
        epochs: Annotated[int | None, typer.Option(
            "--epochs", help="Training epochs (CTGAN, TVAE, CopulaGAN, llm-finetune).")] = None,
        align: Annotated[str, typer.Option(
            "--align", help="Select rows after generation: none, shap or cllm.")] = "cllm",
        keep_model: Annotated[bool, typer.Option(
            "--keep-model", help="Also save the fitted generator under OUT/model/ (can be "
            "hundreds of MB; a resume refits it from the seed and the training rows "
            "otherwise).")] = False,
        workers: Annotated[int, typer.Option(
            "--workers", help="Worker processes sharing the run's chunks.")] = 1,
        chunk_rows: Annotated[int, typer.Option(
            "--chunk-rows", help="Rows per chunk file (the unit of resume and of work).")] = 5000,
        backend: Annotated[str | None, typer.Option(
            "--backend", help="LLM generators: transformers, vllm or openai.")] = None,
        model: Annotated[str | None, typer.Option(
            "--model", help="LLM generators: model alias, folder, GGUF file or server model.")]
        = None,
        base_url: Annotated[str | None, typer.Option(
            "--base-url", help="LLM generators, --backend openai: server URL "
            "(http://HOST:PORT/v1).")] = None,
        template: Annotated[str | None, typer.Option(
            "--template", help="llm-fewshot: prompt template name or .j2 path.")] = None,
        constrained: Annotated[bool | None, typer.Option(
            "--constrained/--no-constrained",
            help="LLM generators: schema-constrained decoding (default on).")] = None,
        param: Annotated[list[str] | None, typer.Option(
            "--param", help="Extra generator parameter KEY=VALUE; repeatable.")] = None,
        train: Annotated[Path | None, typer.Option(
            "--train", help="Your own training file (with --test) instead of SOURCE.")] = None,
        test: Annotated[Path | None, typer.Option("--test", help="Your own test file.")] = None,
        valid: Annotated[Path | None, typer.Option("--valid", help="Your own validation file.")]
        = None,
        schema: SchemaOpt = None,
        click: ClickOpt = None,
        conversion: ConversionOpt = None,
        category: CategoryOpt = None,
        timestamp: TimestampOpt = None,
        invalid_conversions: InvalidConversionsOpt = InvalidConversions.error,
        header: HeaderOpt = None,
        n_impressions: NImpressionsOpt = None,
        keep: KeepOpt = None,
        list_generators: Annotated[bool, typer.Option(
            "--list-generators", help="Print the generator names and exit.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Fit a generator on the training split and write synthetic positives to a run directory."""
        from samplegen.cli import console
        from samplegen.generators import generator_class
        from samplegen.generators import list_generators as names
        from samplegen.pipeline import generate, parse_target

        if list_generators:
            console.print("\n".join(names()))
            return
        if not generator:
            raise UsageError(f"--generator is required. Fix: use one of {names()}.")
        generator_class(generator)  # unknown name: exit 2 before loading data
        if align != "none":
            from samplegen.align import get_aligner

            get_aligner(align)  # unknown aligner: exit 2 before loading data
        if resume and out is not None:
            _require_run(out)
        targets = [parse_target(t) for t in (target or [])]
        params = _params(param or [])
        if backend is not None:
            params["backend"] = backend
        if model is not None:
            params["model"] = model
        for key, value in (("base_url", base_url), ("template", template),
                           ("constrained", constrained)):
            if value is not None:
                params[key] = value
        load_kw: dict[str, Any] = dict(schema=schema, click=click, conversion=conversion,
                                       category=category, timestamp=timestamp,
                                       invalid_conversions=invalid_conversions, header=header)
        src, split = load_cli_inputs(source, train, test, valid, keep=keep, quiet=as_json,
                                     n_impressions=n_impressions, **load_kw)
        from samplegen.cli import note_resume

        flags = [] if resume else ["--resume"]
        if out is None:
            out = Path("runs") / f"{_slug(src.name)}-{generator}-s{seed}"
            flags = ["--out", str(out), *flags]
            if resume:
                _require_run(out)
        note_resume(str(out), flags)
        result = _run(src, generator, out=out, n=n, per_category=per_category, targets=targets,
                      seed=seed, resume=resume, epochs=epochs, align=align, workers=workers,
                      chunk_rows=chunk_rows, params=params, split=split, quiet=as_json,
                      keep_model=keep_model, generate=generate)
        m = result.manifest
        if as_json:
            print_json({"out": str(result.out), "status": m["status"], "counts": m["counts"],
                        "per_target": m["per_target"], "timings": m["timings"]})
        else:
            _summary(m, result.out, console)
        if m["status"] != "complete":
            from samplegen.errors import IncompleteError

            raise IncompleteError(
                f"short run: wrote {m['counts']['written']} of {m['counts']['requested']} rows "
                f"(the generator ran out of patience; reasons in {result.out / 'manifest.json'}"
                "). Fix: rerun with --resume to retry, or ask for fewer rows.")


def _require_run(out: Path) -> None:
    """--resume needs a run to continue: never start a fresh one silently."""
    if not (out / "manifest.json").is_file():
        raise UsageError(f"--resume: {str(out)!r} holds no run to resume. Fix: drop --resume "
                         "to start a new run there, or pass the --out of the stopped run.")


def _run(src: Any, generator: str, *, quiet: bool, generate: Any, params: dict[str, Any],
         **kw: Any) -> Any:
    """Run the pipeline; its bars (samplegen.progress) go to stderr unless ``quiet``."""
    from samplegen.progress import quieted

    with quieted(quiet):
        return generate(src, generator, generator_params=params, **kw)


def _params(items: list[str]) -> dict[str, Any]:
    import json

    out: dict[str, Any] = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not eq or not k:
            raise UsageError(f"--param {item!r} is not KEY=VALUE.")
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in Path(name).stem)[:40]


def _summary(m: dict[str, Any], out: Path, console: Any) -> None:
    c = m["counts"]
    t = Table(title=f"{m['generator']['name']} -> {out}", title_justify="left")
    t.add_column("target")
    t.add_column("requested", justify="right")
    t.add_column("written", justify="right")
    for row in m["per_target"]:
        cond = ", ".join(f"{k}={v}" for k, v in row["conditions"].items())
        t.add_row(cond, str(row["requested"]), str(row["written"]))
    t.add_row("[bold]total[/]", str(c["requested"]), f"[bold]{c['written']}[/]")
    console.print(t)
    r = Table(title="generated rows", title_justify="left")
    r.add_column("what")
    r.add_column("rows", justify="right")
    r.add_row("drawn from the model", str(c["drawn"]))
    for reason, k in c["rejected"].items():
        r.add_row(f"rejected: {reason}", str(k))
    for reason, k in c["repaired"].items():
        r.add_row(f"repaired: {reason}", str(k))
    r.add_row("surplus (valid, not needed)", str(c["surplus"]))
    r.add_row("written", str(c["written"]))
    console.print(r)
    tm = m.get("timings", {})
    console.print(f"fit {tm.get('fit_s', 0):.1f}s, generation {tm.get('chunk_seconds_total', 0):.1f}s"
                  f" (chunk time), merge {tm.get('finalize_s', 0):.1f}s; "
                  f"{m['generator'].get('fit_note') or ''}")
    console.print(f"wrote {out / 'synthetic.parquet'} and {out / 'manifest.json'}")
