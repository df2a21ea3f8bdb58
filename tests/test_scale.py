"""kel.encode_corpus: shard plan, folder layout, resumption, settings checks, the Ray engine, estimates.

Fast tests use the local engine and the bundled model on small Korean corpora. The ``slow`` ones
kill real processes (the CLI, a Ray run on a local cluster of 2 CPU workers) and resume them;
the Ray tests skip only when Ray is not installed (``pip install ".[scale]"``; CI installs it).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ko_embed_lab as kel
from ko_embed_lab.cli import main
from ko_embed_lab.scale import (
    XLMR_LARGE,
    ModelRequest,
    SettingsMismatchError,
    encode_corpus,
    estimate_table,
    estimate_time_and_cost,
    forward_flops_per_token,
    gpu_tokens_per_s,
    open_corpus_embeddings,
    plan_shards,
    read_shard,
)
from ko_embed_lab.scale.ray_engine import import_ray

ROOT = Path(__file__).resolve().parent.parent
HAS_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAS_RAY, reason='Ray is not installed: pip install ".[scale]"')


def _passages(n: int, chars: int = 60) -> list[str]:
    """``n`` distinct Korean passages cut from KoProbe (``chars`` characters each, about a third as many tokens)."""
    docs = [d["text"] for d in kel.data.load_probe().data.corpus.values()]
    return [f"{k}. {docs[k % len(docs)][(k // len(docs)) * 7 :][:chars]}" for k in range(n)]


def _write(path: Path, texts: list[str], ids: list[str] | None = None, **extra: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = {"id": ids if ids is not None else [f"doc-{i}" for i in range(len(texts))], "text": texts, **extra}
    pd.DataFrame(cols).to_parquet(path)
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return _write(tmp_path / "corpus.parquet", _passages(60))


# ---------------------------------------------------------------------------------------- plan


def test_plan_cuts_fixed_row_ranges_across_files(tmp_path: Path) -> None:
    texts = _passages(25)
    _write(tmp_path / "src" / "b.parquet", texts[10:], ids=[f"d{i}" for i in range(10, 25)])
    _write(tmp_path / "src" / "a.parquet", texts[:10], ids=[f"d{i}" for i in range(10)])
    plan = plan_shards(tmp_path / "src", shard_size=8)
    assert plan.rows == 25 and [f["name"] for f in plan.source_fingerprint()] == ["a.parquet", "b.parquet"]
    assert [(s.start, s.stop) for s in plan.shards] == [(0, 8), (8, 16), (16, 24), (24, 25)]
    ids, got = read_shard(plan, plan.shards[1])  # spans both files
    assert got == texts[8:16] and ids == [f"d{i}" for i in range(8, 16)]
    # a glob and a list name the same files, hence the same plan
    assert plan_shards(str(tmp_path / "src" / "*.parquet"), shard_size=8) == plan
    assert plan_shards([tmp_path / "src" / "b.parquet", tmp_path / "src" / "a.parquet"], shard_size=8) == plan
    # without an id column, the global row numbers are the ids
    no_ids = plan_shards(tmp_path / "src", shard_size=8, id_field=None)
    assert read_shard(no_ids, no_ids.shards[3]) == ([24], texts[24:])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: (_write(d / "c.parquet", ["가"], other=["x"]), {"text_field": "body"}), "no column 'body'"),
        (lambda d: (_write(d / "c.parquet", ["가"]), {"id_field": "doc_id"}), "id_field=None"),
        (lambda d: ((d / "c.parquet").write_text("id,text\n1,가\n"), {}), "not a Parquet file"),
        (lambda d: ((d / "c.parquet").write_bytes(b""), {}), "not a Parquet file"),
    ],
    ids=["missing-text-column", "missing-id-column", "csv-named-parquet", "empty-file"],
)
def test_plan_rejects_bad_sources(tmp_path: Path, make, message: str) -> None:
    _, kwargs = make(tmp_path)
    with pytest.raises(ValueError, match=message):
        plan_shards(tmp_path / "c.parquet", **kwargs)


def test_plan_rejects_missing_sources_and_bad_sizes(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plan_shards(tmp_path / "nope.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no \*\.parquet"):
        plan_shards(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="matches no file"):
        plan_shards(str(tmp_path / "*.parquet"))
    _write(tmp_path / "c.parquet", ["가"])
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="shard_size"):
            plan_shards(tmp_path / "c.parquet", shard_size=bad)


def test_null_text_is_rejected_with_its_row(tmp_path: Path, model) -> None:
    src = tmp_path / "c.parquet"
    pd.DataFrame({"id": ["a", "b", "c"], "text": ["가", None, "다"]}).to_parquet(src)
    with pytest.raises(ValueError, match=r"row 1 .*no 'text' value"):
        encode_corpus(src, tmp_path / "out", model=model, shard_size=2)


# ------------------------------------------------------------------------------- local engine


def test_local_engine_layout_manifest_and_reader(corpus: Path, tmp_path: Path, model) -> None:
    out = tmp_path / "out"
    run = encode_corpus(corpus, out, model=model, shard_size=16, show_progress=False)
    assert (run.shards, run.shards_done, run.shards_skipped, run.rows_encoded) == (4, 4, 0, 60)
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["manifest.json"] + [
        f"shard-{k:05d}{s}" for k in range(4) for s in (".done.json", ".ids.parquet", ".npy")
    ]
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["complete"] and man["rows"] == 60 and man["shards"] == 4 and man["dim"] == 384
    settings = man["settings"]
    assert settings["model"]["fingerprint"] == model.fingerprint() and "device" not in settings["model"]
    assert settings["prompt"] == "passage: " and settings["kind"] == "document" and settings["shard_size"] == 16
    assert settings["source"][0]["name"] == "corpus.parquet" and settings["source"][0]["rows"] == 60
    assert man["runs"][0]["engine"] == "local" and man["runs"][0]["provenance"]["versions"]["ko-embed-lab"]
    marker = json.loads((out / "shard-00003.done.json").read_text(encoding="utf-8"))
    assert (marker["start"], marker["stop"], marker["rows"]) == (48, 60, 12)

    got = open_corpus_embeddings(out, verify=True)
    texts = pd.read_parquet(corpus)["text"].tolist()
    assert got.ids == [f"doc-{i}" for i in range(60)] and got.rows == 60 and got.dim == 384
    emb = got.embeddings()
    assert emb.dtype == np.float32 and emb.shape == (60, 384)
    # each shard is exactly what the model's own encode gives for the shard's texts
    for k, (ids, shard) in enumerate(got.iter_shards()):
        ref = model.encode(texts[16 * k : 16 * (k + 1)], cache=False)
        np.testing.assert_array_equal(np.asarray(shard), ref)
        assert ids == [f"doc-{i}" for i in range(16 * k, min(16 * (k + 1), 60))]


def test_resume_recomputes_only_missing_or_damaged_shards(corpus: Path, tmp_path: Path, model) -> None:
    out = tmp_path / "out"
    encode_corpus(corpus, out, model=model, shard_size=16, show_progress=False)
    before = open_corpus_embeddings(out).embeddings()
    (out / "shard-00001.done.json").unlink()  # killed before its marker
    emb = out / "shard-00002.npy"
    emb.write_bytes(emb.read_bytes()[:-4] + b"\0\0\0\0")  # damaged after its marker
    (out / ".shard-00003.npy.abc.partial").write_bytes(b"left by a killed run")
    with pytest.raises(ValueError, match="2 of 4 shards are missing or do not verify"):
        open_corpus_embeddings(out, verify=True)
    run = encode_corpus(corpus, out, model=model, shard_size=16, show_progress=False)
    assert (run.shards_done, run.shards_skipped, run.rows_encoded) == (2, 2, 32)
    assert not list(out.glob(".shard-*.partial"))
    np.testing.assert_array_equal(open_corpus_embeddings(out, verify=True).embeddings(), before)
    assert len(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["runs"]) == 2
    again = encode_corpus(corpus, out, model=model, shard_size=16, resume=False, show_progress=False)
    assert again.shards_done == 4


def test_other_settings_into_the_same_folder_fail_clearly(corpus: Path, tmp_path: Path, model) -> None:
    out = tmp_path / "out"
    encode_corpus(corpus, out, model=model, shard_size=16, show_progress=False)
    with pytest.raises(SettingsMismatchError, match=r"differs in: shard_size\).*overwrite=True"):
        encode_corpus(corpus, out, model=model, shard_size=20)
    with pytest.raises(SettingsMismatchError, match="differs in: prompt"):
        encode_corpus(corpus, out, model=model, shard_size=16, prompt="")
    with pytest.raises(SettingsMismatchError, match="differs in: dim"):
        encode_corpus(corpus, out, model=model, shard_size=16, dim=128)
    with pytest.raises(SettingsMismatchError, match="differs in: kind, prompt"):
        encode_corpus(corpus, out, model=model, shard_size=16, kind="query")
    _write(corpus, _passages(61))  # the source changed
    with pytest.raises(SettingsMismatchError, match="differs in: source"):
        encode_corpus(corpus, out, model=model, shard_size=16)
    run = encode_corpus(corpus, out, model=model, shard_size=16, overwrite=True, show_progress=False)
    assert run.shards_done == 4 and run.rows == 61
    assert open_corpus_embeddings(out).rows == 61


def test_a_failed_first_run_does_not_claim_the_folder(tmp_path: Path, model) -> None:
    src = tmp_path / "c.parquet"
    pd.DataFrame({"id": ["a", "b"], "text": [None, "나"]}).to_parquet(src)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="no 'text' value"):
        encode_corpus(src, out, model=model, shard_size=1)
    with pytest.raises(ValueError, match="dim=1000"):
        encode_corpus(src, out, model=model, shard_size=1, dim=1000)
    _write(src, ["가", "나"], ids=["a", "b"])  # the data fixed: the source changed, but no shard was finished
    assert encode_corpus(src, out, model=model, shard_size=1, show_progress=False).shards_done == 2


def test_output_must_be_ours_and_the_model_a_matching_kind(corpus: Path, tmp_path: Path, model) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an encode_corpus output"):
        encode_corpus(corpus, foreign, model=model)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        encode_corpus(corpus, tmp_path / "file", model=model)
    (foreign / "manifest.json").write_text("{}")
    with pytest.raises(ValueError, match="not written by ko-embed-lab"):
        encode_corpus(corpus, foreign, model=model)
    with pytest.raises(ValueError, match="engine='spark'"):
        encode_corpus(corpus, tmp_path / "o", model=model, engine="spark")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="apply when model is a name"):
        encode_corpus(corpus, tmp_path / "o", model=model, backend="onnx")
    with pytest.raises(FileNotFoundError, match=r"no manifest\.json"):
        open_corpus_embeddings(tmp_path / "o")


def test_empty_texts_are_embedded_and_counted(tmp_path: Path, model, caplog) -> None:
    src = _write(tmp_path / "c.parquet", ["가나다", "", "  "], ids=["a", "b", "c"])
    with caplog.at_level(logging.WARNING):
        run = encode_corpus(src, tmp_path / "out", model=model, shard_size=8, show_progress=False)
    assert "2 of 3 texts of shard-00000 are empty" in caplog.text
    assert run.empty_texts == 2 and "2 empty texts" in run.summary()
    marker = json.loads((tmp_path / "out" / "shard-00000.done.json").read_text(encoding="utf-8"))
    assert marker["empty_texts"] == 2


def test_row_numbers_as_ids_and_integer_ids(tmp_path: Path, model) -> None:
    src = tmp_path / "c.parquet"
    pd.DataFrame({"pid": [7, 3, 5], "body": ["가", "나", "다"]}).to_parquet(src)
    encode_corpus(src, tmp_path / "rows", model=model, text_field="body", id_field=None, show_progress=False)
    assert open_corpus_embeddings(tmp_path / "rows").ids == [0, 1, 2]
    encode_corpus(src, tmp_path / "pid", model=model, text_field="body", id_field="pid", show_progress=False)
    assert open_corpus_embeddings(tmp_path / "pid").ids == [7, 3, 5]


def test_cli_encode_corpus(corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["encode-corpus", str(corpus), str(out), "--shard-size", "32", "-q"]) == 0
    line = capsys.readouterr().out
    assert "2 shards encoded, 0 skipped (already done) of 2; 60 of 60 rows" in line and "local engine" in line
    assert main(["encode-corpus", str(corpus), str(out), "--shard-size", "32", "-q"]) == 0
    assert "0 shards encoded, 2 skipped" in capsys.readouterr().out
    assert main(["encode-corpus", str(corpus), str(out), "--shard-size", "10", "-q"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    # A missing column is named with the flag that fixes it, not only the Python argument.
    assert main(["encode-corpus", str(corpus), str(tmp_path / "o2"), "--text-field", "body", "-q"]) == 2
    err = capsys.readouterr().err
    assert "no column 'body'" in err and "--text-field COLUMN" in err
    assert main(["encode-corpus", str(corpus), str(tmp_path / "o3"), "--id-field", "pid", "-q"]) == 2
    assert "--id-field ''" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ ray glue


def test_model_request_for_workers(model) -> None:
    req = ModelRequest.of(model)
    assert req.name == model.name and req.kwargs["max_seq_length"] == 512
    assert ModelRequest.of("arctic-ko", backend=None, quantize="int8").kwargs == {"quantize": "int8"}

    class Fake:
        def encode(self, texts, **kw):
            return np.ones((len(texts), 2))

    with pytest.raises(TypeError, match="needs a model name or folder"):
        ModelRequest.of(Fake())


def test_missing_ray_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'pip install "ko-embed-lab\[scale\]"'):
        import_ray()


# ------------------------------------------------------------------------------------ estimates


def test_flops_per_token_by_hand() -> None:
    h, f, n = 1024, 4096, 24
    params = n * (4 * h * h + 4 * h + 2 * h * f + h + f + 4 * h)
    assert XLMR_LARGE.non_embedding_params() == params == 302_309_376
    assert forward_flops_per_token(200) == 2 * params + 4 * n * 200 * h
    assert forward_flops_per_token(400) > forward_flops_per_token(200)
    with pytest.raises(ValueError):
        forward_flops_per_token(0)


def test_gpu_throughput_and_time_cost_estimate() -> None:
    tps = gpu_tokens_per_s(200, peak_tflops=1000.0, mfu=0.5)
    assert tps == pytest.approx(5e14 / forward_flops_per_token(200))
    e1 = estimate_time_and_cost(10_000_000, 200, gpus=1, tokens_per_s_per_gpu=tps, price_per_gpu_hour=3.0)
    assert e1.hours == pytest.approx(2e9 / tps / 3600)
    assert e1.cost == pytest.approx(e1.hours * 3.0)
    e8 = estimate_time_and_cost(10_000_000, 200, gpus=8, tokens_per_s_per_gpu=tps, price_per_gpu_hour=3.0)
    assert e8.hours == pytest.approx(e1.hours / 8) and e8.cost == pytest.approx(e1.cost)
    slow = estimate_time_and_cost(
        10_000_000, 200, gpus=8, tokens_per_s_per_gpu=tps, price_per_gpu_hour=3.0, scaling_efficiency=0.5, startup_s=60
    )
    assert slow.hours == pytest.approx(e1.hours / 4 + 60 / 3600)
    table = estimate_table(10_000_000, 200, [1, 8, 64], tokens_per_s_per_gpu=tps, price_per_gpu_hour=3.0)
    assert list(table["gpus"]) == [1, 8, 64] and table["hours"].is_monotonic_decreasing
    for bad in ({"gpus": 0}, {"tokens_per_s_per_gpu": 0.0}, {"scaling_efficiency": 1.5}):
        kwargs = {"gpus": 1, "tokens_per_s_per_gpu": 1.0, "price_per_gpu_hour": 1.0, **bad}
        with pytest.raises(ValueError):
            estimate_time_and_cost(10, 10, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mfu"):
        gpu_tokens_per_s(200, mfu=0.0)


# ------------------------------------------------------------------- killed processes (slow)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


def _session_pids(sid: int) -> list[int]:
    """Live processes of session ``sid`` (Ray's workers take their own process group, not their own session)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, _pgrp, session = stat[stat.rindex(")") + 2 :].split()[:4]
        if int(session) == sid and state != "Z":
            pids.append(int(entry.name))
    return pids


def _kill_session(sid: int) -> None:
    """SIGKILL every process of the session the test started, by id, until none is left."""
    deadline = time.monotonic() + 30
    while pids := _session_pids(sid):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise AssertionError(f"processes {pids} of the killed run survive SIGKILL")
        time.sleep(0.05)


def _start_and_kill_after_first_shard(args: list[str], out: Path, timeout: float = 240) -> int:
    """Start the CLI in its own session, SIGKILL its whole process group once a shard is done; shards done."""
    cmd = [sys.executable, "-m", "ko_embed_lab.cli", "encode-corpus", *args, "-q"]
    proc = subprocess.Popen(cmd, env=_env(), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while not list(out.glob("shard-*.done.json")):
            if proc.poll() is not None:
                raise AssertionError(f"the run ended before its first shard: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("no shard finished in time")
            time.sleep(0.02)
    finally:
        _kill_session(proc.pid)  # the driver and everything it started: Ray's raylet, GCS and actors too
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    return len(list(out.glob("shard-*.done.json")))


def _assert_equal_shards(a: Path, b: Path, atol: float = 0.0) -> float:
    """The two folders hold the same shards (ids exactly, vectors within ``atol``); returns the max abs diff."""
    ca, cb = open_corpus_embeddings(a, verify=True), open_corpus_embeddings(b, verify=True)
    assert len(ca.shards) == len(cb.shards) and ca.ids == cb.ids
    worst = 0.0
    for k in range(len(ca.shards)):
        diff = float(np.abs(np.asarray(ca.shard_embeddings(k)) - np.asarray(cb.shard_embeddings(k))).max())
        assert diff <= atol, f"shard {k}: max abs diff {diff}"
        worst = max(worst, diff)
    return worst


@pytest.fixture(scope="module")
def kill_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """160 passages of ~100 characters in 16 shards: long enough that a kill lands mid-run."""
    return _write(tmp_path_factory.mktemp("kill") / "corpus.parquet", _passages(160, chars=100))


@pytest.fixture(scope="module")
def uninterrupted(kill_corpus: Path, tmp_path_factory: pytest.TempPathFactory, model) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted") / "out"
    encode_corpus(kill_corpus, out, model=model, shard_size=10, show_progress=False)
    return out


@pytest.mark.slow
def test_killed_local_run_resumes(kill_corpus: Path, uninterrupted: Path, tmp_path: Path, model) -> None:
    out = tmp_path / "out"
    done = _start_and_kill_after_first_shard([str(kill_corpus), str(out), "--shard-size", "10"], out)
    assert 1 <= done < 16, f"{done} shards were done when the run was killed"
    with pytest.raises(ValueError, match="shards are missing"):
        open_corpus_embeddings(out)
    run = encode_corpus(kill_corpus, out, model=model, shard_size=10, show_progress=False)
    assert run.shards_skipped == done and run.shards_done == 16 - done
    _assert_equal_shards(out, uninterrupted, atol=1e-6)


@pytest.mark.slow
@needs_ray
def test_ray_engine_equals_local_and_a_killed_ray_run_resumes(
    kill_corpus: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    # A Ray run on a local cluster of 2 CPU workers, killed (driver, raylet, actors) after its first shard...
    out = tmp_path / "ray"
    ray_args = ["--engine", "ray", "--workers", "2", "--num-cpus", "2", "--shard-size", "10"]
    done = _start_and_kill_after_first_shard([str(kill_corpus), str(out), *ray_args], out)
    assert 1 <= done < 16, f"{done} shards were done when the Ray run was killed"
    # ... resumes on a new local cluster, computing only the missing shards...
    t0 = time.perf_counter()
    run = encode_corpus(kill_corpus, out, engine="ray", num_workers=2, num_cpus=2, shard_size=10, show_progress=False)
    assert (run.engine, run.workers, run.shards_skipped, run.shards_done) == ("ray", 2, done, 16 - done)
    assert time.perf_counter() - t0 < 180
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["complete"] and man["runs"][-1]["engine"] == "ray"
    markers = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("shard-*.done.json"))]
    assert {m["engine"] for m in markers} == {"ray"} and len({m["pid"] for m in markers}) >= 2  # several actors
    # ... and every shard equals the local engine's, shard for shard.
    _assert_equal_shards(out, uninterrupted, atol=1e-6)
    import ray

    assert not ray.is_initialized()  # the cluster encode_corpus started is shut down
