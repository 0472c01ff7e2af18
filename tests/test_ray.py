"""``fincard run --ray`` (infer/distributed.py) on a local Ray: the same outputs as a local run, every document
exactly once after an actor is killed mid-run, and after an interrupted run is resumed."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'fincard[ray]' (the test extra pulls it in)")
pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'fincard[ray]'")
# Ray Data's own context copies set its deprecated fields: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

from infer import FinCard, read_documents  # noqa: E402
from infer.bench import bench_texts  # noqa: E402
from infer.cli import main  # noqa: E402
from infer.distributed import ShardDirectory, merge, run_ray  # noqa: E402
from infer.errors import FincardError  # noqa: E402
from infer.pipeline import run  # noqa: E402

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_f25933e4e25280a1.txt"  # conftest's seed_path
OUTPUTS = ("paragraphs.jsonl", "cards.jsonl", "cards.md", "errors.jsonl")
SCORES = ("theme_scores", "stance_scores")


@pytest.fixture(scope="session")
def ray_cluster(fincard_home):
    """One local Ray of 2 CPUs for the session, started after FINCARD_HOME is set, so its workers inherit it."""
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The seed card file, 300 bench articles of two short paragraphs, and bad rows and a missing file."""
    folder = tmp_path_factory.mktemp("ray_inputs")
    texts = [text[:40] for text in bench_texts(600)]
    with (folder / "bench.jsonl").open("w", encoding="utf-8") as out:
        for a in range(300):
            out.write(json.dumps({"id": f"bench-{a}", "paragraphs": texts[2 * a:2 * a + 2]}, ensure_ascii=False) + "\n")
    (folder / "bad.jsonl").write_text('{"id": "ok", "text": "央行降准。\\n铜价上涨。"}\n{broken\n{"id": "empty", "text": " "}\n',
                                      encoding="utf-8")
    return [str(SEED), str(folder / "bench.jsonl"), str(folder / "bad.jsonl"), str(folder / "missing.txt")]


@pytest.fixture(scope="module")
def local(tiny_model, inputs, tmp_path_factory):
    """The reference: a local ``fincard run`` of the same inputs."""
    out = tmp_path_factory.mktemp("local")
    run(inputs, out, FinCard.load(tiny_model))
    return {name: (out / name).read_text(encoding="utf-8") for name in OUTPUTS}


def merged(outdir):
    merge(outdir)
    return {name: (outdir / name).read_text(encoding="utf-8") for name in OUTPUTS}


def rows(text):
    return [json.loads(line) for line in text.splitlines()]


def assert_same_paragraphs(ray_text, local_text, labels=True):
    """The same paragraphs in the same order, each once; with ``labels`` the same themes and stance too."""
    ours, theirs = rows(ray_text), rows(local_text)
    assert [(r["key"], r["paragraph"]) for r in ours] == [(r["key"], r["paragraph"]) for r in theirs]
    if labels:
        for a, b in zip(ours, theirs):
            assert {k: v for k, v in a.items() if k not in SCORES} == {k: v for k, v in b.items() if k not in SCORES}
            for key in SCORES:
                assert a[key] == pytest.approx(b[key], abs=1e-6)


def test_ray_run_equals_local_run(ray_cluster, tiny_model, inputs, local, tmp_path):
    # One actor of 2 CPUs holds every CPU of this 2-CPU Ray: the read stage (0 CPUs) must still run.
    out = tmp_path / "ray"
    summary = run_ray(inputs, out, model=tiny_model)
    assert summary.actors == 1 and summary.errors == 3
    docs = list(read_documents(inputs, on_error=lambda error: None))
    assert summary.documents == len(docs) == 311 and summary.paragraphs == sum(len(d.paragraphs) for d in docs)
    assert sum(summary.labels.values()) >= summary.paragraphs
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["documents"] == 311 and manifest["errors"] == 3 and manifest["inputs"] == inputs
    assert all(p.suffix == ".parquet" for kind in ("paragraphs", "cards") for p in (out / kind).iterdir())
    result = merged(out)
    assert result["errors.jsonl"] == local["errors.jsonl"]  # bad rows: the same error records, in the same order
    assert result["cards.jsonl"] == local["cards.jsonl"] and result["cards.md"] == local["cards.md"]
    assert_same_paragraphs(result["paragraphs.jsonl"], local["paragraphs.jsonl"])


