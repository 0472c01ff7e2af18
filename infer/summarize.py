"""Extractive card gists: every line (part of) a sentence of the article, citing the paragraphs that state it.

Modelled on sumy: every summarizer is one class with ``summarize(doc, max_bullets) -> Gist``. It rates the
candidate sentences, keeps the best ones and hands them to :mod:`infer.layout`, which restores document order and
lays out the card: 核心观点 (the key views), then the article's own sections or theme groups.
:class:`LeadSummarizer` and :class:`TextRankSummarizer` are the baselines; :class:`Summarizer` (fincard) cleans
datelines and boilerplate, scores centrality, position, similarity to the title, cue words, figures, optionally
proper names, and (with a classifier) theme relevance and stance strength, and removes redundancy with MMR. Its
weights were tuned on the ``tune`` rows of ``labels/articles.jsonl``. With a :class:`infer.headline.HeadlineRanker`
the most salient line is the ranker's best run of clauses of the top sentences; without one, the best sentence.

The classifier is any object with ``predict(texts, batch_size=32)`` returning predictions with ``themes``,
``theme_scores``, ``stance`` and ``stance_scores``, and a ``schema`` (:class:`infer.schema.Schema`);
``embed(texts, batch_size=32)`` (one vector per text) is needed only for ``vectors="classifier"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, Callable, Sequence

import numpy as np

from .card import Gist, card_safe
from .layout import Pick, arrange, card_size, echoes, heaviest_themes
from .document import Document, Sentence
from .errors import ConfigError, FincardError
from .headline import HeadlineRanker
from .salience import SalienceModel
from .segment import NUMBER, leaves_open, names, split_clauses, words

# Leading matter that is not part of what the sentence says: 【headline】, datelines (新华社北京12月11日电,
# 格隆汇8月22日丨, 路透伦敦3月5日 -), source formulas (智通财经APP获悉, 本报讯, 据悉) and reporter credits.
_PREFIX = re.compile(
    r"^(?:【(?P<title>[^】]{1,80})】"
    r"|[^\s，。；：:,]{0,16}?(?:\d{4}年)?\d{1,2}月\d{1,2}日(?:电|讯|消息|(?=\s*[丨|—–-]))"
    r"|[^\s，。；：:,（(]{1,16}(?:获悉|讯)(?=[\s，,：:（(])"
    r"|(?:据悉|据了解|据介绍)(?=[，,])"
    r"|[（(](?:记者|通讯员|编译|作者|编辑)[^）)]{0,40}[）)]"
    r")[\s，,：:丨|—–/／-]*"  # and the separators after it (新华社…电/据…报导)
)
_BOILERPLATE = re.compile(
    r"^[（(]?(?:图|图片|图表|资料图|来源|数据来源|资料来源|责任编辑|编辑|校对|免责声明|风险提示|注|备注)\s*[0-9一二三四五六七八九十]*\s*[：:）)]"
    r"|^[（(][^）)]*[）)]$"  # a caption or a (完) standing alone
    r"|仅供参考|不构成投资建议"
)
# A lede that only announces a press conference (国新办1月17日举行新闻发布会，介绍…情况): the news comes after it.
_ANNOUNCEMENT = re.compile(r"^[^，,。；]{0,40}(?:举行|召开|举办)[^，,。；]{0,8}(?:发布会|记者会|通气会|吹风会)"
                           r"(?:[，,][^，,。；]{0,60}(?:介绍|通报|解读)[^，,。；]{0,60}(?:情况|进展|数据))?。?$")
_QUESTION = re.compile(r"[？?][”」』’）)\]]*$")
# The source's own cut at the end of a paragraph (它乃是固 ...): the sentence is unfinished.
_TRUNCATED = re.compile(r"(?:\.{3,}|…+)$")
# Connectives that lean on the sentence before (例如，/ 对此，/ 而): a line opening with one drops it when the rest
# stands alone. Most lead straight into a subject (其中出口…, 但稀土…); the others need a comma, as without one a
# predicate follows (同时将…, 另外两起案件…)...
_LEAD_INS = "其中|例如|比如|譬如|此外|因此|因而|所以|不过|对此|为此|另一方面|但是|然而|而|但"
_COMMA_CONNECTIVES = "与此同时|除此之外|也要看到|还要看到|另外|同时|而且"
_CONNECTIVE = re.compile(rf"^(?:(?:{_COMMA_CONNECTIVES})\s*[，,]|(?:{_LEAD_INS})\s*[，,]?)\s*")
_OPENS_WITH_CONNECTIVE = re.compile(rf"^(?:{_COMMA_CONNECTIVES}|{_LEAD_INS})")
# ...and a rest that still leans on it (而这…, 同时也…, 因此，其…) cannot stand alone.
_LEANING = re.compile(r"^(?:这|那|此|其|它|上述|前者|后者|也|还|又|更|则|就|便|才|都|仍|亦|并|且)")
# Edmundson's cue words: sentences that state a view or a forecast rather than report a detail.
_CUE = re.compile(r"预计|预期|认为|有望|建议|评级|表示|指出|强调|判断|展望")


# --- candidate sentences --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    position: int  # order among the document's candidates
    sentence: Sentence
    text: str  # cleaned and trimmed to max_chars
    untrimmed: str  # cleaned only: the headline ranker picks its own clauses


def _strip_prefixes(text: str) -> tuple[str, str | None]:
    """The sentence without its dateline/boilerplate prefixes, and the 【headline】 if it opened with one."""
    title = None
    while match := _PREFIX.match(text):
        title = title or match["title"]
        text = text[match.end():]
    return text.strip(), title


def _without_connective(text: str) -> str:
    """The sentence without an opening connective (例如，/ 此外，/ 而) when the rest stands alone."""
    match = _CONNECTIVE.match(text)
    return text[match.end():] if match and not _LEANING.match(text[match.end():]) else text


def _trim(text: str, max_chars: int) -> str:
    """Cut a long sentence after its last clause that fits; a cut falls only on a clause end, never in a number,
    and never where the line would stop mid-phrase (华尔街的那些, or inside a quote)."""
    if len(text) <= max_chars:
        return text
    ends = [end - 1 for _, end in split_clauses(text)[:-1] if not leaves_open(text[:end])]
    fitting = [end for end in ends if end <= max_chars]
    cut = fitting[-1] if fitting else (ends[0] if ends else len(text))
    return text[:cut].rstrip()


def _stands_alone(text: str, min_chars: int) -> bool:
    return (len(text) >= min_chars and not _QUESTION.search(text) and not _BOILERPLATE.search(text)
            and not _ANNOUNCEMENT.match(text) and not _OPENS_WITH_CONNECTIVE.match(text))


def _candidates(doc: Document, clean: bool, min_chars: int = 0, max_chars: int = 0) -> tuple[list[_Candidate], str | None]:
    """Sentences worth a bullet, in document order without repeats, and a 【headline】 found at their start.

    ``clean`` strips prefixes and opening connectives, drops sentences that cannot stand alone or that the source
    cut short, and trims to ``max_chars``; when that leaves nothing, the stripped sentences are kept as they are so
    that a short document still gets a headline.
    """
    kept: list[tuple[Sentence, str, str]] = []
    fallback: list[tuple[Sentence, str, str]] = []
    bracket_title = None
    paragraph_ends = {p.sentences[-1] for p in doc.paragraphs if p.sentences}
    for sentence in doc.sentences:
        text = card_safe(sentence.text)
        if clean:
            text, title = _strip_prefixes(text)
            text = _without_connective(text)
            bracket_title = bracket_title or title
            if sentence in paragraph_ends and _TRUNCATED.search(text):
                continue
            if text:
                fallback.append((sentence, text, text))
            if not _stands_alone(text, min_chars):
                continue
        if text:
            kept.append((sentence, _trim(text, max_chars) if clean else text, text))
    unique = {text: (sentence, untrimmed) for sentence, text, untrimmed in reversed(kept or fallback)}  # the first occurrence wins
    ordered = sorted(unique.items(), key=lambda item: (item[1][0].paragraph_index, item[1][0].start))
    return [_Candidate(position, sentence, text, untrimmed)
            for position, (text, (sentence, untrimmed)) in enumerate(ordered)], bracket_title


_TITLE_CHARS = 30  # a fallback title is cut at the last clause end within a title's length


def _title(doc: Document) -> str | None:
    """The card's title: the document's own, else :func:`fallback_title`."""
    return doc.title or fallback_title(doc) or None


def fallback_title(doc: Document) -> str:
    """A readable title for a document that came without one (never its hash id): the 【headline】 its text opens
    with, else its first sentence without the dateline, cut at a complete clause; "" when it has no text."""
    candidates, bracket_title = _candidates(doc, True, 0, _TITLE_CHARS)
    if bracket_title or not candidates:
        return bracket_title or ""
    return candidates[0].text.rstrip("。！？；…，,;:：!? ")


# --- sentence vectors and centrality --------------------------------------------------------------------------


def _tfidf(token_lists: list[list[str]]) -> np.ndarray:
    """L2-normalised TF-IDF rows over the document's own sentences (the IDF comes from the document itself)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        matrix = TfidfVectorizer(analyzer=lambda tokens: tokens, sublinear_tf=True).fit_transform(token_lists)
    except ValueError:  # no words at all (only numbers and punctuation were left out)
        return np.zeros((len(token_lists), 1))
    return matrix.toarray()


