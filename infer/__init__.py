"""fincard inference library: read articles, label paragraphs by theme and stance, write cited gists."""

__version__ = "0.1.0"

from .classifier import Classifier, Prediction
from .document import Document, Paragraph, Sentence
from .errors import ErrorLog, FincardError
from .headline import HeadlineRanker
from .readers import FORMATS, ReadError, read_documents
from .segment import split_paragraphs, split_sentences
from .summarize import Bullet, Gist, Summarizer

__all__ = [
    "Classifier",
    "Prediction",
    "Document",
    "Paragraph",
    "Sentence",
    "ErrorLog",
    "FincardError",
    "FORMATS",
    "ReadError",
    "read_documents",
    "split_paragraphs",
    "split_sentences",
    "Bullet",
    "Gist",
    "Summarizer",
    "HeadlineRanker",
]
