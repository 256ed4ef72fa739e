"""The official report's tables of figures, built from indices tables and answer counts:
the application writes them into the report (DOCX, PDF, XLSX) and the verifier builds
them again from the audit bundle and compares the two cell by cell. One builder per
table; titles, columns and formats are defined here only."""

from __future__ import annotations

import pandas as pd

from . import official as off
from .disclosure import DEFAULT_MIN_CELL, legend
from .indices import MIN_N_FOR_RANKING, SERVICE_CODE
from .io import choice_labels, satisfaction_items
from .kinds import is_counted, is_grouping, is_listed, is_priority, is_scored
from .report import summary_table
from .tables import Column, Table

SERVICE_NAME = "Chỉ số chung (SIPAS)"
N = Column("n", "int", 14)
INDEX = Column("Chỉ số (%)", "index", 17)
LOW = Column("KTC 95 % dưới", "index", 17)
HIGH = Column("KTC 95 % trên", "index", 17)
SCORE = Column("Điểm TB (1–5)", "score", 16)
#: Tables the verifier recomputes, by key (a ranking's key is "ranking-<group>").
ELEMENTS, CRITERIA, SUBTREES, PRIORITIES, PROFILE, COMMENTS = (
    "elements", "criteria", "subtrees", "priorities", "profile", "comments")


def _elements(codebook: pd.DataFrame) -> list[tuple[str, str]]:
    items = satisfaction_items(codebook)
    return list(dict.fromkeys(zip(items["element_code"], items["element_name"], strict=True)))


def elements_table(overall: pd.DataFrame, codebook: pd.DataFrame) -> Table:
    """The whole scope: one row per element in questionnaire order, then the service."""
    names = dict(_elements(codebook))
    order = {code: i for i, code in enumerate([*names, SERVICE_CODE])}
    rows = overall[overall["level"].isin(("element", "service"))]
    rows = rows.assign(_o=rows["code"].map(order)).sort_values("_o", kind="stable")
    return Table(ELEMENTS, "Chỉ số hài lòng về sự phục vụ hành chính và theo yếu tố",
                 [Column("Mã", "label", 12), Column("Yếu tố", "label", 64), N, INDEX, LOW,
                  HIGH, SCORE],
                 [["" if r.level == "service" else r.code,
                   SERVICE_NAME if r.level == "service" else names.get(r.code, r.code),
                   int(r.n), r.index, r.ci_low, r.ci_high, r.mean_score]
                  for r in rows.itertuples()])


def criteria_table(overall: pd.DataFrame, codebook: pd.DataFrame) -> Table:
    book = codebook.reset_index(drop=True)
    position = pd.Series(book.index, index=book["item_code"])
    text = book.set_index("item_code")["text_vi"]
    rows = overall[overall["level"] == "criterion"]
    rows = rows.assign(_o=rows["code"].map(position)).sort_values("_o", kind="stable")
    return Table(CRITERIA, "Chỉ số theo tiêu chí",
                 [Column("Mã", "label", 11), Column("Tiêu chí", "label", 70),
                  Column("n", "int", 13), Column("Số hài lòng", "int", 15), INDEX, LOW, HIGH,
                  Column("Điểm TB (1–5)", "score", 15)],
                 [[r.code, text.get(r.code, ""), int(r.n),
                   0 if pd.isna(r.satisfied) else int(r.satisfied), r.index, r.ci_low,
                   r.ci_high, r.mean_score] for r in rows.itertuples()])


def _summary_columns(elements, first="Hạng") -> list[Column]:
    return [Column(first, "label", 10), Column("Cơ quan, đơn vị", "label", 48), N,
            Column("Chỉ số chung (%)", "index", 16), LOW, HIGH,
            *[Column(f"{code} (%)", "index", 12) for code, _ in elements]]


def _summary_rows(summary: pd.DataFrame, names: dict, elements, ranked=True) -> list[list]:
    rows = []
    for rec in summary.to_dict("records"):
        rank = rec.get("rank") if ranked else None
        rows.append(["" if rank is None or pd.isna(rank) else str(int(rank)),
                     names.get(rec["agency_code"], rec["agency_code"]), int(rec["n"]),
                     rec["index"], rec["ci_low"], rec["ci_high"],
                     *[rec.get(code) for code, _ in elements]])
    return rows


