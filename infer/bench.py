"""``fincard bench``: paragraphs/s of the engine against what plain ``transformers`` gives, in one process.

Baseline: the same model merged into a normal module, fp32, batches of 32 in input order, each padded to its
longest paragraph (the ``pipeline`` default), under ``torch.no_grad()``. fincard: :class:`infer.classifier.Classifier`.
"""

from __future__ import annotations

import json
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .classifier import Classifier
from .errors import FincardError
from .readers import read_documents, read_jsonl_rows

DEFAULT_TEXTS = ("labels/corpus/test.jsonl", "seeds")  # in a checkout: the team's test paragraphs and the seeds


def bench_texts(n: int, sources: Sequence[str | Path] = DEFAULT_TEXTS) -> list[str]:
    """Paragraphs of ``sources`` (a realistic length mix), repeated to ``n``: the ``text`` of labelled JSONL rows, or
    the paragraphs of any other input. Whole multi-paragraph labelled items are left out: fincard classifies
    documents paragraph by paragraph."""
    texts: list[str] = []
    for source in map(Path, sources):
        if not source.exists():
            continue
        if source.suffix == ".jsonl":
            rows = (row.get("text") for _, row in read_jsonl_rows(source, lambda error: None))
            texts += [text for text in rows if isinstance(text, str) and "\n" not in text]
        else:
            texts += [p.text for doc in read_documents(source, on_error=lambda error: None) for p in doc.paragraphs]
    if not texts:
        raise FincardError(f"no benchmark texts in {', '.join(map(str, sources))}: run from the repository root or give --texts")
    return [texts[i % len(texts)] for i in range(n)]


def write_articles(path: Path, texts: Sequence[str], articles: int, paragraphs_per_article: int) -> Path:
    """``articles`` JSONL documents of ``paragraphs_per_article`` of ``texts`` each (repeated as needed) at ``path``."""
    with path.open("w", encoding="utf-8") as out:
        for a in range(articles):
            chunk = [texts[i % len(texts)] for i in range(a * paragraphs_per_article, (a + 1) * paragraphs_per_article)]
            out.write(json.dumps({"id": f"bench-{a}", "paragraphs": chunk}, ensure_ascii=False) + "\n")
    return path


def time_run(classifier: Classifier, articles: int, texts: Sequence[str], paragraphs_per_article: int = 8) -> dict[str, Any]:
    """Seconds of ``fincard run`` (read, classify, summarize, write) on ``articles`` articles made of ``texts``,
    with the shipped 核心观点 ranker."""
    from .fincard import FinCard
    from .pipeline import run
    from .summarize import Summarizer

    with tempfile.TemporaryDirectory() as tmp:
        data = write_articles(Path(tmp) / "articles.jsonl", texts, articles, paragraphs_per_article)
        started = time.perf_counter()
        summary = run([str(data)], Path(tmp) / "out", FinCard(classifier, Summarizer(classifier)))
        seconds = time.perf_counter() - started
    return {"run_articles": articles, "run_paragraphs": summary.paragraphs, "run_s": round(seconds, 1),
            "run_pps": round(summary.paragraphs / seconds, 1)}


def matmul_gflops(dtype: str, m: int = 2048, k: int = 640, n: int = 2048, repeats: int = 20) -> float:
    """This machine's matmul rate on all engine threads; the default shape is Gemma 3 270M's MLP at the engine's
    2,048-token batch budget, so it is the ceiling the engine can approach."""
    import torch

    a, b = torch.randn(m, k, dtype=getattr(torch, dtype)), torch.randn(k, n, dtype=getattr(torch, dtype))
    a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * m * k * n * repeats / (time.perf_counter() - started) / 1e9


