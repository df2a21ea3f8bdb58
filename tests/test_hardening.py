"""A careless or hostile user gets a clear error or a defined behaviour, never lost data or a hang."""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import ko_embed_lab as kel
from ko_embed_lab import cli
from ko_embed_lab.cache import EmbeddingCache
from ko_embed_lab.data.beir import RetrievalSet, load_beir, save_beir

ROOT = Path(__file__).resolve().parent.parent


def _tiny_set() -> RetrievalSet:
    return RetrievalSet(
        name="tiny",
        corpus={
            "d1": {"title": "", "text": "서울은 대한민국의 수도이다."},
            "d2": {"title": "", "text": "부산은 항구 도시이다."},
        },
        queries={"q1": "대한민국의 수도는?", "q2": "항구 도시는?"},
        qrels={"q1": {"d1": 1}, "q2": {"d2": 1}},
    )


# --- bugs 1 and 7: the CLI never destroys input and fails before work, in one line with rc 2 -----------


def test_json_input_is_read_as_json_and_never_overwritten(tmp_path, capsys) -> None:
    src = tmp_path / "corpus.json"
    src.write_text('["서울", "부산"]\n', encoding="utf-8")
    before = src.read_bytes()
    assert cli.main(["encode", "--input", str(src), "--output", str(tmp_path / "corpus.npy"), "-q"]) == 0
    assert src.read_bytes() == before  # the input is untouched
    assert np.load(tmp_path / "corpus.npy").shape == (2, 384)  # two texts, not one line of JSON
    meta = json.loads((tmp_path / "corpus.npy.json").read_text(encoding="utf-8"))
    assert meta["n"] == 2 and meta["ko_embed_lab_sidecar"] is True
    # A foreign file where the sidecar would go is refused before any work.
    (tmp_path / "other.npy.json").write_text('{"mine": 1}', encoding="utf-8")
    assert cli.main(["encode", "--input", str(src), "--output", str(tmp_path / "other.npy"), "-q"]) == 2
    assert json.loads((tmp_path / "other.npy.json").read_text(encoding="utf-8")) == {"mine": 1}
    assert not (tmp_path / "other.npy").exists()


def test_suffixes_are_case_insensitive(tmp_path) -> None:
    src = tmp_path / "texts.JSONL"
    src.write_text('{"text": "서울"}\n"부산"\n', encoding="utf-8")
    assert cli.main(["encode", "--input", str(src), "--output", str(tmp_path / "e.NPY"), "-q"]) == 0
    assert np.load(tmp_path / "e.NPY").shape == (2, 384)