def _cosine(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    return np.clip(unit @ unit.T, 0.0, 1.0)


def _pagerank(similarity: np.ndarray, damping: float = 0.85, iterations: int = 100) -> np.ndarray:
    """TextRank/LexRank centrality: PageRank over the sentence-similarity graph (isolated sentences link to all)."""
    n = len(similarity)
    weights = similarity.copy()
    np.fill_diagonal(weights, 0.0)
    totals = weights.sum(axis=1, keepdims=True)
    transition = np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), 1.0 / n)
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        updated = (1 - damping) / n + damping * transition.T @ rank
        if np.abs(updated - rank).sum() < 1e-9:
            return updated
        rank = updated
    return rank


def _scaled(values: Sequence[float]) -> np.ndarray:
    """Scale to a maximum of 1 so that the weights of different features are comparable."""
    array = np.asarray(values, dtype=float)
    top = array.max() if len(array) else 0.0
    return array / top if top > 0 else np.zeros_like(array)


# --- summarizers ----------------------------------------------------------------------------------------------


DEFAULT_MAX_BULLETS = 25  # the seed's longest cards


def _check_max_bullets(max_bullets: int) -> None:
    if max_bullets < 1:
        raise ConfigError(f"max_bullets is the most lines on a card: 1 or more, got {max_bullets}")


