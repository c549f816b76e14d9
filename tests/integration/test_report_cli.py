"""`samplegen report` end to end on travel-sim with small synthetic sets."""

from __future__ import annotations

import contextlib
import html as html_lib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from samplegen.cli import main
from samplegen.datasets.travel_sim import load_travel_sim
from samplegen.split import make_split

N_IMPRESSIONS = "120000"
SECTIONS = ("summary", "setup", "column-shapes", "pair-trends", "detection", "precision-recall",
            "privacy", "utility", "attribution", "downstream")


def _noisy_positives(n: int, seed: int) -> pd.DataFrame:
    """Real training positives resampled with jittered price and hour (a stand-in generator)."""
    src = load_travel_sim(int(N_IMPRESSIONS))
    train, _, _ = make_split(src).frames(src)
    pos = train[train[src.schema.conversion] == 1]
    rng = np.random.default_rng(seed)
    out = pos.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    out["item_price"] = np.round(out["item_price"].astype(float)
                                 * rng.lognormal(0, 0.1, n)).astype(int)
    out["hour"] = ((out["hour"].astype(int) + rng.integers(-1, 2, n)) % 24).astype("int8")
    return out


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sets")
    run = root / "run-a"
    run.mkdir()
    _noisy_positives(400, 0).to_parquet(run / "synthetic.parquet")
    (run / "manifest.json").write_text(json.dumps({"generator": "test-stand-in"}))
    csv = root / "b.csv"
    _noisy_positives(300, 1).to_csv(csv, index=False)
    metrics = root / "metrics.json"
    metrics.write_text(json.dumps({"seeds": [0, 1], "summary": [
        {"arm": "+run-a", "metric": "cvr_auc@click-space[cat=cruise]", "category": "cruise",
         "mean": 0.62, "std": 0.02, "delta": 0.03, "delta_std": 0.01, "n_seeds": 2}]}))
    return {"run": run, "csv": csv, "metrics": metrics, "root": root}


