import io
import json
import sys
from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from infer import Bullet, Document, Gist, read_documents, render
from infer.card import Section
from infer.cli import main
from infer.errors import ConfigError
from infer.render import jsonl_to_parquet, open_records, read_records, record_schema


def collect(inputs, **kwargs):
    errors = []
    docs = list(read_documents(inputs, on_error=errors.append, **kwargs))
    return docs, errors


def paragraph_rows(count, keyed=False):
    """Labelled paragraph rows whose first rows hold None and empty values where later ones hold data."""
    rows = []
    for i in range(count):
        row = {"doc_id": f"d{i // 3}", "paragraph": i % 3 + 1, "section": None if i < 3 else f"小节{i}", "text": f"第{i}段",
               "themes": [] if i < 3 else ["宏观", "金属"], "theme_scores": {"宏观": i / 10, "自定义标签": 0.5},
               "stance": "neutral", "stance_scores": {"bullish": 0.25, "neutral": 0.75}}
        rows.append({"key": f"d{i // 3}|sha1-x", **row} if keyed else row)
    return rows


def write_table(path, columns: dict, schema: pa.Schema | None = None):
    pq.write_table(pa.table(columns, schema=schema), path)
    return path


# --- reading --------------------------------------------------------------------------------------------------


def test_parse_to_parquet_reads_back_like_the_jsonl_route(tmp_path, seed_path):
    as_jsonl, as_parquet = tmp_path / "docs.jsonl", tmp_path / "docs.parquet"
    assert main(["parse", str(seed_path), "-o", str(as_jsonl)]) == 0
    assert main(["parse", str(seed_path), "-o", str(as_parquet)]) == 0
    assert pq.ParquetFile(as_parquet).schema_arrow == record_schema("documents")

    from_jsonl, jsonl_errors = collect(as_jsonl)
    from_parquet, parquet_errors = collect(as_parquet)
    assert jsonl_errors == parquet_errors == []
    assert [d.to_dict() for d in from_parquet] == [d.to_dict() for d in from_jsonl] == [d.to_dict() for d in read_documents(seed_path)]
    assert any(p.section and p.citations for d in from_parquet for p in d.paragraphs)  # the structs carried them
    assert list(read_records(as_parquet)) == list(read_records(as_jsonl))

    sniffed = tmp_path / "docs"  # no extension: recognised by the Parquet magic bytes
    sniffed.write_bytes(as_parquet.read_bytes())
    assert [d.to_dict() for d in collect(sniffed)[0]] == [d.to_dict() for d in from_jsonl]


def test_text_rows_and_date_columns(tmp_path):
    path = write_table(tmp_path / "in.parquet", {
        "id": [7, None],
        "text": ["第一段。\n\n第二段。", "只有一段。"],
        "date": pa.array([datetime(2025, 12, 17, 23, 50), None], pa.timestamp("s")),
    })
    docs, errors = collect(path)
    assert errors == []
    assert [d.id for d in docs] == ["7", "in:2"]
    assert [p.text for p in docs[0].paragraphs] == ["第一段。", "第二段。"]
    assert [d.published for d in docs] == [datetime(2025, 12, 17, 23, 50), None]

    dated = write_table(tmp_path / "dated.parquet", {"text": ["正文。"], "date": pa.array([date(2025, 12, 17)], pa.date32())})
    assert collect(dated)[0][0].published == datetime(2025, 12, 17)


def test_bad_rows_become_read_errors_with_their_row_number(tmp_path):
    path = write_table(tmp_path / "rows.parquet", {
        "text": ["好的一行。", None, "日期坏了。", "   ", "最后一行。"],
        "date": [None, None, "2025-13-45", None, "2025-12-17 08:00"],
    })
    docs, errors = collect(path)
    assert [d.id for d in docs] == ["rows:1", "rows:5"]
    assert [(e.file, e.line) for e in errors] == [(str(path), 2), (str(path), 3), (str(path), 4)]
    assert "'text'" in errors[0].error and "bad date" in errors[1].error and "empty document" in errors[2].error

    numbers = write_table(tmp_path / "numbers.parquet", {"text": ["正文。", "正文。"], "title": [None, 1.5]})
    docs, errors = collect(numbers)
    assert len(docs) == 1 and [(e.line, e.error) for e in errors] == [(2, "field 'title' must be a string")]

    citations = pa.list_(pa.struct([("text", pa.string()), ("citations", pa.list_(pa.string()))]))
    structs = write_table(tmp_path / "structs.parquet", {"paragraphs": pa.array([
        [{"text": "甲", "citations": None}], [{"text": "乙", "citations": ["1"]}]], citations)})
    docs, errors = collect(structs)
    assert [p.text for p in docs[0].paragraphs] == ["甲"]
    assert [(e.line, e.error) for e in errors] == [(2, "paragraph 'citations' must be a list of integers")]


def test_batches_keep_counting_rows(tmp_path, monkeypatch):
    import infer.readers

    monkeypatch.setattr(infer.readers, "_PARQUET_BATCH_ROWS", 2)
    path = write_table(tmp_path / "many.parquet", {"text": ["一。", "二。", "三。", None, "五。"]})
    docs, errors = collect(path)
    assert [d.id for d in docs] == ["many:1", "many:2", "many:3", "many:5"]
    assert [e.line for e in errors] == [4]


def test_not_parquet_gives_one_error_naming_the_file(tmp_path, seed_path):
    fake = tmp_path / "fake.parquet"
    fake.write_text('{"text": "其实是 JSON"}\n', encoding="utf-8")
    truncated = tmp_path / "truncated.parquet"
    assert main(["parse", str(seed_path), "-o", str(truncated)]) == 0
    truncated.write_bytes(truncated.read_bytes()[:-100])
    for path in (fake, truncated):
        docs, errors = collect(path)
        assert docs == [] and len(errors) == 1
        assert errors[0].file == str(path) and errors[0].line is None and "Parquet" in errors[0].error