def _flat_gist(doc: Document, title: str | None, ranked: Sequence[_Candidate]) -> Gist:
    """The baselines' card: their lines (in rank order) as key views, in document order."""
    picks = [Pick(c.sentence, c.text, rank) for rank, c in enumerate(ranked, 1)]
    return arrange(doc, title, picks, len(picks))


class LeadSummarizer:
    """Baseline: the first sentences of the article (the first is the headline)."""

    def summarize(self, doc: Document, max_bullets: int = DEFAULT_MAX_BULLETS) -> Gist:
        _check_max_bullets(max_bullets)
        candidates, _ = _candidates(doc, clean=False)
        return _flat_gist(doc, _title(doc), candidates[:max_bullets])


class TextRankSummarizer:
    """Baseline: PageRank over TF-IDF cosine similarity of jieba words; the most central sentence is the headline."""

    def summarize(self, doc: Document, max_bullets: int = DEFAULT_MAX_BULLETS) -> Gist:
        _check_max_bullets(max_bullets)
        candidates, _ = _candidates(doc, clean=False)
        if not candidates:
            return _flat_gist(doc, _title(doc), [])
        rank = _pagerank(_cosine(_tfidf([words(c.text) for c in candidates])))
        return _flat_gist(doc, _title(doc), sorted(candidates, key=lambda c: (-rank[c.position], c.position))[:max_bullets])


