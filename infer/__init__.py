"""fincard inference library: read articles, label paragraphs by theme and stance, write cited gists.

``FinCard`` is the one entry point (what every command runs); the rest are its parts, for those who need one.
"""

__version__ = "0.1.0"

from .card import Bullet, Gist
from .classifier import Classifier, Prediction
from .document import Document, Paragraph, Sentence
from .errors import ConfigError, ErrorLog, FincardError, ReadError
from .fincard import FinCard, Result
from .headline import HeadlineRanker
from .readers import FORMATS, read_documents
from .schema import Schema
from .segment import split_paragraphs, split_sentences
from .summarize import LeadSummarizer, Summarizer, SummarizerConfig, TextRankSummarizer

__all__ = [
    "FinCard",
    "Result",
    "Classifier",
    "Prediction",
    "Document",
    "Paragraph",
    "Sentence",
    "Schema",
    "Bullet",
    "Gist",
    "Summarizer",
    "SummarizerConfig",
    "LeadSummarizer",
    "TextRankSummarizer",
    "HeadlineRanker",
    "read_documents",
    "split_paragraphs",
    "split_sentences",
    "FORMATS",
    "FincardError",
    "ConfigError",
    "ReadError",
    "ErrorLog",
]