@pytest.fixture(scope="module")
def two_sets(sets: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One CLI run over two sets (shared by the checks below)."""
    out = tmp_path_factory.mktemp("report")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["report", "travel-sim", "--n-impressions", N_IMPRESSIONS,
                     "--synthetic", str(sets["run"]), str(sets["csv"]),
                     "--validate-metrics", str(sets["metrics"]), "--targets", "cruise,visa",
                     "--out", str(out), "--max-rows", "2000", "--json"])
    return {"code": code, "stdout": buf.getvalue(), "out": out}


def test_report_two_sets_side_by_side(two_sets: dict) -> None:
    assert two_sets["code"] == 0
    out = two_sets["out"]
    result = json.loads(two_sets["stdout"])
    assert set(result["scores"]) == {"run-a", "b"}
    assert result["targets"] == ["cruise", "visa"]
    doc = json.loads((out / "report.json").read_text())
    assert set(doc["sets"]) == {"run-a", "b"}
    assert doc["downstream"]["summary"]["+run-a"]["category_cvr_auc_delta"] == 0.03
    props = doc["sets"]["run-a"]["properties"]
    assert set(props) >= {"column_shapes", "column_shapes_targets", "detection", "privacy",
                          "utility", "attribution", "precision_recall", "column_pair_trends"}
    assert props["column_shapes"]["score"] > 0.8  # resampled real positives look real
    assert props["privacy"]["summary"]["exact_copy_rate"] < 1.0
    html = (out / "report.html").read_text()
    srcs = re.findall(r'<img src="([^"]*)"', html)
    assert len(srcs) >= 10 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in html
    assert "cvr_auc@click-space[cat=cruise]" in html


def test_report_defaults_to_the_run_directory(sets: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(sets["run"], run)
    assert main(["report", "travel-sim", "--n-impressions", N_IMPRESSIONS, "-s", str(run),
                 "--targets", "cruise", "--max-rows", "500"]) == 0
    assert (run / "report.html").is_file() and (run / "report.json").is_file()


@pytest.mark.parametrize("case", ["missing-column", "empty", "no-such-path", "bad-metrics",
                                  "no-set", "small-holdout"])
def test_bad_input_exits_2_or_3_with_one_line(case: str, sets: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    df = pd.read_parquet(sets["run"] / "synthetic.parquet")
    args = ["report", "travel-sim", "--n-impressions", N_IMPRESSIONS, "--out", str(tmp_path)]
    expect = {"missing-column": "lacks real column", "empty": "has 0 rows",
              "no-such-path": "does not exist", "bad-metrics": "does not exist",
              "no-set": "no synthetic set", "small-holdout": "DCR"}[case]
    if case == "missing-column":
        p = tmp_path / "x.parquet"
        df.drop(columns=["item_price"]).to_parquet(p)
        args += ["-s", str(p)]
    elif case == "empty":
        p = tmp_path / "x.parquet"
        df.iloc[:0].to_parquet(p)
        args += ["-s", str(p)]
    elif case == "no-such-path":
        args += ["-s", str(tmp_path / "nope")]
    elif case == "bad-metrics":
        args += ["-s", str(sets["csv"]), "--validate-metrics", str(tmp_path / "m.json")]
    elif case == "small-holdout":
        args += ["-s", str(sets["csv"]), "--min-holdout", "10000000"]
    assert main(args) == (3 if case == "empty" else 2)  # an empty set is incomplete: exit 3
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


# measures the laid-out page in the browser; appended to a copy of report.html
_PROBE = """<script>
window.addEventListener('load', () => {
  const out = {height: document.documentElement.scrollHeight, sections: {}, images: []};
  for (const s of document.querySelectorAll('section')) {
    const r = s.getBoundingClientRect();
    out.sections[s.id] = {top: r.top + window.scrollY, height: r.height,
                          text: s.innerText.length};
  }
  for (const img of document.querySelectorAll('img')) {
    out.images.push({natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
                     ok: img.complete && img.naturalWidth > 0});
  }
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _chromium(args: list[str], home: Path) -> subprocess.CompletedProcess:
    """Headless Chromium as CI runs it: as root, offline, a fresh profile; its HOME is a
    temporary folder (it keeps a cache and an NSS database there)."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--disable-breakpad", "--disable-crash-reporter", "--hide-scrollbars",
             f"--user-data-dir={home / 'profile'}"]
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache")}
    return subprocess.run([_browser(), *flags, *args], check=True, timeout=120,
                          capture_output=True, text=True, env=env)


@pytest.mark.skipif(_browser() is None and not os.environ.get("CI"),
                    reason="no headless Chromium here (CI installs Debian's chromium and runs "
                           "this test)")
def test_html_renders_every_section_in_headless_chromium(two_sets: dict, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    assert _browser() is not None, "CI must install chromium (.ci/run: apt-get install chromium)"
    page = tmp_path / "probe.html"
    page.write_text((two_sets["out"] / "report.html").read_text().replace(
        "</body>", _PROBE + "</body>"))
    dom = _chromium(["--window-size=1400,900", "--virtual-time-budget=5000", "--dump-dom",
                     page.as_uri()], tmp_path).stdout
    probe = json.loads(html_lib.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom,
                                                   flags=re.S).group(1)))
    assert list(probe["sections"]) == list(SECTIONS)
    for sid, box in probe["sections"].items():
        assert box["height"] > 40 and box["text"] > 20, f"section {sid} is empty: {box}"
    assert len(probe["images"]) >= 10
    for img in probe["images"]:  # decoded, and drawn at least 600 px wide
        assert img["ok"] and img["natural"] >= 600 and img["shown"] >= 600, img
    shot = tmp_path / "shot.png"
    height = int(probe["height"]) + 20
    _chromium([f"--window-size=1400,{height}", f"--screenshot={shot}",
               (two_sets["out"] / "report.html").as_uri()], tmp_path)
    pixels = mpimg.imread(shot)
    assert pixels.shape[1] == 1400 and pixels.shape[0] >= height - 40
    for sid, box in probe["sections"].items():  # every section's band holds drawn content
        band = pixels[int(box["top"]): int(box["top"] + box["height"]), :, :3]
        assert band.size and band.std() > 0.05, f"section {sid} looks blank in the screenshot"


def test_cli_json_and_html_give_the_same_numbers(two_sets: dict, capsys) -> None:
    """One definition per number (evaluators.scores): the CLI's table and --json, report.json
    and report.html agree on every score, DCR and the downstream lift."""
    from evaluators.scores import CATEGORY_CVR_AUC_DELTA, DCR
    from samplegen.cli.report import _print

    result = json.loads(two_sets["stdout"])
    doc = json.loads((two_sets["out"] / "report.json").read_text())
    html = html_lib.unescape((two_sets["out"] / "report.html").read_text())
    capsys.readouterr()
    _print(result)
    table = capsys.readouterr().out
    for name in ("run-a", "b"):
        score = doc["sets"][name]["score"]
        assert result["scores"][name] == pytest.approx(score)
        assert f"{score:.4f}" in html and f"{score:.3f}" in table
        dcr = doc["sets"][name]["properties"]["privacy"]["summary"][DCR.key]
        assert result["headline"][name][DCR.key] == pytest.approx(dcr)
        assert f"{name}: DCR {dcr:.4f}" in html and f"{dcr:.3f}" in table
        for key, res in doc["sets"][name]["properties"].items():
            assert result["properties"][name][key] == pytest.approx(res["score"], nan_ok=True)
    lift = doc["downstream"]["summary"]["+run-a"][CATEGORY_CVR_AUC_DELTA.key]
    assert result["headline"]["run-a"][CATEGORY_CVR_AUC_DELTA.key] == lift == 0.03
    assert result["headline"]["b"][CATEGORY_CVR_AUC_DELTA.key] is None
    assert "+0.0300" in html and "+0.0300" in table
    assert html.count(DCR.protocol) >= 1
    assert " ".join(DCR.explain().split()) in " ".join(table.split())  # the same words
    assert "source: travel-sim" in html