def linear_gflop_per_token(module) -> float:
    """Multiply-adds of every linear layer, the bulk of a transformer's work, counted once per token."""
    import torch

    return sum(2 * m.in_features * m.out_features for m in module.modules() if isinstance(m, torch.nn.Linear)) / 1e9


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median seconds over ``repeats`` runs, and the last result."""
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


class PlainTransformers:
    """What a user gets without fincard's engine: merged fp32 weights, input order, pad to the batch's longest."""

    def __init__(self, classifier: Classifier):
        from transformers import AutoTokenizer

        from .backbones import backbone_folder
        from .model import load_merged

        base = backbone_folder(classifier.config.backbone)
        self.module = load_merged(classifier.folder, classifier.config, classifier.schema, base, dtype="float32")
        self.tokenizer = AutoTokenizer.from_pretrained(base)
        self.tokenizer.padding_side = "right"  # left padding would shift Gemma's positions
        self.max_length = classifier.config.max_length

    def scores(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        import torch

        themes, stances = [], []
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt")
                theme_logits, stance_logits = self.module(batch["input_ids"], batch["attention_mask"])
                themes.append(torch.sigmoid(theme_logits).numpy())
                stances.append(torch.softmax(stance_logits, -1).numpy())
        return np.concatenate(themes), np.concatenate(stances)


def agreement(classifier: Classifier, reference: tuple[np.ndarray, np.ndarray], candidate: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """Theme micro-F1 and stance accuracy of the engine's labels against the baseline's labels (both raw scores,
    calibrated here as the classifier would)."""
    from .metrics import theme_cuts, theme_metrics

    reference, candidate = (classifier.config.calibration.apply(*scores, classifier.schema.theme_ids) for scores in (reference, candidate))
    cuts = theme_cuts(classifier.config.thresholds, classifier.schema.theme_ids)
    themes = theme_metrics(reference[0] >= cuts, candidate[0] >= cuts, classifier.schema.theme_ids)["micro_f1"]
    # No positive theme on either side is perfect agreement, not an F1 of zero.
    if not (reference[0] >= cuts).any() and not (candidate[0] >= cuts).any():
        themes = 1.0
    stance = float((reference[1].argmax(1) == candidate[1].argmax(1)).mean())
    return {"theme_f1": themes, "stance_accuracy": stance}


def run_bench(model: str | Path | None = None, n: int = 2000, repeats: int = 3, batch_size: int = 32, int8: bool = False,
              run_articles: int = 0, sources: Sequence[str | Path] = DEFAULT_TEXTS) -> dict[str, Any]:
    texts = bench_texts(n, sources)
    started = time.perf_counter()
    classifier = Classifier.load(model)
    classifier.predict(texts[:1])
    cold_start = time.perf_counter() - started
    classifier.raw_scores(texts[:64], batch_size)  # warm-up
    fincard_s, fincard_scores = timed(lambda: classifier.raw_scores(texts, batch_size), repeats)
    rss = peak_rss_mb()
    baseline = PlainTransformers(classifier)
    baseline.scores(texts[:64], batch_size)
    baseline_s, baseline_scores = timed(lambda: baseline.scores(texts, batch_size), repeats)
    extra = {}
    if int8:
        from .engine import TransformerEngine

        quantised = TransformerEngine.load(classifier.folder, classifier.config, classifier.schema, dtype="int8")
        quantised.scores(texts[:64], batch_size)
        int8_s, int8_scores = timed(lambda: quantised.scores(texts, batch_size), repeats)
        extra = {"int8_pps": round(n / int8_s, 1), "int8_agreement": agreement(classifier, baseline_scores, int8_scores)}
    if run_articles:
        extra |= time_run(classifier, run_articles, texts)
    tokens = sum(len(ids) for ids in classifier.scorer.tokenizer.ids(texts))
    engine_gflops = tokens * linear_gflop_per_token(classifier.scorer.module) / fincard_s
    return {
        **extra,
        "model": str(classifier.folder),
        "paragraphs": n,
        "repeats": repeats,
        "baseline_pps": round(n / baseline_s, 1),
        "fincard_pps": round(n / fincard_s, 1),
        "speedup": round(baseline_s / fincard_s, 2),
        "agreement": agreement(classifier, baseline_scores, fincard_scores),
        "peak_rss_mb": round(rss, 1),
        "cold_start_s": round(cold_start, 2),
        "tokens_per_paragraph": round(tokens / n, 1),
        "engine_gflops": round(engine_gflops, 1),
        "matmul_gflops": {dtype: round(matmul_gflops(dtype), 1) for dtype in ("bfloat16", "float32")},
    }


def format_bench(result: dict[str, Any]) -> str:
    a = result["agreement"]
    return "\n".join([
        f"model {result['model']} · {result['paragraphs']} paragraphs · median of {result['repeats']}",
        f"baseline (plain transformers, fp32, input order) {result['baseline_pps']:>9.1f} paragraphs/s",
        f"fincard engine                                 {result['fincard_pps']:>9.1f} paragraphs/s",
        f"speedup {result['speedup']:.2f}x · agreement theme F1 {a['theme_f1']:.4f}, stance accuracy {a['stance_accuracy']:.4f}",
        f"peak RSS {result['peak_rss_mb']:.0f} MB (fincard part) · cold start {result['cold_start_s']:.2f} s",
        f"engine sustains {result['engine_gflops']:.0f} GFLOPS in linear layers ({result['tokens_per_paragraph']:.1f} tokens "
        f"a paragraph) · this machine's matmul peak {result['matmul_gflops']['bfloat16']:.0f} GFLOPS bf16, "
        f"{result['matmul_gflops']['float32']:.0f} fp32",
        *([f"int8 dynamic quantisation {result['int8_pps']:.1f} paragraphs/s · agreement theme F1 "
           f"{result['int8_agreement']['theme_f1']:.4f}, stance accuracy {result['int8_agreement']['stance_accuracy']:.4f}"]
          if "int8_pps" in result else []),
        *([f"fincard run: {result['run_articles']} articles, {result['run_paragraphs']} paragraphs in {result['run_s']:.1f} s "
           f"({result['run_pps']:.1f} paragraphs/s with gists and files)"] if "run_s" in result else []),
    ])




def ray_bench(model: str | Path | None = None, articles: int = 1000, address: str | None = None, batch_size: int = 32,
              sources: Sequence[str | Path] = DEFAULT_TEXTS, paragraphs_per_article: int = 8) -> dict[str, Any]:
    """``fincard run`` and then ``fincard run --ray`` on the same articles (those of ``--run-articles``): wall seconds,
    paragraphs/s, the overhead of Ray, and how many paragraph labels and cards agree.

    The local run is timed as :func:`time_run` times it (model already loaded) and with its model load; the Ray run
    from submitting the job to its last shard (actors start and load their models inside it), after ``ray.init``,
    which is timed apart.
    """
    from .distributed import merge, ray_session, run_ray
    from .fincard import FinCard
    from .pipeline import run
    from .summarize import SHIPPED

    texts = bench_texts(articles * paragraphs_per_article, sources)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_articles(Path(tmp) / "articles.jsonl", texts, articles, paragraphs_per_article)
        started = time.perf_counter()
        fincard = FinCard.load(model or SHIPPED)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        local = run([str(data)], Path(tmp) / "local", fincard, batch_size=batch_size)
        local_s = time.perf_counter() - started
        del fincard
        started = time.perf_counter()
        with ray_session(address):
            init_s = time.perf_counter() - started
            started = time.perf_counter()
            summary = run_ray([str(data)], Path(tmp) / "ray", address=address, model=model, batch_size=batch_size)
            ray_s = time.perf_counter() - started
        started = time.perf_counter()
        merge(Path(tmp) / "ray")
        merge_s = time.perf_counter() - started
        rows = {}
        for side in ("local", "ray"):
            lines = (Path(tmp) / side / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()
            rows[side] = [(r["key"], r["paragraph"], r["themes"], r["stance"]) for r in map(json.loads, lines)]
        cards = [(Path(tmp) / side / "cards.jsonl").read_text(encoding="utf-8").splitlines() for side in ("local", "ray")]
    paragraphs = local.paragraphs
    return {
        "articles": articles, "paragraphs": paragraphs, "ray_paragraphs": summary.paragraphs, "actors": summary.actors,
        "local_load_s": round(load_s, 1), "local_s": round(local_s, 1), "local_pps": round(paragraphs / local_s, 1),
        "ray_init_s": round(init_s, 1), "ray_s": round(ray_s, 1), "ray_pps": round(summary.paragraphs / ray_s, 1),
        "merge_s": round(merge_s, 1),
        "overhead": round(ray_s / (local_s + load_s) - 1, 3),  # like for like: both load their models
        "overhead_vs_loaded": round(ray_s / local_s - 1, 3),
        "labels_identical": sum(a == b for a, b in zip(rows["local"], rows["ray"])),
        "cards_identical": sum(a == b for a, b in zip(*cards)),
    }


def format_ray_bench(result: dict[str, Any]) -> str:
    return "\n".join([
        f"{result['articles']} articles, {result['paragraphs']} paragraphs",
        f"fincard run        {result['local_s']:>7.1f} s  {result['local_pps']:>6.1f} paragraphs/s  (+ {result['local_load_s']:.1f} s model load)",
        f"fincard run --ray  {result['ray_s']:>7.1f} s  {result['ray_pps']:>6.1f} paragraphs/s  ({result['actors']} actors, model "
        f"loads included; + {result['ray_init_s']:.1f} s ray.init, {result['merge_s']:.1f} s fincard merge)",
        f"Ray overhead {result['overhead']:+.1%} against the local run with its model load, "
        f"{result['overhead_vs_loaded']:+.1%} against it without",
        f"identical labels: {result['labels_identical']} of {result['paragraphs']} paragraphs · identical cards: "
        f"{result['cards_identical']} of {result['articles']}",
    ])