BAD_INVOCATIONS = [
    ("output is a folder", ["encode", "--input", "{txt}", "--output", "{npydir}"], "is a folder"),
    ("output under a file", ["encode", "--input", "{txt}", "--output", "{txt}/x.npy"], "cannot create"),
    ("output not .npy", ["encode", "--input", "{txt}", "--output", "{tmp}/x.txt"], "must end in .npy"),
    ("input is a folder", ["encode", "--input", "{dir}", "--output", "{tmp}/x.npy"], "is a folder"),
    ("input missing", ["encode", "--input", "{tmp}/none.txt", "--output", "{tmp}/x.npy"], "does not exist"),
    ("cp949 input", ["encode", "--input", "{cp949}", "--output", "{tmp}/x.npy"], "cp949"),
    ("bad json", ["encode", "--input", "{badjson}", "--output", "{tmp}/x.npy"], "not valid JSON"),
    ("dim too large", ["encode", "--input", "{txt}", "--output", "{tmp}/x.npy", "--dim", "999"], "dim="),
    (
        "length past positions",
        ["encode", "--input", "{txt}", "--output", "{tmp}/x.npy", "--max-seq-length", "600"],
        "512",
    ),
    ("unknown device", ["encode", "--input", "{txt}", "--output", "{tmp}/x.npy", "--device", "mps"], "not supported"),
    ("no cuda", ["encode", "--input", "{txt}", "--output", "{tmp}/x.npy", "--device", "cuda"], "no CUDA"),
    (
        "missing model folder",
        ["encode", "--input", "{txt}", "--output", "{tmp}/x.npy", "--model", "./nope"],
        "does not exist",
    ),
    (
        "offline hub id",
        ["encode", "--input", "{txt}", "--output", "{tmp}/x.npy", "--model", "org/none"],
        "HF_HUB_OFFLINE",
    ),
    ("pickle weights", ["encode", "--input", "{txt}", "--output", "{tmp}/x.npy", "--model", "{pickle}"], "pickle"),
    ("evaluate output under a file", ["evaluate", "--data", "{beir}", "--output", "{txt}/r.json"], "cannot create"),
    ("huge qrels score", ["evaluate", "--data", "{hugebeir}"], "out of range"),
    ("unknown qrels ids", ["evaluate", "--data", "{unknownbeir}"], "--lenient"),
    ("not a BEIR folder", ["evaluate", "--data", "{dir}"], "does not exist"),
]


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory) -> dict[str, str]:
    import torch
    from transformers import BertConfig, BertModel

    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "texts.txt").write_text("서울\n부산\n", encoding="utf-8")
    (tmp / "folder").mkdir()
    (tmp / "out.npy").mkdir()
    (tmp / "ko.txt").write_bytes("한국어 문장입니다\n".encode("cp949"))
    (tmp / "bad.json").write_text('["서울", ', encoding="utf-8")
    save_beir(_tiny_set(), tmp / "beir")
    huge = tmp / "huge"
    save_beir(_tiny_set(), huge)
    (huge / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t99999999999999999999\n", encoding="utf-8"
    )
    unknown = tmp / "unknown"
    save_beir(_tiny_set(), unknown)
    with (unknown / "qrels" / "test.tsv").open("a", encoding="utf-8") as fh:
        fh.write("q1\td999\t1\n")
    pk = tmp / "pickle-model"
    cfg = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16)
    cfg.save_pretrained(pk)
    state = BertModel(cfg).state_dict()
    state["evil"] = _Evil()
    torch.save(state, pk / "pytorch_model.bin")
    return {
        "tmp": str(tmp), "txt": str(tmp / "texts.txt"), "dir": str(tmp / "folder"), "npydir": str(tmp / "out.npy"), "cp949": str(tmp / "ko.txt"),
        "badjson": str(tmp / "bad.json"), "beir": str(tmp / "beir"), "hugebeir": str(huge),
        "unknownbeir": str(unknown), "pickle": str(pk),
    }  # fmt: skip


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize(("case", "argv", "expect"), BAD_INVOCATIONS, ids=[c[0] for c in BAD_INVOCATIONS])
def test_every_user_error_is_one_line_and_rc_2(case, argv, expect, bad_inputs, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    args = [a.format(**bad_inputs) for a in argv]
    rc = cli.main(args)
    err = capsys.readouterr().err.strip()
    assert rc == 2, (case, err)
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert expect in err, err
    assert not list(Path(bad_inputs["tmp"]).glob("**/*.tmp")), "a partial file was left behind"


@pytest.mark.slow
def test_cli_errors_print_no_traceback_in_a_real_process(bad_inputs) -> None:
    exe = [sys.executable, "-m", "ko_embed_lab.cli"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [*exe, "encode", "--input", bad_inputs["dir"], "--output", "x.npy"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1


# --- bug 2: a hub that never answers costs seconds -----------------------------------------------------


@pytest.mark.slow
def test_a_silent_hub_times_out_with_a_clear_error(tmp_path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = time.time() + 90

    def accept() -> None:  # accepts connections and never answers
        server.settimeout(0.5)
        while time.time() < stop:
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{server.getsockname()[1]}", HF_HOME=str(tmp_path / "hf"))
    code = "import ko_embed_lab as kel\ntry:\n    kel.load_model('org/none')\nexcept Exception as e:\n    print(type(e).__name__, e)"
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=80)
    elapsed = time.perf_counter() - t0
    stop = 0
    assert "ModelNotAvailableError" in out.stdout and "did not answer within" in out.stdout, out.stdout + out.stderr
    assert "HF_HUB_OFFLINE" in out.stdout
    assert elapsed < 60, f"took {elapsed:.0f} s"


# --- bugs 3 and 4: lengths and devices are checked where they enter -----------------------------------


def test_max_seq_length_past_the_positions_is_refused(model) -> None:
    assert model.position_limit == 512
    with pytest.raises(ValueError, match="more than this model's 512 positions"):
        kel.load_model(device="cpu", max_seq_length=600)
    with pytest.raises(ValueError, match="512"):
        model.max_seq_length = 513
    with pytest.raises(TypeError, match="must be an int"):
        kel.load_model(device="cpu", max_seq_length=1.5)
    assert model.max_seq_length == 512


def test_device_variable_goes_through_the_same_check(monkeypatch) -> None:
    import torch

    from ko_embed_lab.models import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("KO_EMBED_LAB_DEVICE", "cuda")
    with pytest.raises(ValueError, match=r"KO_EMBED_LAB_DEVICE='cuda'.*no CUDA GPU"):
        resolve_device("auto")
    monkeypatch.setenv("KO_EMBED_LAB_DEVICE", "mps")
    with pytest.raises(ValueError, match="not supported"):
        resolve_device()
    monkeypatch.delenv("KO_EMBED_LAB_DEVICE")
    for bad in ("mps", "tpu", "gpu"):
        with pytest.raises(ValueError, match="not supported"):
            resolve_device(bad)
    with pytest.raises(TypeError, match="a device is a string"):
        resolve_device(0)
    assert resolve_device("CPU") == "cpu"


def test_book_build_checks_the_model_first(monkeypatch, capsys) -> None:
    from ko_embed_lab.book import build

    monkeypatch.setenv("KO_EMBED_LAB_MODEL", "org/none")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert build.build(ROOT / "book") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "org/none" in err and "HF_HUB_OFFLINE" in err


# --- bug 5: a home that cannot be written ------------------------------------------------------------


def test_read_only_or_full_home_is_named(monkeypatch, tmp_path) -> None:
    from ko_embed_lab.bundled import install

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(install, "_locked", denied)
    with pytest.raises(
        OSError,
        match=r"KO_EMBED_LAB_HOME.*converting needs about 500 MB|converting needs about 500 MB.*KO_EMBED_LAB_HOME",
    ):
        install.ensure_bundled_model(tmp_path / "ro")
    monkeypatch.undo()

    class Usage:
        free = 100 * 2**20

    monkeypatch.setattr(install.shutil, "disk_usage", lambda p: Usage())
    with pytest.raises(OSError, match=r"100 MB free, converting needs about 500 MB"):
        install.ensure_bundled_model(tmp_path / "full")
    assert not list((tmp_path / "full").rglob("*.safetensors"))


def test_cache_write_failure_warns_once_and_keeps_the_embeddings(model, tmp_path, monkeypatch, caplog) -> None:
    from ko_embed_lab import cache as cache_mod
    from ko_embed_lab import encode as enc

    def full(self, keys, vectors):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_mod.CacheNamespace, "put_keys", full)
    monkeypatch.setattr(enc, "_cache_write_warned", set())
    store = EmbeddingCache(tmp_path / "c")
    with caplog.at_level(logging.WARNING):
        a = model.encode_documents(["첫 문장", "둘째 문장"], cache=store)
        b = model.encode_documents(["셋째 문장"], cache=store)
    assert a.shape == (2, 384) and b.shape == (1, 384)
    assert caplog.text.count("cannot be written") == 1


# --- bug 6: texts given the wrong way --------------------------------------------------------------------


def test_a_dict_or_a_set_of_texts_is_refused(model) -> None:
    data = _tiny_set()
    with pytest.raises(TypeError, match=r"embed its keys.*list\(data.queries.values\(\)\)"):
        model.encode_queries(data.queries)
    with pytest.raises(TypeError, match="set, whose order is arbitrary"):
        model.encode_documents({"가", "나"})


# --- weak spots --------------------------------------------------------------------------------------------


def test_converted_model_content_is_verified(tmp_path, monkeypatch) -> None:
    from ko_embed_lab.bundled import install

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "a.txt").write_text("weights", encoding="utf-8")
    marker = {"files": {"a.txt": 7}, "sha256": {"a.txt": install._file_sha256(folder / "a.txt")}}
    assert install._content_ok(folder, marker)
    calls = []
    from ko_embed_lab import _files

    monkeypatch.setattr(_files, "file_sha256", lambda p: calls.append(p) or marker["sha256"]["a.txt"])
    assert install._content_ok(folder, marker) and calls == []  # once per process
    monkeypatch.undo()
    time.sleep(0.01)
    (folder / "a.txt").write_text("WEIGHTS", encoding="utf-8")  # same size, other content
    assert not install._content_ok(folder, marker)
    assert not install._content_ok(folder, {"files": {"a.txt": 7}})  # an old marker without hashes


def _write_chunk(directory: Path, keys: list[str], vectors: np.ndarray) -> None:
    import hashlib
    import io

    directory.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.save(buf, vectors.astype(np.float32))
    (directory / "chunk-x.npy").write_bytes(buf.getvalue())
    meta = {"format": 1, "keys": keys, "sha256": hashlib.sha256(buf.getvalue()).hexdigest()}
    (directory / "chunk-x.keys.json").write_text(json.dumps(meta), encoding="utf-8")


def test_no_nan_ever_leaves_the_cache(tmp_path) -> None:
    from ko_embed_lab.cache import text_key

    store = EmbeddingCache(tmp_path)
    ns = store.namespace({"f": 1})
    _write_chunk(ns.dir, [text_key("가"), text_key("나")], np.array([[1.0, 0.0], [np.nan, 0.0]]))
    found, vectors = ns.get(["가", "나"])
    assert found == [] and vectors.shape[0] == 0  # the chunk is dropped, both are misses
    assert not (ns.dir / "chunk-x.npy").exists()
    with pytest.raises(ValueError, match="non-finite"):
        ns.put(["다"], np.array([[np.inf, 0.0]]))


def test_a_chunk_changed_after_verification_is_verified_again(tmp_path) -> None:
    from ko_embed_lab.cache import text_key

    store = EmbeddingCache(tmp_path)
    ns = store.namespace({"f": 2})
    ns.put(["가"], np.array([[1.0, 0.0]], dtype=np.float32))
    assert ns.get(["가"])[0] == [0]
    chunk = next(ns.dir.glob("chunk-*.npy"))
    data = bytearray(chunk.read_bytes())
    data[-4:] = np.array([np.nan], dtype=np.float32).tobytes()
    time.sleep(0.01)
    chunk.write_bytes(bytes(data))
    found, _ = ns.get([text_key("가") and "가"])
    assert found == []


def test_cache_chunks_are_hashed_once_per_process(tmp_path, monkeypatch) -> None:
    from ko_embed_lab import cache as cache_mod

    EmbeddingCache(tmp_path).namespace({"f": 3}).put(["가"], np.array([[1.0, 0.0]], dtype=np.float32))
    read = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or real(self))
    for _ in range(3):  # a fresh cache object each time, as cache=True did
        assert EmbeddingCache(tmp_path).namespace({"f": 3}).get(["가"])[0] == [0]
    assert [n for n in read if n.endswith(".npy")] == []  # verified at write, never re-read for hashing
    cache_mod._VERIFIED.clear()  # a new process
    assert EmbeddingCache(tmp_path).namespace({"f": 3}).get(["가"])[0] == [0]
    assert len([n for n in read if n.endswith(".npy")]) == 1