def _ray_actor_pids() -> list[int]:
    """Processes of fincard's Ray actors, by the title Ray gives them (``ray::MapWorker(MapBatches(CardWorker))...``)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as stream:
                if stream.read().startswith(b"ray::MapWorker(MapBatches(CardWorker))"):
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the actor processes through /proc")
def test_actor_killed_mid_run_is_restarted_and_every_document_lands_once(ray_cluster, tiny_model, inputs, local, tmp_path):
    out = tmp_path / "ray"
    result = {}
    # Two actors of one CPU and small chunks (about 40), so that the kill lands mid-run.
    job = threading.Thread(target=lambda: result.setdefault("summary", run_ray(
        inputs, out, model=tiny_model, cpus_per_actor=1, paragraphs_per_chunk=16)))
    job.start()
    deadline = time.monotonic() + 300
    while not (out / "cards").is_dir() or not any((out / "cards").glob("*.parquet")):
        assert time.monotonic() < deadline and job.is_alive(), "no chunk was written"
        time.sleep(0.1)
    victims = _ray_actor_pids()
    assert victims and job.is_alive()
    os.kill(victims[0], signal.SIGKILL)
    job.join(timeout=600)
    assert not job.is_alive() and "summary" in result
    assert result["summary"].documents == 311 and result["summary"].errors == 3
    after = merged(out)
    # Every document exactly once and in input order (labels may differ in the last bf16 bits: other batches).
    assert [c["key"] for c in rows(after["cards.jsonl"])] == [c["key"] for c in rows(local["cards.jsonl"])]
    assert_same_paragraphs(after["paragraphs.jsonl"], local["paragraphs.jsonl"], labels=False)
    assert after["errors.jsonl"] == local["errors.jsonl"]
    assert not any(path.name.startswith(".") for kind in ("paragraphs", "cards") for path in (out / kind).iterdir())


def test_interrupted_run_resumes_without_duplicates(ray_cluster, tiny_model, inputs, local, tmp_path):
    out = tmp_path / "ray"
    calls = []

    def interrupt(documents, paragraphs):
        calls.append(documents)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C once two chunks are done

    with pytest.raises(KeyboardInterrupt):
        run_ray(inputs, out, model=tiny_model, on_progress=interrupt)
    deadline = time.monotonic() + 60
    while _ray_actor_pids():  # the interrupted run's actor goes away with it
        assert time.monotonic() < deadline, "the actor outlived the interrupted run"
        time.sleep(0.1)
    finished = ShardDirectory(out).finished()
    assert 2 <= len(finished) <= 3  # of 3 chunks of about 256 paragraphs
    with pytest.raises(FincardError, match="--resume"):
        run_ray(inputs, out, model=tiny_model)
    # What a crash can leave besides: a temporary file, and a chunk whose card shard was never written.
    (out / "paragraphs" / ".000000000099-x.parquet.tmp").write_bytes(b"torn")
    finished[-1][1].unlink()
    summary = run_ray(inputs, out, model=tiny_model, resume=True)
    assert summary.skipped == sum(len(documents_in(cards)) for _, cards in finished[:-1])
    assert summary.skipped + summary.documents == 311
    after = merged(out)
    assert after["cards.jsonl"] == local["cards.jsonl"] and after["cards.md"] == local["cards.md"]
    assert_same_paragraphs(after["paragraphs.jsonl"], local["paragraphs.jsonl"])
    assert after["errors.jsonl"] == local["errors.jsonl"]
    # A second resume finds everything done.
    again = run_ray(inputs, out, model=tiny_model, resume=True)
    assert (again.documents, again.skipped) == (0, 311)
    assert merged(out)["cards.jsonl"] == local["cards.jsonl"]


def documents_in(card_shard):
    from infer.render import read_records

    return [row["key"] for row in read_records(card_shard)]


def test_cli_run_ray_and_merge(ray_cluster, tiny_model, seed_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(seed_path), "-o", str(out), "--model", str(tiny_model), "--ray", "--output-format", "jsonl"]) == 0
    printed = capsys.readouterr().out
    assert "documents 10" in printed and "fincard merge" in printed
    assert all(p.suffix == ".jsonl" for p in (out / "cards").iterdir())
    assert main(["run", str(seed_path), "-o", str(out), "--model", str(tiny_model), "--ray"]) == 2  # needs --resume
    assert main(["run", str(seed_path), "-o", str(out), "--model", str(tiny_model), "--ray", "--resume"]) == 0
    assert "(+10 already done)" in capsys.readouterr().out
    assert main(["merge", str(out)]) == 0
    assert len((out / "cards.jsonl").read_text(encoding="utf-8").splitlines()) == 10
    assert (out / "cards.md").exists() and not (out / "errors.jsonl").exists()
    missing = ["run", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o2"), "--model", str(tiny_model), "--ray"]
    assert main(missing) == 1
    assert json.loads((tmp_path / "o2" / "errors.jsonl").read_text(encoding="utf-8"))["error"] == "no such file or directory"


def test_cli_ray_address_is_not_an_input(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["run", "-o", "out", "--ray", "seeds/"])
    assert exit.value.code == 2 and "put --ray after the inputs" in capsys.readouterr().err
