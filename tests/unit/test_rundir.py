"""Run directories: atomic chunks, reports in Parquet metadata, O_EXCL claims, stale locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from samplegen.errors import RunDirError
from samplegen.rundir import ChunkSpec, RunDir, config_key


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_chunk_round_trip_with_report(tmp_path) -> None:
    rd = RunDir(tmp_path / "run")
    rd.create()
    df = pd.DataFrame({"a": ["x", None], "b": [1.5, 2.0]})
    rd.write_chunk(3, df, {"produced": 2, "rejected": {"duplicate": 1}})
    assert list(rd.done()) == [3]
    assert rd.chunk_report(3) == {"produced": 2, "rejected": {"duplicate": 1}}
    pd.testing.assert_frame_equal(rd.read_chunk(3), df)
    assert not list(rd.chunks.glob(".*"))  # no temporary left


def test_claims_are_exclusive_and_stale_locks_break(tmp_path) -> None:
    rd = RunDir(tmp_path)
    rd.create()
    assert rd.claim(0)
    assert not rd.claim(0)  # held by this live process
    assert rd.locked(0)
    rd.release(0)
    assert not rd.locked(0) and rd.claim(0)
    rd.release(0)
    lock = rd.locks / "part-00001.lock"
    lock.write_text(json.dumps({"pid": _dead_pid(), "host": os.uname().nodename, "t": 0}))
    assert not rd.locked(1)
    assert rd.claim(1)  # the dead worker's claim is broken
    assert json.loads(lock.read_text())["pid"] == os.getpid()


def test_clean_temporaries_removes_dead_writers_only(tmp_path) -> None:
    rd = RunDir(tmp_path)
    rd.create()
    dead = rd.chunks / f".part-00000.parquet.{_dead_pid()}.tmp"
    live = rd.chunks / f".part-00001.parquet.{os.getpid()}.tmp"
    dead.write_bytes(b"half a parquet")
    live.write_bytes(b"being written")
    assert rd.clean_temporaries() == 1
    assert not dead.exists() and live.exists()
    assert rd.done() == {}


def test_check_usable(tmp_path) -> None:
    rd = RunDir(tmp_path / "new")
    assert rd.check_usable("k", resume=False) is None  # absent: fine
    (tmp_path / "new").mkdir()
    assert rd.check_usable("k", resume=False) is None  # empty: fine
    (tmp_path / "new" / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not empty and holds no samplegen run"):
        rd.check_usable("k", resume=True)
    (tmp_path / "new" / "notes.txt").unlink()
    rd.write_manifest({"config_key": "k", "status": "running", "generator": {"name": "g"}})
    with pytest.raises(RunDirError, match="already holds this run"):
        rd.check_usable("k", resume=False)
    with pytest.raises(RunDirError, match="holds another run"):
        rd.check_usable("other", resume=True)
    assert rd.check_usable("k", resume=True)["status"] == "running"
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match="is a file"):
        RunDir(tmp_path / "file").check_usable("k", resume=False)


def test_chunk_seeds_and_config_keys_are_stable() -> None:
    assert ChunkSpec(4, 0, 10).seed(7) == ChunkSpec(4, 1, 99).seed(7)
    assert ChunkSpec(4, 0, 10).seed(7) != ChunkSpec(5, 0, 10).seed(7)
    assert ChunkSpec(4, 0, 10).seed(7) != ChunkSpec(4, 0, 10).seed(8)
    assert config_key({"a": 1, "b": [1, 2]}) == config_key({"b": [1, 2], "a": 1})
    assert config_key({"a": 1}) != config_key({"a": 2})


def test_merge_is_streamed_and_atomic(tmp_path) -> None:
    rd = RunDir(tmp_path)
    rd.create()
    frames = (pd.DataFrame({"a": [i, i + 1]}) for i in range(0, 6, 2))
    assert rd.write_merged(frames, None) == 6
    assert pd.read_parquet(rd.synthetic_path)["a"].tolist() == list(range(6))
    with pytest.raises(RunDirError, match="no rows"):
        rd.write_merged(iter([]), None)


def test_clean_temporaries_removes_a_dead_writers_model_folder(tmp_path) -> None:
    rd = RunDir(tmp_path)
    rd.create()
    half = tmp_path / f".model.{_dead_pid()}.tmp"
    half.mkdir()
    (half / "generator.pkl").write_bytes(b"partial")
    assert rd.clean_temporaries() == 1 and not half.exists()
