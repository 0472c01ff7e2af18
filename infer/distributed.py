"""``fincard run --ray``: the same job on Ray Data, for corpora that outgrow one machine.

One Ray Data pipeline of two stages:

1. **read** — one Ray task, on the driver's node, runs fincard's own readers over the inputs (every format of a local
   run, with the same error records) and yields *chunks*: runs of consecutive documents of about
   ``PARAGRAPHS_PER_BATCH`` paragraphs, exactly the groups a local run classifies together. It asks for no CPU
   (``num_cpus=0``): parsing costs about 1/1000 of the classifying, and a stage that needs a CPU slot would hang
   the run once the actors hold every CPU.
2. **classify + gist** — ``map_batches`` over a pool of actors (``compute=ActorPoolStrategy``), each holding one
   :class:`FinCard` loaded once, with ``num_cpus`` CPUs and that many torch threads. An actor classifies a chunk
   (token-budget batches, as locally), gists each document with its paragraphs' labels, and writes the chunk as
   two shards, ``OUTDIR/paragraphs/<chunk>`` then ``OUTDIR/cards/<chunk>``, each atomically, in Parquet (default)
   or JSONL, with the fields of a local run. It hands back only counts.

A chunk's name is the ordinal of its first document in the input stream and a hash of its documents' keys. So a
task retried after its actor died (Ray restarts actors and retries their tasks) rewrites the same two files: every
document lands exactly once. Ray does not keep the order of outputs; :func:`merge` restores it by sorting the
names, and gathers the shards into the ``paragraphs.jsonl``, ``cards.jsonl`` and ``cards.md`` of a local run.

Resume: a document is done once its chunk's card shard exists. Rerunning into the same OUTDIR with ``resume``
deletes unfinished shards (a paragraph shard without its card shard, temporary files) and skips every document
whose key (:func:`infer.pipeline.document_key`) is in a card shard, so an interrupted run carries on without
duplicates; chunks never span a skipped document, so names still sort in input order.

Ray is imported only here and only when used: ``pip install 'fincard[ray]'``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from . import __version__
from .card import Gist
from .document import Document
from .errors import ConfigError, FincardError
from .fincard import PARAGRAPHS_PER_BATCH
from .pipeline import RunSummary, document_key
from .readers import read_documents
from .render import RECORD_FORMATS, atomic_output, json_line, open_records, paragraph_row, read_records
from .schema import Schema
from .summarize import SHIPPED

logger = logging.getLogger("fincard")

KINDS = ("paragraphs", "cards")  # shard folders; a chunk's card shard is written last: it marks the chunk done
EXTENSIONS = {"parquet": ".parquet", "jsonl": ".jsonl"}
CPUS_PER_ACTOR = 2  # what the measured per-node rate uses; gists are single-threaded, so more, smaller actors pay
ACTOR_MEMORY = 2 * 1024**3  # heap reserved per actor: Gemma 3 270M peaks at about 1.2 GB (README)
OBJECT_STORE = 512 * 1024**2  # a local Ray holds a few chunks in flight; sized to fit /dev/shm, see _object_store
BLOCK_BYTES = 1024  # Ray Data block target: about one chunk per block, so chunks stream to actors as they are read
INSTALL_HINT = "fincard --ray needs Ray Data: pip install 'fincard[ray]'"


@dataclass
class RayRunSummary(RunSummary):
    """A :class:`RunSummary` plus what the command line prints after a Ray run."""

    schema: Schema | None = None
    actors: int = 0
    manifest: Path | None = None


# --- OUTDIR: shards, resume, merge ----------------------------------------------------------------------------


class ShardDirectory:
    """``OUTDIR/paragraphs/`` and ``OUTDIR/cards/``: one shard of each per finished chunk."""

    def __init__(self, outdir: str | Path):
        self.outdir = Path(outdir)
        self.folders = {kind: self.outdir / kind for kind in KINDS}

    def shards(self, kind: str) -> dict[str, Path]:
        folder = self.folders[kind]
        if not folder.is_dir():
            return {}
        return {p.stem: p for p in folder.iterdir() if p.suffix in EXTENSIONS.values() and not p.name.startswith(".")}

    def finished(self) -> list[tuple[Path, Path]]:
        """``(paragraph shard, card shard)`` of every finished chunk, in input order."""
        paragraphs, cards = self.shards("paragraphs"), self.shards("cards")
        return [(paragraphs[name], cards[name]) for name in sorted(cards) if name in paragraphs]

    def exists(self) -> bool:
        return any(self.shards(kind) for kind in KINDS)

    def clean(self) -> None:
        """Remove what an interrupted run leaves: temporary files, and paragraph shards whose card shard is missing."""
        for folder in self.folders.values():
            if folder.is_dir():
                for path in folder.glob(".*.tmp"):
                    path.unlink(missing_ok=True)
        paragraphs, cards = self.shards("paragraphs"), self.shards("cards")
        for name in paragraphs.keys() ^ cards.keys():  # a card shard alone cannot happen (it is written second)
            (paragraphs.get(name) or cards[name]).unlink()

    def done_keys(self) -> set[str]:
        done: set[str] = set()
        for _, cards in self.finished():
            if cards.suffix == ".parquet":
                import pyarrow.parquet as pq

                done.update(pq.read_table(cards, columns=["key"]).column("key").to_pylist())
            else:
                done.update(row["key"] for row in read_records(cards))
        return done


def merge(outdir: str | Path, output_format: str = "jsonl") -> dict[str, int]:
    """Gather the shards of a Ray run in input order into ``OUTDIR/paragraphs.jsonl``, ``cards.jsonl`` (or both as
    ``.parquet``) and ``cards.md``: the files of a local ``fincard run``. Streams one shard at a time."""
    if output_format not in RECORD_FORMATS:
        raise ConfigError(f"output format {output_format!r}: use one of {', '.join(RECORD_FORMATS)}")
    shards = ShardDirectory(outdir)
    chunks = shards.finished()
    if not chunks and not (shards.outdir / "manifest.json").exists():
        raise FincardError(f"{outdir} holds no shards of a 'fincard run --ray'")
    counts = {"chunks": len(chunks), "documents": 0, "paragraphs": 0}
    extension = EXTENSIONS[output_format]
    with open_records(shards.outdir / f"paragraphs{extension}", "paragraphs", output_format) as paragraphs, \
            open_records(shards.outdir / f"cards{extension}", "cards", output_format) as cards, \
            atomic_output(shards.outdir / "cards.md") as markdown:
        for paragraph_shard, card_shard in chunks:
            for row in read_records(paragraph_shard):
                paragraphs.write(row)
                counts["paragraphs"] += 1
            for row in read_records(card_shard):
                cards.write(row)
                markdown.write(Gist.from_dict(row).to_markdown() + "\n")
                counts["documents"] += 1
    return counts


# --- the two stages (they run in Ray workers) -----------------------------------------------------------------


def read_chunks(batch: Any, *, inputs: list[str], format: str | None, cwd: str, done: set[str],
                paragraphs_per_chunk: int) -> Iterator[dict[str, list]]:
    """The read stage: the inputs' documents as chunk rows ``{chunk, docs, skipped, errors}``, streamed.

    ``docs`` holds the chunk's :class:`Document` objects, pickled as read (every field, whatever the readers add:
    only this stage and the actors, one fincard install, ever see them); ``errors`` the error records met since the
    previous row and ``skipped`` the documents already done, so that both travel in input order with the chunks.
    """
    os.chdir(cwd)  # the inputs as typed: error records then name files exactly as a local run does
    ordinal, first = 0, 0
    chunk: list[Document] = []
    size, skipped = 0, 0
    errors: list[str] = []

    def flush(name: str) -> dict[str, list]:
        nonlocal chunk, size, skipped, errors
        row = {"chunk": [name], "docs": [pickle.dumps(chunk) if chunk else b""], "skipped": [skipped],
               "errors": ["".join(errors)]}
        chunk, size, skipped, errors = [], 0, 0, []
        return row

    def chunk_name() -> str:
        keys = "\n".join(document_key(doc) for doc in chunk)
        return f"{first:012d}-{hashlib.sha1(keys.encode('utf-8')).hexdigest()[:10]}"

    for doc in read_documents(inputs, format, lambda error: errors.append(json_line(error.to_dict()))):
        if document_key(doc) in done:
            if chunk:  # a chunk never spans a skipped document: its name then sorts in input order
                yield flush(chunk_name())
            skipped += 1
        else:
            if not chunk:
                first = ordinal
            chunk.append(doc)
            size += len(doc.paragraphs)
            if size >= paragraphs_per_chunk:
                yield flush(chunk_name())
        ordinal += 1
    if chunk:
        yield flush(chunk_name())
    if skipped or errors:
        yield flush(f"{ordinal:012d}-end")  # after every chunk: the last errors and skips


class CardWorker:
    """The classify + gist stage: one actor, one FinCard, loaded once; each call writes whole chunks."""

    def __init__(self, outdir: str, model: str | None, options: dict[str, Any], batch_size: int, output_format: str,
                 cpus: int):
        import ray

        from .fincard import FinCard

        # Torch threads = the CPUs Ray assigned to this actor (Ray also sets OMP_NUM_THREADS to that number).
        threads = int(ray.get_runtime_context().get_assigned_resources().get("CPU", cpus)) or 1
        self.fincard = FinCard.load(model or SHIPPED, threads=threads, **options)
        self.shards = ShardDirectory(outdir)
        self.batch_size = batch_size
        self.format = output_format

    def __call__(self, batch: Any) -> dict[str, list]:
        """A pyarrow batch of chunk rows in, one row of counts per chunk out."""
        out: dict[str, list] = {"chunk": [], "documents": [], "paragraphs": [], "skipped": [], "errors": [], "labels": []}
        for row in batch.to_pylist():
            documents = pickle.loads(row["docs"]) if row["docs"] else []
            paragraphs, labels = self._write(row["chunk"], documents) if documents else (0, Counter())
            for key, value in (("chunk", row["chunk"]), ("documents", len(documents)), ("paragraphs", paragraphs),
                               ("skipped", row["skipped"]), ("errors", row["errors"]),
                               ("labels", json.dumps([[t, s, n] for (t, s), n in labels.items()], ensure_ascii=False))):
                out[key].append(value)
        return out

    def _write(self, name: str, documents: list[Document]) -> tuple[int, Counter]:
        """Classify and gist one chunk and write its paragraph shard, then its card shard (the commit marker)."""
        paragraph_rows, card_rows, labels = [], [], Counter()
        for result in self.fincard(documents, self.batch_size):
            key = document_key(result.document)
            for paragraph, prediction in zip(result.document.paragraphs, result.predictions):
                paragraph_rows.append({"key": key, **paragraph_row(result.document, paragraph, prediction)})
                for theme in prediction.themes or ["(none)"]:
                    labels[theme, prediction.stance] += 1
            card_rows.append({"key": key, **result.gist.to_dict()})
        for kind, rows in (("paragraphs", paragraph_rows), ("cards", card_rows)):
            with open_records(self.shards.folders[kind] / f"{name}{EXTENSIONS[self.format]}", kind, self.format) as out:
                for row in rows:
                    out.write(row)
        return len(paragraph_rows), labels


# --- the driver -----------------------------------------------------------------------------------------------


def _object_store() -> int:
    """Object store bytes for a Ray started here: 512 MiB, less when /dev/shm is smaller, so that the store stays in
    shared memory instead of spilling (below Ray's 75 MiB minimum Ray itself falls back to /tmp and warns)."""
    try:
        free = shutil.disk_usage("/dev/shm").free
    except OSError:
        return OBJECT_STORE
    return max(min(OBJECT_STORE, int(free * 0.8)), 80 * 1024**2)


@contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Ray for one run: a session the caller already started is used as is (and left running); otherwise a local
    Ray on this machine (no ``address``) or the cluster at ``address`` (``auto``, ``ray://host:10001``, ...)."""
    try:
        import ray
    except ImportError:
        raise FincardError(INSTALL_HINT) from None
    if ray.is_initialized():
        yield ray
        return
    if address:
        ray.init(address=address, logging_level=logging.WARNING)
    else:
        ray.init(address="local", include_dashboard=False, object_store_memory=_object_store(),
                 logging_level=logging.WARNING)
    try:
        yield ray
    finally:
        ray.shutdown()


def run_ray(
    inputs: list[str],
    outdir: str | Path,
    *,
    address: str | None = None,
    model: str | Path | None = None,
    options: dict[str, Any] | None = None,
    batch_size: int = 32,
    format: str | None = None,
    output_format: str = "parquet",
    resume: bool = False,
    cpus_per_actor: int = CPUS_PER_ACTOR,
    actors: int | None = None,
    paragraphs_per_chunk: int = PARAGRAPHS_PER_BATCH,
    on_progress: Callable[[int, int], None] | None = None,
) -> RayRunSummary:
    """``fincard run`` on Ray: shards under OUTDIR (see the module docstring), ``errors.jsonl`` when inputs failed,
    and ``manifest.json``; :func:`merge` then writes the local run's files.

    ``model``: a classifier folder (on every node), default ``$FINCARD_MODEL`` or the shipped one of each node's
    install. ``options``: keyword arguments of :meth:`FinCard.load` for every actor (``headline=``, ``salience=``,
    ``max_bullets=``...; folders must be on every node; ``threads`` is the actor's CPUs). ``actors``: the pool size,
    default as many actors of ``cpus_per_actor`` CPUs and ``ACTOR_MEMORY`` as the cluster holds at start.
    ``on_progress(documents, paragraphs)`` after each chunk.
    """
    if "-" in inputs:
        raise ConfigError("--ray reads files, not stdin: save the input to a file and give its path")
    if output_format not in RECORD_FORMATS:
        raise ConfigError(f"output_format {output_format!r}: use one of {', '.join(RECORD_FORMATS)}")
    if cpus_per_actor < 1:
        raise ConfigError(f"cpus_per_actor must be 1 or more, got {cpus_per_actor}")
    # Paths the workers can open whatever their working folder; None lets each node find its own shipped files.
    model = model or os.environ.get("FINCARD_MODEL")
    model_folder = Path(model).resolve() if model else None
    from .shipped import model_path

    schema = Schema.load((model_folder or model_path()) / "schema.json")  # also: a bad folder fails before Ray starts
    options = dict(options or {})
    for name, value in options.items():
        if isinstance(value, (str, Path)) and value != SHIPPED:  # a model folder: fail now, and give workers its full path
            if not Path(value).exists():
                raise FincardError(f"{name} model {value}: no such folder")
            options[name] = str(Path(value).resolve())
    shards = ShardDirectory(Path(outdir).resolve())
    if shards.exists() and not resume:
        raise FincardError(f"{outdir} holds shards of an earlier run: add --resume to continue it, or choose another -o")
    shards.clean()
    done = shards.done_keys()
    for folder in shards.folders.values():
        folder.mkdir(parents=True, exist_ok=True)

    summary = RayRunSummary(schema=schema)
    started = time.monotonic()
    rows: dict[str, dict[str, Any]] = {}
    with ray_session(address) as ray:
        from ray.data import ActorPoolStrategy, DataContext

        resources = ray.cluster_resources()  # at start: an autoscaling cluster's later nodes are not counted
        fit = min(int(resources.get("CPU", 1)) // cpus_per_actor, int(resources.get("memory", 0) // ACTOR_MEMORY))
        summary.actors = actors or max(1, fit)
        context = DataContext.get_current()
        saved = context.target_max_block_size, context.enable_progress_bars
        context.target_max_block_size, context.enable_progress_bars = BLOCK_BYTES, False
        try:
            dataset = ray.data.from_items([{"inputs": len(inputs)}]).map_batches(
                read_chunks, batch_size=1, num_cpus=0,
                # Inputs are read where the driver runs (the head, with ray://), as local:// reads are.
                label_selector={"ray.io/node-id": ray.get_runtime_context().get_node_id()},
                fn_kwargs={"inputs": list(map(str, inputs)), "format": format, "cwd": os.getcwd(), "done": done,
                           "paragraphs_per_chunk": paragraphs_per_chunk},
            ).map_batches(
                # Four chunks queued per actor: with Ray's default the actor waited for its next chunk about a
                # quarter of the time (1,000 bench articles on one 2-core node: 522 s, with 4 queued 396 s).
                CardWorker, batch_size=1, batch_format="pyarrow",
                compute=ActorPoolStrategy(size=summary.actors, max_tasks_in_flight_per_actor=4),
                num_cpus=cpus_per_actor, memory=ACTOR_MEMORY,
                fn_constructor_kwargs={"outdir": str(shards.outdir), "model": str(model_folder) if model_folder else None,
                                       "options": options, "batch_size": batch_size, "output_format": output_format,
                                       "cpus": cpus_per_actor},
            )
            for row in dataset.iter_rows():
                if row["chunk"] in rows:  # a read retried after a crash yields its chunks again: count them once
                    continue
                rows[row["chunk"]] = row
                summary.documents += row["documents"]
                summary.paragraphs += row["paragraphs"]
                summary.skipped += row["skipped"]
                for theme, stance, count in json.loads(row["labels"]):
                    summary.labels[theme, stance] += count
                if on_progress:
                    on_progress(summary.documents, summary.paragraphs)
        finally:
            context.target_max_block_size, context.enable_progress_bars = saved
            summary.seconds = time.monotonic() - started
    shards.clean()
    errors = "".join(rows[name]["errors"] for name in sorted(rows))
    summary.errors = errors.count("\n")
    error_file = shards.outdir / "errors.jsonl"
    if errors:
        with atomic_output(error_file) as out:
            out.write(errors)
    else:
        error_file.unlink(missing_ok=True)
    summary.manifest = shards.outdir / "manifest.json"
    manifest = {
        "fincard": __version__, "inputs": list(map(str, inputs)), "format": format,
        "model": str(model_folder) if model_folder else "shipped",
        "options": {name: value if isinstance(value, (str, int, float, type(None))) else repr(value)
                    for name, value in options.items()},
        "output_format": output_format, "ray": {"address": address or "local", "actors": summary.actors,
                                                "cpus_per_actor": cpus_per_actor},
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "seconds": round(summary.seconds, 1),
        "documents": summary.documents, "skipped": summary.skipped, "paragraphs": summary.paragraphs,
        "errors": summary.errors, "chunks": len(shards.finished()),
    }
    with atomic_output(summary.manifest) as out:
        out.write(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return summary