class SumySummarizer:
    """Reference baseline: sumy's TextRank or LexRank with its Chinese (jieba) tokenizer, as published figures use.
    Each paragraph is given to sumy as one, so every picked sentence cites the paragraph it came from."""

    METHODS = ("textrank", "lexrank")

    def __init__(self, method: str = "textrank"):
        if method not in self.METHODS:
            raise ConfigError(f"sumy method {method!r}: use one of {', '.join(self.METHODS)}")
        try:
            from sumy.nlp.tokenizers import Tokenizer
            from sumy.summarizers.lex_rank import LexRankSummarizer
            from sumy.summarizers.text_rank import TextRankSummarizer as SumyTextRank
        except ImportError:
            raise FincardError("the sumy baselines need sumy: pip install 'fincard[eval]'") from None
        self.tokenizer = Tokenizer("chinese")
        self.ranker = SumyTextRank() if method == "textrank" else LexRankSummarizer()

    def summarize(self, doc: Document, max_bullets: int = DEFAULT_MAX_BULLETS) -> Gist:
        from sumy.parsers.plaintext import PlaintextParser

        _check_max_bullets(max_bullets)
        candidates, _ = _candidates(doc, clean=False)
        parsed = PlaintextParser.from_string("\n\n".join(p.text for p in doc.paragraphs), self.tokenizer).document
        chosen = [str(s) for s in self.ranker(parsed, max_bullets)] if parsed.sentences else []
        # sumy returns its picks in document order and cuts sentences its own way: each is matched to ours.
        ranked = [next(c for c in candidates if pick in c.text or c.text in pick) for pick in chosen
                  if any(pick in c.text or c.text in pick for c in candidates)]
        return _flat_gist(doc, _title(doc), list(dict.fromkeys(ranked)))


VECTORS = ("tfidf", "classifier")
SHIPPED = "shipped"  # the default headline ranker: the one fincard ships


@dataclass(frozen=True)
class SummarizerConfig:
    """Weights of the sentence score (each feature scaled to at most 1 within the document) and the limits."""

    centrality: float = 0.25  # PageRank over sentence similarity
    position: float = 2.0  # 1 / (1 + rank in the document): news puts the point first
    title: float = 1.0  # similarity to the document's title
    cue: float = 1.0  # states a view or forecast (预计, 认为, 建议, 评级...)
    numbers: float = 0.15  # figures per sentence, saturating at 3
    names: float = 0.0  # distinct proper names per sentence (jieba's nr/ns/nt/nz tags), saturating at 3
    theme: float = 0.15  # classifier: highest theme score
    stance: float = 0.1  # classifier: 1 - neutral score
    redundancy: float = 0.25  # MMR: penalty per unit of similarity to an already picked sentence
    duplicate: float = 0.8  # similarity at which a sentence counts as a repeat and is never picked
    echo: float = 0.5  # similarity at which another paragraph's sentence states the same point: a key view cites it
    min_chars: int = 10  # shorter sentences cannot stand alone
    max_chars: int = 80  # longer sentences are trimmed at a clause end (9 in 10 seed bullets are shorter)
    vectors: str = "tfidf"  # sentence vectors for similarity: "tfidf" (jieba words) or "classifier" (its embed())

    def __post_init__(self) -> None:
        weights = ("centrality", "position", "title", "cue", "numbers", "names", "theme", "stance", "redundancy")
        for name in weights:
            if getattr(self, name) < 0:
                raise ConfigError(f"SummarizerConfig.{name} is {getattr(self, name)}: weights must be 0 or more")
        if not any(getattr(self, name) for name in weights[:-1]):
            raise ConfigError("SummarizerConfig: every score weight is 0: give centrality or position a positive weight")
        for name, example in (("duplicate", 0.8), ("echo", 0.5)):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"SummarizerConfig.{name} is {getattr(self, name)}: use a similarity in (0, 1], e.g. {example}")
        if not 0 <= self.min_chars < self.max_chars:
            raise ConfigError(
                f"SummarizerConfig: min_chars ({self.min_chars}) must be 0 or more and below max_chars ({self.max_chars})"
            )
        if self.vectors not in VECTORS:
            raise ConfigError(f"SummarizerConfig.vectors is {self.vectors!r}: use one of {', '.join(VECTORS)}")

    @classmethod
    def from_settings(cls, settings: Sequence[str], **values: Any) -> "SummarizerConfig":
        """A config from ``NAME=VALUE`` strings (the CLI's ``--set``) on top of ``values``; ConfigError names a bad one."""
        types = {f.name: type(f.default) for f in fields(cls)}  # as the train commands type their options
        for setting in settings:
            name, equals, value = setting.partition("=")
            name = name.strip()
            if not equals or name not in types:
                raise ConfigError(f"setting {setting!r}: expected NAME=VALUE with NAME one of {', '.join(types)}")
            convert = types[name]
            kind = {float: "a number", int: "a whole number"}.get(convert, "text")
            try:
                values[name] = convert(value.strip())
            except ValueError:
                raise ConfigError(f"setting {setting!r}: {name} takes {kind}, not {value.strip()!r}") from None
        return cls(**values)


