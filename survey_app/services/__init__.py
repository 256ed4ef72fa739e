"""Write operations, one module per domain. They add and flush; the caller commits once."""


class ServiceError(Exception):
    """A refusal the user can act on; the message is shown as is (Vietnamese)."""

    def __init__(self, message: str, *, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {d}" for d in self.details)
