"""The one error every reader of a file given by the user raises for bad input, kept in
a module of its own so that the command line can catch it without importing pandas."""

from __future__ import annotations


class InputError(ValueError):
    """A file given to `analysis` is not in the documented format."""
