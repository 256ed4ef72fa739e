"""A report's figures recomputed from its audit bundles alone: each ledger read as of the
report's checkpoint (responses, corrections and review decisions chained up to it), then
the application's own computation (:func:`analysis.report.campaign_tables`)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .kinds import export_value, is_scored
from .ledger import parse_payload
from .messages import say
from .report_files import ReportFileError
from .statement import Statement


@dataclass
class LedgerState:
    campaign: str
    length: int
    hashes: list[str]
    codebook: pd.DataFrame
    #: the responses chained up to the checkpoint, in the export format (answers as
    #: corrected up to it, review_state as decided up to it, channel), by id
    responses: pd.DataFrame = field(default=None)
    #: the answer tally as the application keeps it (scores 0..5, 0 = not applicable)
    tally: pd.DataFrame = field(default=None)
    #: agencies.csv (code, name, kind, parent_code…), None in a bundle made without it
    agencies: pd.DataFrame | None = None


def ledger_state(bundle, upto: int | None) -> LedgerState:
    """The bundle's ledger read up to entry ``upto`` (whole if None): its hashes (all of
    them) and the responses as they stood at that entry."""
    from .bundle import BundleError, open_bundle
    from .io import read_codebook

    with open_bundle(bundle) as zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
            book = read_codebook(io.BytesIO(zf.read("codebook.csv")))
            raw = zf.open("ledger.csv")
        except (KeyError, ValueError) as exc:
            raise BundleError(say("bundle.unreadable", reason=exc)) from exc
        agencies = None
        if "agencies.csv" in zf.namelist():
            try:
                agencies = pd.read_csv(io.BytesIO(zf.read("agencies.csv")), dtype=str,
                                       keep_default_na=False)
            except (ValueError, UnicodeDecodeError) as exc:
                raise BundleError(say("bundle.agencies_unreadable", reason=exc)) from exc
            if not {"code", "name", "parent_code"} <= set(agencies.columns):
                raise BundleError(say("bundle.agencies_columns"))
            agencies = agencies.assign(parent_code=agencies["parent_code"].where(
                agencies["parent_code"] != "")).astype({"parent_code": object})
        kinds = list(zip(book["item_code"], book["type"], strict=True))
        position = {code: i for i, (code, _) in enumerate(kinds)}
        answers: dict[int, list] = {}
        states: dict[int, str] = {}
        hashes: list[str] = []
        with raw:
            rows = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            if next(rows, None) != ["seq", "kind", "ref", "at", "prev_hash", "hash", "payload"]:
                raise BundleError(say("bundle.columns", name="ledger.csv"))
            for row in rows:
                if len(row) != 7:
                    raise BundleError(say("bundle.ledger_width", count=len(row)))
                hashes.append(row[5])
                if upto is not None and len(hashes) > upto:
                    continue
                _replay(row[1], row[6], answers, states, kinds, position)
    columns = ["response_id", "agency_code", "channel", "review_state",
               *[c for c, _ in kinds]]
    frame = pd.DataFrame(
        [[rid, agency, channel, states.get(rid, "received"), *cells]
         for rid, (agency, channel, cells, _) in sorted(answers.items())], columns=columns)
    frame = frame.astype({"response_id": "int64"})
    text = [c for c, _ in kinds]
    frame[text] = frame[text].where(frame[text] != "")
    satisfaction = [c for c, kind in kinds if is_scored(kind)]
    counted = [(rid, agency, states.get(rid, "received") == "rejected", code,
                0 if code in na else int(cells[position[code]]))
               for rid, (agency, _, cells, na) in answers.items() for code in satisfaction
               if code in na or cells[position[code]] not in ("", None)]
    tally = pd.DataFrame(counted, columns=["response_id", "agency_code", "rejected",
                                           "item_code", "score"])
    return LedgerState(campaign=str(manifest.get("campaign", "")), length=len(hashes),
                       hashes=hashes, codebook=book, responses=frame, tally=tally,
                       agencies=agencies)


def _replay(kind: str, payload: str, answers: dict, states: dict, kinds: list,
            position: dict) -> None:
    """Apply one ledger entry to the responses as they stand. The chain's integrity is
    `verify`'s business: an entry that cannot be read here is left out."""
    try:
        body = parse_payload(kind, payload) if kind == "response" else json.loads(payload)
    except ValueError:
        return
    if kind == "response":
        if len(body["export"]) == len(kinds):
            na = body.get("not_applicable") or []
            answers[body["response_id"]] = [body["agency_code"], str(body.get("channel", "")),
                                            list(body["export"]),
                                            set(na.split(";") if isinstance(na, str) else na)]
    elif kind == "review" and isinstance(body, dict) and body.get("response_id") in answers:
        states[body["response_id"]] = str(body.get("state", "received"))
    elif kind == "correction" and isinstance(body, dict) and body.get("response_id") in answers:
        _, _, cells, na = answers[body["response_id"]]
        for code, change in (body.get("changes") or {}).items():
            if code in position and isinstance(change, dict):
                item_kind = kinds[position[code]][1]
                try:
                    cells[position[code]] = export_value(item_kind, change.get("to"))
                except (TypeError, ValueError):
                    continue
                if is_scored(item_kind):
                    (na.add if change.get("to") in (0, "0") else na.discard)(code)