def test_stale_partials_of_a_killed_run_are_removed(model, tmp_path) -> None:
    stale = tmp_path / ".e.npy.999999999.partial"
    stale.write_bytes(b"half")
    out = kel.encode_to_disk(model, ["가", "나"], tmp_path / "e.npy")
    assert out.shape == (2, 384) and not stale.exists()


def test_cli_encode_caches_as_it_goes(tmp_path, monkeypatch) -> None:
    from ko_embed_lab.models import EmbeddingModel

    src = tmp_path / "t.txt"
    src.write_text("\n".join(f"문장 {i}" for i in range(6)) + "\n", encoding="utf-8")
    monkeypatch.setattr(cli, "_ENCODE_STEP", 2)
    real = EmbeddingModel.encode
    calls = []

    def dies_on_third(self, texts, **kw):
        calls.append(len(texts))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, texts, **kw)

    monkeypatch.setattr(EmbeddingModel, "encode", dies_on_third)
    assert cli.main(["encode", "--input", str(src), "--output", str(tmp_path / "e.npy"), "-q"]) == 130
    monkeypatch.setattr(EmbeddingModel, "encode", real)
    ns = kel.load_model(device="cpu").cache_namespace("passage: ", True)
    assert len(ns) >= 4  # the two finished steps were cached: a rerun resumes from them