def ranking_tables(own: pd.DataFrame, codebook: pd.DataFrame, kinds: dict[str, str],
                   names: dict[str, str], min_n: int = MIN_N_FOR_RANKING) -> list[Table]:
    """One ranking per group of comparable agencies (`official.RANKING_GROUPS`), each
    agency's own figures (its own responses, not its subtree's)."""
    elements = _elements(codebook)
    out = []
    for key, label, ranked in off.ranking_groups(own, kinds, min_n):
        table = own[own["agency_code"].isin(ranked["agency_code"])]
        summary = summary_table(table, codebook, ranked)
        out.append(Table(f"ranking-{key}", f"Xếp hạng: {label}", _summary_columns(elements),
                         _summary_rows(summary, names, elements)))
    return out


def subtree_table(subtrees: pd.DataFrame, codebook: pd.DataFrame,
                  names: dict[str, str]) -> Table | None:
    """Units with units below them, their figures rolled up (apart from the rankings)."""
    if subtrees is None or subtrees.empty:
        return None
    elements = _elements(codebook)
    summary = summary_table(subtrees, codebook)
    return Table(SUBTREES, "Chỉ số cộng dồn của đơn vị cấp trên (gồm các đơn vị trực thuộc; "
                 "không dùng để xếp hạng)", _summary_columns(elements, ""),
                 _summary_rows(summary, names, elements, ranked=False))


# --- answers other than satisfaction ---------------------------------------------------------

def answer_counts(responses: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Answers per (agency_code, item_code, value) to the priority and profile items of
    responses in the export format (a list answer is "a;b"); ``n`` the count."""
    wanted = codebook[codebook["type"].map(is_counted)]
    frames = []
    for item in wanted.itertuples():
        if item.item_code not in responses.columns:
            continue
        values = responses[["agency_code", item.item_code]].rename(
            columns={item.item_code: "value"})
        values = values.assign(value=values["value"].astype(str))
        if is_listed(item.type):
            values = values.assign(value=values["value"].str.split(";")).explode("value")
        values = values[(values["value"] != "") & (values["value"] != "nan")]
        frames.append(values.assign(item_code=item.item_code))
    if not frames:
        return pd.DataFrame(columns=["agency_code", "item_code", "value", "n"])
    stacked = pd.concat(frames, ignore_index=True)
    return stacked.groupby(["agency_code", "item_code", "value"], as_index=False).size() \
        .rename(columns={"size": "n"})


def priorities_table(counts: pd.DataFrame, codebook: pd.DataFrame) -> Table | None:
    items = codebook[codebook["type"].map(is_priority)]
    if items.empty:
        return None
    table = off.priorities(counts, items.rename(columns={"text_vi": "text"}))
    return Table(PRIORITIES, "Nội dung cần ưu tiên cải thiện (tỷ lệ chọn “Rất nhiều”)",
                 [Column("Thứ tự", "int", 14), Column("Mã", "label", 12),
                  Column("Nội dung", "label", 80), Column("Số trả lời", "int", 18),
                  Column("Số chọn “Rất nhiều”", "int", 22), Column("Tỷ lệ (%)", "share", 18)],
                 [[None if pd.isna(t.rank) else int(t.rank), t.item_code, t.text, t.n, t.top,
                   t.share] for t in table.itertuples()])


def profile_table(counts: pd.DataFrame, codebook: pd.DataFrame,
                  min_cell: int = DEFAULT_MIN_CELL) -> Table | None:
    items = codebook[codebook["type"].map(lambda k: is_grouping(k) and not is_scored(k))]
    if items.empty:
        return None
    frame = pd.DataFrame([{"item_code": i.item_code, "text": i.text_vi,
                           "choices": list(choice_labels(codebook, i.item_code).items()),
                           "multiple": is_listed(i.type)} for i in items.itertuples()])
    table = off.profile(counts, frame, min_cell)
    return Table(PROFILE, "Người trả lời theo đặc điểm",
                 [Column("Đặc điểm", "label", 60), Column("Lựa chọn", "label", 60),
                  Column("Số người", "int", 22), Column("Tỷ lệ (%)", "share", 22)],
                 [[t.item, t.label, t.n, t.share] for t in table.itertuples()],
                 note=legend(min_cell) + " Câu hỏi chọn nhiều đáp án không có tỷ lệ.")


def comments_table(commented: dict[str, int], names: dict[str, str]) -> Table:
    """Responses with a comment, per agency."""
    return Table(COMMENTS, "Số phiếu có ý kiến góp ý theo cơ quan",
                 [Column("Cơ quan", "label", 100), Column("Số phiếu có ý kiến", "int", 40)],
                 [[names.get(code, code), n] for code, n in sorted(commented.items())])