# --- recomputation: the application's functions ------------------------------------------

@dataclass
class Recomputed:
    """The figures of a report recomputed from its bundles: the tables of
    :func:`analysis.report.campaign_tables` seen from the report's scope."""

    codebook: pd.DataFrame
    own: pd.DataFrame
    subtrees: pd.DataFrame | None     # None: no agency tree in a bundle
    overall: pd.DataFrame | None
    tally: pd.DataFrame               # agency_code, item_code, score, n (scope's agencies)
    responses: pd.DataFrame           # every response of the scope (rejected ones too)
    names: dict
    tree: bool
    #: agency code → kind (department, commune…), from the bundle's agency tree
    kinds: dict = field(default_factory=dict)


def recompute_all(states: list[LedgerState], statement: Statement, scope: str | None = None
                  ) -> Recomputed:
    """Every table a report shows, computed from the bundles' ledgers (one per campaign,
    in the statement's order) by :func:`analysis.report.campaign_tables`, the application's
    computation: the tally, the respondent samples (``cap``, ``seed``), the bootstraps and
    their recentring, the roll-ups over the agency tree."""
    from . import report as rep
    from .counts import TallyCounts
    from .io import satisfaction_scores

    book = states[0].codebook
    trees = [s.agencies for s in states]
    has_tree = all(t is not None for t in trees)
    responses = pd.concat([s.responses for s in states], ignore_index=True)
    counted = responses[responses["review_state"] != "rejected"] if statement.exclude_rejected \
        else responses
    responding = sorted(set(counted["agency_code"].astype(str)))
    tally = pd.concat([s.tally for s in states], ignore_index=True)
    if statement.exclude_rejected:
        tally = tally[~tally["rejected"].astype(bool)]
    tally = tally.groupby(["agency_code", "item_code", "score"]).size().reset_index(name="n") \
        .astype({"agency_code": "str", "item_code": "str", "score": "int64", "n": "int64"}) \
        if len(tally) else rep.empty_tally()
    cells = TallyCounts.from_frame(tally, book, responding)
    if has_tree:
        tree = pd.concat(trees, ignore_index=True).drop_duplicates("code", keep="last")
        tree = tree.sort_values("code").reset_index(drop=True)
        missing = sorted(set(responding) - set(tree["code"]))
        if missing:
            raise ReportFileError(say("report.tree_lacks", codes=", ".join(missing)))
    else:  # each agency its own root: its own table is right, roll-ups are not checked
        tree = pd.DataFrame({"code": responding, "name": responding, "parent_code": None})
    scores = satisfaction_scores(counted, book).set_index(counted["response_id"])

    def id_chunks():
        for k, state in enumerate(states):
            frame = state.responses
            if statement.exclude_rejected:
                frame = frame[frame["review_state"] != "rejected"]
            yield (k, frame["response_id"].to_numpy(dtype="int64"),
                   frame["agency_code"].astype(str).to_numpy(dtype=object))

    def answers(chosen):
        return scores.loc[np.asarray(chosen, dtype="int64")].to_numpy(dtype="float64")

    tables = rep.campaign_tables(cells, book, tree, responding, statement.bootstrap,
                                 statement.seed, statement.cap, id_chunks, answers)
    if scope is not None and scope not in tables["ancestors"]:
        raise ReportFileError(say("report.scope", scope=scope))
    view = rep.scope_tables(tables, responding, scope)
    visible = view["visible"]

    def within(frame):
        return frame if visible is None else frame[frame["agency_code"].isin(visible)]

    names = dict(zip(tree["code"], tree["name"], strict=True)) if has_tree else {}
    names[rep.ALL_CODE] = "Toàn bộ đợt khảo sát"
    return Recomputed(codebook=book, own=view["own"],
                      subtrees=view["subtrees"] if has_tree else None,
                      overall=(view["overall"] if view["overall"] is not None
                               else view["own"].iloc[0:0]) if has_tree else None,
                      tally=within(tally).reset_index(drop=True),
                      responses=within(responses).reset_index(drop=True), names=names,
                      tree=has_tree,
                      kinds=dict(zip(tree["code"], tree["kind"], strict=True))
                      if has_tree and "kind" in tree.columns else {})