def test_evaluate_refuses_empty_sets_and_drops_unjudged_queries(model, caplog) -> None:
    data = _tiny_set()
    with pytest.raises(ValueError, match="top_k"):
        kel.evaluate_retrieval(model, data, top_k=0)
    empty = RetrievalSet(name="e", corpus={}, queries=data.queries, qrels=data.qrels)
    with pytest.raises(ValueError, match="corpus is empty"):
        kel.evaluate_retrieval(model, empty)
    none = RetrievalSet(name="n", corpus=data.corpus, queries={}, qrels={})
    with pytest.raises(ValueError, match="no query has a relevant document"):
        kel.evaluate_retrieval(model, none)
    partial = RetrievalSet(
        name="p", corpus=data.corpus, queries={**data.queries, "q3": "없음"}, qrels={**data.qrels, "q3": {"d1": 0}}
    )
    with caplog.at_level(logging.WARNING):
        res = kel.evaluate_retrieval(model, partial)
    assert set(res.per_query) == {"q1", "q2"} and res.provenance["settings"]["queries_without_relevant_dropped"] == 1
    assert "1 of 3 queries have no relevant document" in caplog.text


def test_cp949_files_are_named_with_the_fix_and_readable(tmp_path) -> None:
    save_beir(_tiny_set(), tmp_path / "s")
    for name in ("corpus.jsonl", "queries.jsonl"):
        p = tmp_path / "s" / name
        p.write_bytes(p.read_text(encoding="utf-8").encode("cp949"))
    with pytest.raises(ValueError, match=r"corpus.jsonl is not valid utf-8.*--encoding cp949.*iconv"):
        load_beir(tmp_path / "s")
    assert len(load_beir(tmp_path / "s", encoding="cp949").corpus) == 2


