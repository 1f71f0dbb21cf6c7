"""hush.HushError: every failure of the client."""

from __future__ import annotations


class HushError(Exception):
    """A hush failure.

    ``kind`` is hush's error kind in snake case (``not_found``, ``unauthorized``,
    ``permission_denied``, ``read_only``, ``unsupported``, ``config_invalid``,
    ``rate_limited``, ``unavailable``, ``invalid_input``, ``conflict``, ``internal``);
    ``message`` is hush's message; ``temporary`` says whether retrying may succeed;
    ``context`` holds pairs such as ``{"secret": "DB_PASSWORD"}``. Messages never hold a
    secret value or a grant.
    """

    __module__ = "hush"

    kind: str
    message: str
    temporary: bool
    context: dict[str, str]

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        temporary: bool = False,
        context: dict[str, str] | None = None,
    ) -> None:
        super().__init__(kind, message)
        self.kind = kind
        self.message = message
        self.temporary = temporary
        self.context = dict(context or {})

    def __str__(self) -> str:
        text = f"{self.kind}: {self.message}"
        if self.context:
            text += " (" + ", ".join(f"{k}={v}" for k, v in self.context.items()) + ")"
        return text

    def __reduce__(self):  # type: ignore[override]
        # Keeps temporary and context across pickling (multiprocessing pools).
        return (HushError, (self.kind, self.message), {"temporary": self.temporary, "context": self.context})

    def __repr__(self) -> str:
        return f"HushError(kind={self.kind!r}, message={self.message!r})"
