"""What every model shares: the storage convention for times and the closed vocabularies
of agency kinds, roles, channels and review states."""

from __future__ import annotations

from datetime import UTC, datetime

from analysis import kinds


def utcnow() -> datetime:
    """Current time as naive UTC (the storage convention on SQLite and PostgreSQL alike)."""
    return datetime.now(UTC).replace(tzinfo=None)


AGENCY_KINDS = ("province", "department", "commune", "ward", "one_stop", "other")
ROLES = ("admin", "officer", "clerk", "auditor")
CHANNELS = kinds.CHANNELS
REVIEW_STATES = ("received", "approved", "has_issues", "rejected")