def test_counting_a_long_text_warns_nothing(model, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        n = kel.count_tokens(model, "대한민국 " * 2000)
    assert n > 512 and "Token indices sequence length" not in caplog.text


def test_small_mistakes_get_clear_errors(model, caplog) -> None:
    assert model.encode_documents(["가"], dim=np.int64(128)).shape == (1, 128)
    with pytest.raises(TypeError, match="cache='yes'"):
        model.encode_documents(["가"], cache="yes")
    for bad in (0, -3):
        with pytest.raises(ValueError, match="positive int"):
            model.encode_documents(["가"], batch_tokens=bad)
        with pytest.raises(ValueError, match="positive int"):
            model.encode_documents(["가"], max_batch_size=bad)
    with caplog.at_level(logging.WARNING):
        model.encode_documents(["\u200b\ufeff", "가"])
    assert "1 of 2 texts are empty" in caplog.text


def test_remote_code_models_are_pinned() -> None:
    specs = [s for s in kel.list_specs() if s.trust_remote_code]
    assert specs and all(s.revision and len(s.revision) == 40 for s in specs)


def test_peak_memory_sampler_sees_anonymous_memory() -> None:
    from ko_embed_lab._memory import PeakRSS, anon_bytes

    if anon_bytes() is None:
        pytest.skip("no /proc/self/status RssAnon on this platform")
    with PeakRSS(interval=0.001) as rss:
        block = bytearray(64 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
    assert rss.anon_peak_mb - rss.anon_base_mb > 48
    assert rss.peak_mb - rss.base_mb > 48
    del block
