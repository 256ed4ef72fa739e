"""Re-verification ("phúc tra"): the stratified random draw of records to re-contact,
recomputable by anyone from the audit bundle and the seed, and the falsification signal
from the outcomes.

The draw (:func:`draw_sample`), precisely, so that it can be re-implemented elsewhere:

1. the population is sorted by ``response_id`` (ascending);
2. ``u = numpy.random.default_rng(seed).random(N)`` gives one uniform number per record,
   in that order;
3. each record's weight ``w`` is ``oversample_flagged`` if it carries a quality flag,
   else 1, and its key is ``ln(u) / w`` (Efraimidis–Spirakis weighted sampling without
   replacement: a flagged record is more likely to be drawn, never certain);
4. the strata are ``(agency_code, collector)``; a stratum of ``N_h`` records gets
   ``n_h = ceil(rate × N_h)`` draws (at least one: every collector's work is checked),
   the records with the largest keys (ties: the lower response id).

The population is the responses that can be re-contacted (:func:`recontactable`): those
that came through a numbered paper form issued to a collector (answered on the paper or
through its QR code), and those whose respondent left a phone number with consent. An
open-link, kiosk (API) or invitation response without a number is never drawn: nobody
could ask its respondent. The bundle's ``audit.csv`` carries, per response, the collector,
the flags, ``paper_form`` and ``phone_kept`` (whether a number is kept at export; never the
number); the "sample" ledger event records which responses had a number when it was drawn
(``phone_contacts``), since numbers are erased once checked.

The collector is the person a numbered paper form (or its QR link) was issued to; other
responses are labelled ``open``, ``api`` or ``invitation``.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .bundle import wide_csv_fields
from .errors import InputError
from .indices import wilson_interval
from .ledger import parse_payload
from .messages import say

__all__ = [
    "OUTCOMES",
    "recontactable",
    "Resample",
    "draw_sample",
    "falsification_report",
    "read_bundle_population",
    "resample_bundle",
]

OUTCOMES = ("confirmed", "not_confirmed", "unreachable", "answers_differ")
SAMPLE_COLUMNS = ["response_id", "agency_code", "collector", "flagged"]
AUDIT_COLUMNS = ["response_id", "collector", "flags", "paper_form", "phone_kept"]


def _check(rate, seed, oversample_flagged) -> None:
    if not 0 < rate <= 1:
        raise ValueError(f"rate must be in (0, 1], not {rate!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, not {seed!r}")
    if not oversample_flagged >= 1:
        raise ValueError(f"oversample_flagged must be at least 1, not {oversample_flagged!r}")


def stratum_size(rate: float, n: int) -> int:
    """ceil(rate × n), computed on the decimal value (0.1 × 30 is 3, not 4)."""
    return min(n, max(1, math.ceil(round(rate * n, 9)))) if n else 0


def recontactable(population: pd.DataFrame, phone_ids=None) -> pd.Series:
    """Which records of ``population`` may be drawn: a numbered paper form issued to a
    collector (``paper_form``), or a phone number left with consent — the ids in
    ``phone_ids`` when given (as a recorded draw names them), else ``phone_kept``."""
    paper = population["paper_form"].astype(bool)
    if phone_ids is None:
        phone = population["phone_kept"].astype(bool)
    else:
        phone = population["response_id"].astype("int64").isin({int(i) for i in phone_ids})
    return paper | phone


def draw_sample(population: pd.DataFrame, *, rate: float, seed: int, flagged=(),
                oversample_flagged: float = 2.0) -> pd.DataFrame:
    """The drawn records (``response_id, agency_code, collector, flagged``), by id.

    ``population`` needs ``response_id``, ``agency_code`` and ``collector``; ``flagged`` is
    the collection of flagged response ids. The input is not modified.
    """
    _check(rate, seed, oversample_flagged)
    if not len(population):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            SAMPLE_COLUMNS, ("int64", "str", "str", "bool"), strict=True)})
    pop = (population[["response_id", "agency_code", "collector"]]
           .astype({"response_id": "int64", "agency_code": "str", "collector": "str"})
           .sort_values("response_id", kind="stable").reset_index(drop=True))
    if pop["response_id"].duplicated().any():
        raise ValueError("the population has duplicate response ids")
    marked = pop["response_id"].isin({int(i) for i in flagged}).to_numpy()
    u = np.random.default_rng(int(seed)).random(len(pop))
    weight = np.where(marked, float(oversample_flagged), 1.0)
    with np.errstate(divide="ignore"):
        key = np.log(u) / weight
    pop = pop.assign(flagged=marked, _key=key)
    ranked = pop.sort_values(["agency_code", "collector", "_key", "response_id"],
                             ascending=[True, True, False, True], kind="stable")
    rank = ranked.groupby(["agency_code", "collector"], sort=False).cumcount()
    size = ranked.groupby(["agency_code", "collector"], sort=False)["response_id"] \
        .transform("size")
    quota = size.map(lambda n: stratum_size(rate, int(n)))
    chosen = ranked[rank < quota]
    return chosen[SAMPLE_COLUMNS].sort_values("response_id").reset_index(drop=True)


def falsification_report(outcomes: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Per group (``by``: collector and/or agency_code): records sampled, checked, each
    outcome, and the falsification signal — the share of reached respondents who did not
    confirm answering or whose answers differ — with its 95 % Wilson interval.

    ``outcomes`` has one row per sampled record: the ``by`` columns and ``outcome`` (the
    latest recorded, missing while unchecked).
    """
    by = [by] if isinstance(by, str) else list(by)
    columns = ["sampled", "checked", *OUTCOMES, "reached", "signal", "signal_low",
               "signal_high"]
    if not len(outcomes):
        return pd.DataFrame(columns=[*by, *columns])
    outcome = outcomes["outcome"].fillna("unchecked").rename("outcome")
    counts = pd.crosstab([outcomes[c] for c in by], outcome)
    counts = counts.reindex(columns=[*OUTCOMES, "unchecked"], fill_value=0)
    table = counts.assign(sampled=counts.sum(axis=1),
                          checked=counts[list(OUTCOMES)].sum(axis=1))
    reached = table["confirmed"] + table["not_confirmed"] + table["answers_differ"]
    suspect = table["not_confirmed"] + table["answers_differ"]
    low, high = wilson_interval(suspect.to_numpy(), reached.to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        signal = np.where(reached > 0, suspect / reached.where(reached > 0, 1), np.nan)
    table = table.assign(reached=reached, signal=signal, signal_low=low, signal_high=high)
    return table[columns].reset_index().sort_values(
        ["signal", *by], ascending=[False, *[True] * len(by)], na_position="last",
        kind="stable").reset_index(drop=True)


# --- recomputing from the audit bundle --------------------------------------------------

class BundleFormatError(InputError):
    """The bundle lacks what a re-draw needs."""


def _csv(zf: zipfile.ZipFile, name: str):
    try:
        return csv.reader(io.TextIOWrapper(zf.open(name), encoding="utf-8", newline=""))
    except KeyError:
        raise BundleFormatError(say("bundle.no_member", name=name)) from None


def read_bundle_population(path) -> tuple[pd.DataFrame, dict[int, int], list[tuple[int, dict]]]:
    """From an audit bundle: the responses (``response_id, agency_code, channel,
    collector, flags``), each response's ledger entry number, and the recorded sample
    events ``[(ledger seq, payload)]``."""
    with wide_csv_fields():
        return _read_bundle_population(path)


def _read_bundle_population(path):
    with zipfile.ZipFile(path) as zf:
        rows = _csv(zf, "responses.csv")
        header = next(rows, [])
        try:
            cols = [header.index(c) for c in ("response_id", "agency_code", "channel")]
        except ValueError:
            raise BundleFormatError(say("resample.responses_columns")) from None
        responses = pd.DataFrame([[r[i] for i in cols] for r in rows],
                                 columns=["response_id", "agency_code", "channel"])
        audit_rows = _csv(zf, "audit.csv")
        audit_header = next(audit_rows, None)
        if audit_header not in (AUDIT_COLUMNS, AUDIT_COLUMNS[:3]):
            raise BundleFormatError(say("resample.audit_columns",
                                        columns=",".join(AUDIT_COLUMNS)))
        audit = pd.DataFrame(list(audit_rows), columns=audit_header)
        seqs: dict[int, int] = {}
        samples: list[tuple[int, dict]] = []
        ledger = _csv(zf, "ledger.csv")
        next(ledger, None)
        for row in ledger:
            if len(row) != 7 or row[1] not in ("response", "sample"):
                continue
            try:
                body = parse_payload(row[1], row[6])
                if row[1] == "response":
                    seqs[int(body["response_id"])] = int(row[0])
                else:
                    samples.append((int(row[0]), body))
            except (ValueError, KeyError, TypeError):
                continue  # `verify` reports malformed entries
    responses = responses.astype({"response_id": "int64"})
    audit = audit.astype({"response_id": "int64"})
    merged = responses.merge(audit, on="response_id", how="left")
    merged = merged.assign(collector=merged["collector"].fillna(merged["channel"]),
                           flags=merged["flags"].fillna(""))
    if "paper_form" in merged:  # bundles written before these columns lack them
        merged = merged.assign(**{c: merged[c].fillna("0").isin(["1", "True", "true"])
                                  for c in ("paper_form", "phone_kept")})
    return merged, seqs, samples


@dataclass
class Resample:
    selected: list[int]
    population: int
    flagged: int
    #: responses in the bundle (or chained up to the recorded draw) before keeping the
    #: re-contactable ones
    considered: int = 0
    recorded_seq: int | None = None
    recorded: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool | None:
        if self.recorded is None:
            return None
        return (self.selected == sorted(int(i) for i in self.recorded.get("selected", []))
                and self.population == self.recorded.get("population"))


def resample_bundle(path, *, seed: int, rate: float,
                    oversample_flagged: float | None = None) -> Resample:
    """Redo a draw from the bundle alone. When the ledger records a draw with this seed and
    rate (the latest such), its population (the responses chained up to its ``as_of_seq``),
    its flagged records and its oversampling are used, and the result is compared with the
    records it names; otherwise the whole bundle is drawn from, with audit.csv's flags."""
    responses, seqs, samples = read_bundle_population(path)
    matching = [(s, p) for s, p in samples
                if p.get("seed") == seed and float(p.get("rate", -1)) == float(rate)
                and (oversample_flagged is None
                     or float(p.get("oversample_flagged", -1)) == float(oversample_flagged))]
    notes = []
    if matching:
        seq, payload = matching[-1]
        as_of = int(payload["as_of_seq"])
        in_pop = responses["response_id"].map(seqs).le(as_of).fillna(False)
        chained = responses[in_pop.to_numpy(dtype=bool)]
        if "phone_contacts" not in payload:
            population = chained  # a draw made before only re-contactable ones were drawn
        elif "paper_form" not in chained:
            raise BundleFormatError(say("resample.paper_form"))
        else:
            keep = recontactable(chained, payload["phone_contacts"])
            population = chained[keep.to_numpy(dtype=bool)]
        flagged = [int(i) for i in payload.get("flagged", [])]
        oversample = float(payload.get("oversample_flagged", 2.0))
        now_flagged = set(population.loc[population["flags"] != "", "response_id"])
        if now_flagged != set(flagged):
            notes.append(say("resample.flags_changed", now=len(now_flagged), then=len(flagged)))
    else:
        seq, payload, chained = None, None, responses
        if "paper_form" in responses:
            population = responses[recontactable(responses).to_numpy(dtype=bool)]
        else:
            population = responses
            notes.append(say("resample.older_bundle"))
        flagged = list(population.loc[population["flags"] != "", "response_id"])
        oversample = 2.0 if oversample_flagged is None else float(oversample_flagged)
    drawn = draw_sample(population, rate=rate, seed=seed, flagged=flagged,
                        oversample_flagged=oversample)
    return Resample(selected=[int(i) for i in drawn["response_id"]],
                    population=len(population), flagged=len(set(flagged)),
                    considered=len(chained), recorded_seq=seq, recorded=payload, notes=notes)