class Summarizer:
    """fincard's summarizer: cleaned candidates, a weighted score, MMR, bullets grouped by theme.

    ``classifier`` (optional) adds theme relevance and stance strength to the score and groups the bullets
    under the schema's Chinese theme names, the heaviest theme of the document first and 其他 last; every sentence
    takes its paragraph's labels. ``headline`` picks the 核心观点 line as a run of clauses of the best sentences:
    by default the shipped ranker (as on the command line), a :class:`infer.headline.HeadlineRanker`, or None for
    the best sentence, trimmed to ``max_chars``.
    """

    def __init__(self, classifier: Any = None, config: SummarizerConfig | None = None, batch_size: int = 32,
                 headline: HeadlineRanker | None | str = SHIPPED, salience: SalienceModel | None | str = SHIPPED):
        self.classifier = classifier
        self.config = config or SummarizerConfig()
        self.batch_size = batch_size
        self.headline = HeadlineRanker.load() if headline == SHIPPED else headline
        self.salience = _salience_for(classifier, salience)
        if self.config.vectors == "classifier" and not callable(getattr(classifier, "embed", None)):
            raise ConfigError('vectors="classifier" needs a classifier with an embed(texts) method; use vectors="tfidf"')

    def marks(self, doc: Document) -> list[list[int]] | None:
        """Where the salience model reads the classifier's hidden states: every sentence's end, per paragraph
        (None when there is no salience model)."""
        return [[s.end for s in p.sentences] for p in doc.paragraphs] if self.salience else None

    def summarize(self, doc: Document, max_bullets: int = DEFAULT_MAX_BULLETS,
                  paragraph_predictions: Sequence[Any] | None = None,
                  sentence_states: Sequence[np.ndarray] | None = None) -> Gist:
        """The card of ``doc``, at most ``max_bullets`` lines, fewer for short articles. ``paragraph_predictions``
        (one per paragraph) and ``sentence_states`` (per paragraph, the hidden states at :meth:`marks`) are the
        classifier's labels and states when the caller has them already (:class:`infer.fincard.FinCard`
        classifies whole batches); without them a summarizer with a classifier labels the paragraphs itself."""
        _check_max_bullets(max_bullets)
        candidates, bracket_title = _candidates(doc, True, self.config.min_chars, self.config.max_chars)
        if not candidates:
            return arrange(doc, _title(doc), [], 0)
        features, similarity = self._text_features(doc, candidates, bracket_title)
        if paragraph_predictions is None and self.classifier is not None:
            paragraph_predictions, sentence_states = self._classify(doc)
        predictions = self._with_labels(features, candidates, paragraph_predictions)
        score = self._weighted(features)  # with the theme and stance features when there are predictions
        if self.salience and predictions is not None and sentence_states is not None:
            score = _scaled(self.salience.scores(self._states(doc, candidates, sentence_states), features))
        lines, key_views = card_size(len(candidates), max_bullets)
        # The ranker was fitted on the hand-weighted text score, but rating the runs of the salience model's best
        # sentences measures better on the dev articles (selection F1 0.702 -> 0.723, first line an editor's pick
        # 70.7% -> 78.7%); FinNA's titles: ROUGE-L 0.391 (0.388 in the last release).
        span = self.headline.choose([c.untrimmed for c in candidates], score) if self.headline else None
        picked = self._mmr(candidates, score, similarity, lines, first=span.sentence if span else None)
        sentences = [c.sentence for c in candidates]
        picks = [
            Pick(c.sentence, span.text if rank == 1 and span else c.text, rank, *self._labels(c, predictions),
                 echoes(sentences, similarity, c.position, self.config.echo) if rank <= key_views else ())
            for rank, c in enumerate(picked, 1)
        ]
        if predictions is None:
            return arrange(doc, _title(doc), picks, key_views)
        schema = self.classifier.schema
        order = [t for t in heaviest_themes([p.theme_scores for p in predictions]) if t in schema.theme_ids]
        return arrange(doc, _title(doc), picks, key_views, order, schema.theme_name, schema.no_theme_name)

    @staticmethod
    def _labels(candidate: _Candidate, predictions: list[Any] | None) -> tuple[str | None, str | None]:
        """The line's theme (its paragraph's strongest) and stance, when there is a classifier."""
        if predictions is None:
            return None, None
        p = predictions[candidate.position]
        return max(p.themes, key=lambda t: p.theme_scores.get(t, 0.0), default=None), p.stance

    def salience_inputs(self, doc: Document, read: Callable[[Document], tuple[Sequence[Any], Sequence[np.ndarray]]]
                        ) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
        """What a salience model reads (its training rows): the candidates' cleaned texts, their hidden states and
        their text features. ``read(doc)`` gives the paragraphs' predictions and hidden states at :meth:`marks`."""
        candidates, bracket_title = _candidates(doc, True, self.config.min_chars, self.config.max_chars)
        if not candidates:
            return [], np.zeros((0, 0)), {}
        features, _ = self._text_features(doc, candidates, bracket_title)
        predictions, states = read(doc)
        self._with_labels(features, candidates, predictions)
        return [c.untrimmed for c in candidates], self._states(doc, candidates, states), features

    def _classify(self, doc: Document) -> tuple[list[Any], Sequence[np.ndarray] | None]:
        texts = [p.text for p in doc.paragraphs]
        if self.salience:
            return self.classifier.read(texts, self.marks(doc), self.batch_size)
        return self.classifier.predict(texts, batch_size=self.batch_size), None

    def _with_labels(self, features: dict[str, np.ndarray], candidates: list[_Candidate],
                     paragraph_predictions: Sequence[Any] | None) -> list[Any] | None:
        """Each candidate's paragraph prediction; adds the theme and stance features (None without predictions)."""
        if paragraph_predictions is None or self.classifier is None:
            return None
        predictions = [paragraph_predictions[c.sentence.paragraph_index - 1] for c in candidates]
        neutral = self.classifier.schema.neutral_stance
        features["theme"] = _scaled([max(p.theme_scores.values(), default=0.0) for p in predictions])
        features["stance"] = _scaled([1.0 - p.stance_scores.get(neutral, 0.0) for p in predictions])
        return predictions

    @staticmethod
    def _states(doc: Document, candidates: list[_Candidate], sentence_states: Sequence[np.ndarray]) -> np.ndarray:
        """The hidden state at each candidate's end (``sentence_states`` follow each paragraph's sentences)."""
        return np.vstack([
            sentence_states[c.sentence.paragraph_index - 1][doc.paragraphs[c.sentence.paragraph_index - 1].sentences.index(c.sentence)]
            for c in candidates
        ])

    def sentence_scores(self, doc: Document) -> tuple[list[str], np.ndarray]:
        """The cleaned candidate sentences (untrimmed) and their text-only scores: what the headline ranker sees."""
        candidates, bracket_title = _candidates(doc, True, self.config.min_chars, self.config.max_chars)
        if not candidates:
            return [], np.zeros(0)
        return [c.untrimmed for c in candidates], self._weighted(self._text_features(doc, candidates, bracket_title)[0])

    def _text_features(self, doc: Document, candidates: list[_Candidate],
                       bracket_title: str | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The features read from the text alone (each scaled to at most 1) and the candidates' similarity matrix.

        The headline ranker is fitted on their weighted sum; the classifier's theme and stance features are added
        on top for the bullets.
        """
        config = self.config
        texts = [c.text for c in candidates]
        title = doc.title or bracket_title or ""
        if config.vectors == "classifier":
            vectors = np.asarray(self.classifier.embed(texts + [title], batch_size=self.batch_size), dtype=float)
            # Pooled transformer states share one large common direction: without it, cosine tells sentences apart.
            vectors -= vectors[:-1].mean(axis=0)
        else:
            vectors = _tfidf([words(text) for text in texts + [title]])
        similarity = _cosine(vectors)
        to_title = similarity[:-1, -1] if title else np.zeros(len(texts))
        similarity = similarity[:-1, :-1]
        features = {
            "centrality": _scaled(_pagerank(similarity)),
            "position": _scaled([1.0 / (1 + c.position) for c in candidates]),
            "title": _scaled(to_title),
            "cue": _scaled([float(bool(_CUE.search(t))) for t in texts]),
            "numbers": _scaled([min(len(NUMBER.findall(t)), 3) for t in texts]),
            # Part-of-speech tagging is the slowest feature: skipped while its weight is 0 (the default).
            "names": _scaled([min(len(names(t)), 3) for t in texts]) if config.names else np.zeros(len(texts)),
        }
        return features, similarity

    def _weighted(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """The configured weighted sum of ``features``, scaled to at most 1."""
        return _scaled(sum(getattr(self.config, name) * values for name, values in features.items()))

    def _mmr(self, candidates: list[_Candidate], score: np.ndarray, similarity: np.ndarray, count: int,
             first: int | None = None) -> list[_Candidate]:
        """Greedy maximal marginal relevance: the best score less ``redundancy`` x the closest picked sentence
        (``first``, when given, is picked first: the headline ranker's sentence)."""
        picked: list[int] = [] if first is None else [first]
        while len(picked) < count:
            best, best_value = None, -np.inf
            for i in range(len(candidates)):
                closest = max((similarity[i, j] for j in picked), default=0.0)
                if i in picked or closest >= self.config.duplicate:
                    continue
                value = score[i] - self.config.redundancy * closest
                if value > best_value:  # strict: ties go to the earlier sentence
                    best, best_value = i, value
            if best is None:
                break
            picked.append(best)
        return [candidates[i] for i in picked]


def _salience_for(classifier: Any, salience: SalienceModel | None | str) -> SalienceModel | None:
    """The salience model for ``classifier``: the shipped one only where it was fitted on this classifier's states
    (a user's own classifier falls back to the text-feature score); a given one must fit."""
    if classifier is None or salience is None:
        return None
    if salience == SHIPPED:
        try:
            shipped = SalienceModel.load()
        except FincardError:
            return None
        return shipped if shipped.fits(classifier) else None
    if not salience.fits(classifier):
        raise ConfigError("the salience model was fitted on another classifier's hidden states: refit it with "
                          "`fincard train-salience --model DIR`, or give none")
    return salience