def test_parquet_without_text_columns_is_one_error(tmp_path):
    path = write_table(tmp_path / "cards.parquet", {"headline": ["标题"] * 3})
    docs, errors = collect(path)
    assert docs == [] and len(errors) == 1 and "'text' or 'paragraphs' column" in errors[0].error


def test_parquet_from_stdin_is_an_error_record(tmp_path, monkeypatch, seed_path):
    path = tmp_path / "docs.parquet"
    assert main(["parse", str(seed_path), "-o", str(path)]) == 0
    for forced in ("parquet", None):  # forced, or sniffed from the magic bytes
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
        docs, errors = collect("-", format=forced)
        assert docs == [] and [(e.file, e.line) for e in errors] == [("<stdin>", None)]
        assert "stdin" in errors[0].error and "Parquet" in errors[0].error


# --- writing --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.parquet", "out.jsonl"])
def test_writer_is_atomic(tmp_path, name):
    target = tmp_path / name
    with pytest.raises(RuntimeError), open_records(target, "paragraphs") as out:
        for row in paragraph_rows(5):
            out.write(row)
        raise RuntimeError("crash mid-batch")
    assert list(tmp_path.iterdir()) == []

    with open_records(target, "paragraphs") as out:
        out.write(paragraph_rows(1)[0])
    before = target.read_bytes()
    with pytest.raises(RuntimeError), open_records(target, "paragraphs") as out:
        out.write(paragraph_rows(2)[1])
        raise RuntimeError("crash")
    assert target.read_bytes() == before and list(tmp_path.iterdir()) == [target]


def test_none_first_then_values_across_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "ROW_GROUP_ROWS", 3)
    rows = paragraph_rows(8)
    path = tmp_path / "paragraphs.parquet"
    with open_records(path, "paragraphs") as out:
        for row in rows:
            out.write(row)
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_row_groups == 3 and parquet.schema_arrow == record_schema("paragraphs")
    back = list(read_records(path))
    assert back == rows
    assert back[0]["section"] is None and back[3]["section"] == "小节3"
    assert isinstance(back[0]["theme_scores"], dict) and back[0]["theme_scores"]["自定义标签"] == 0.5


def test_cards_round_trip_through_gist(tmp_path):
    gists = [
        Gist("a", "标题", "来源", datetime(2025, 12, 17, 23, 50), [
            Section("核心观点", [Bullet("核心观点句。", [1, 2], "金属", "bullish", 1)]), Section("要点", [Bullet("要点句。", [3], rank=2)])]),
        Gist("b", None, None, None),
    ]
    path = tmp_path / "cards.parquet"
    with open_records(path, "cards") as out:
        for gist in gists:
            out.write({"key": f"{gist.id}|sha1-x", **gist.to_dict()})
    back = list(read_records(path))
    assert back == [{"key": f"{g.id}|sha1-x", **g.to_dict()} for g in gists]
    assert [Gist.from_dict(row) for row in back] == gists
    assert pq.ParquetFile(path).schema_arrow == record_schema("cards", keyed=True)


def test_fields_outside_the_schema_are_refused(tmp_path):
    path = tmp_path / "cards.parquet"
    with pytest.raises(ValueError, match="confidence"), open_records(path, "cards") as out:
        out.write({**Gist("a", None, None, None, [Section("核心观点", [Bullet("句。", [1])])]).to_dict(), "confidence": 0.9})
    with pytest.raises(ValueError, match=r"row.sections.*'score'"), open_records(path, "cards") as out:
        bullet = {"text": "句。", "citations": [1], "theme": None, "stance": None, "rank": 1, "score": 1.0}
        out.write({**Gist("a", None, None, None).to_dict(), "sections": [{"heading": "核心观点", "bullets": [bullet]}]})
    assert list(tmp_path.iterdir()) == []


def test_format_option_and_empty_output(tmp_path):
    path = tmp_path / "documents.bin"
    doc = Document.from_paragraphs(["一段。"], id="x")
    with open_records(path, "documents", format="parquet") as out:
        out.write(doc.to_dict())
    assert list(read_records(path, format="parquet")) == [doc.to_dict()]

    empty = tmp_path / "empty.parquet"
    with open_records(empty, "documents"):
        pass
    assert pq.ParquetFile(empty).schema_arrow == record_schema("documents") and list(read_records(empty)) == []

    with pytest.raises(ConfigError, match="file name"), open_records(None, "documents", format="parquet"):
        pass
    with pytest.raises(ValueError, match="record kind"), open_records(tmp_path / "x.jsonl", "gists"):
        pass


def test_jsonl_to_parquet_streams_and_matches(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "ROW_GROUP_ROWS", 2)
    rows = paragraph_rows(5, keyed=True)
    part = tmp_path / "paragraphs.jsonl.part"
    part.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows) + "\n", encoding="utf-8")
    target = tmp_path / "paragraphs.parquet"
    assert jsonl_to_parquet(part, target, "paragraphs") == 5
    parquet = pq.ParquetFile(target)
    assert parquet.metadata.num_row_groups == 3 and parquet.schema_arrow.names[0] == "key"
    assert list(read_records(target)) == list(read_records(part, format="jsonl")) == rows

    part.write_text(json.dumps(rows[0]) + "\n{broken\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":2: invalid JSON"):
        jsonl_to_parquet(part, target, "paragraphs")
    assert list(read_records(target)) == rows  # the earlier file is untouched
