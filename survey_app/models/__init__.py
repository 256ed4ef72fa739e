"""The data model: agencies, versioned questionnaires, campaigns, issued forms, responses,
users, kiosks, the ledger and re-verification, one module a domain; every model and shared
name is importable from here (`from ..models import Response`).

A response is written once and never updated or deleted: reviews and corrections are
rows that refer to it. Times are stored as naive UTC.
"""

from analysis.ledger import canonical_json

from .agencies import Agency
from .append_only import APPEND_ONLY_TABLES, append_only_ddl
from .base import AGENCY_KINDS, CHANNELS, REVIEW_STATES, ROLES, utcnow
from .campaigns import Campaign, CampaignAgency
from .derived import DerivedResult
from .invitations import (
    DELIVERY_CHANNELS,
    INVITATION_STATES,
    CaseColumnMap,
    CaseImport,
    ImportedCase,
    Invitation,
    InvitationDelivery,
)
from .kiosks import Kiosk
from .ledger import PLACE_CHECK, LedgerCheckpoint, LedgerEntry, LedgerHead
from .questionnaires import Item, QuestionGroup, Questionnaire, QuestionnaireVersion
from .responses import (
    AnswerTally,
    CommentRelease,
    CrossTally,
    FormBatch,
    IssuedForm,
    PaperEntry,
    Response,
    ResponseCorrection,
    ResponseReview,
    TallyMark,
)
from .reverification import REVERIFY_OUTCOMES, RecheckContact, Reverification, ReverifyDraw
from .translations import QuestionnaireTranslation, TranslationText
from .users import AccountLink, ApiKey, AuditLog, RecoveryCode, User

__all__ = [
    "AGENCY_KINDS",
    "APPEND_ONLY_TABLES",
    "CHANNELS",
    "DELIVERY_CHANNELS",
    "INVITATION_STATES",
    "PLACE_CHECK",
    "REVERIFY_OUTCOMES",
    "REVIEW_STATES",
    "ROLES",
    "AccountLink",
    "Agency",
    "AnswerTally",
    "ApiKey",
    "AuditLog",
    "Campaign",
    "CaseColumnMap",
    "CaseImport",
    "CampaignAgency",
    "CommentRelease",
    "CrossTally",
    "DerivedResult",
    "FormBatch",
    "ImportedCase",
    "Invitation",
    "InvitationDelivery",
    "IssuedForm",
    "Item",
    "Kiosk",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "PaperEntry",
    "QuestionGroup",
    "Questionnaire",
    "QuestionnaireTranslation",
    "QuestionnaireVersion",
    "RecheckContact",
    "RecoveryCode",
    "Response",
    "ResponseCorrection",
    "ResponseReview",
    "Reverification",
    "ReverifyDraw",
    "TallyMark",
    "TranslationText",
    "User",
    "append_only_ddl",
    "canonical_json",
    "utcnow",
]
