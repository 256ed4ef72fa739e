"""Question types as a registry: each type, in one class, builds its WTForms field,
parses and checks a submitted value, names its values in each language, gives its export
cell, its printed layout and its paper-entry layout. Adding a type is one class decorated
with `register`.

Stored values (in a response's canonical JSON): satisfaction 1..5 or 0 for "not
applicable"; priority 1 (Ít), 2 (Nhiều), 3 (Rất nhiều); single choice the choice code;
multiple choice a list of choice codes in questionnaire order; text a string.
"""

from .base import (
    CONTROL_CHARS,
    REGISTRY,
    REQUIRED_MESSAGE,
    Block,
    DefinitionItem,
    Entry,
    Grid,
    InvalidAnswer,
    Legend,
    QuestionType,
    get_type,
    names_where,
    register,
    unregister,
)
from .choices import MultipleChoice, SingleChoice
from .scales import PRIORITY_LABELS, SATISFACTION_LABELS, Priority, Satisfaction
from .text import FreeText

__all__ = [
    "CONTROL_CHARS", "PRIORITY_LABELS", "REGISTRY", "REQUIRED_MESSAGE", "SATISFACTION_LABELS",
    "Block", "DefinitionItem", "Entry", "FreeText", "Grid", "InvalidAnswer", "Legend",
    "MultipleChoice", "Priority", "QuestionType", "Satisfaction", "SingleChoice", "get_type",
    "names_where", "register", "unregister",
]
