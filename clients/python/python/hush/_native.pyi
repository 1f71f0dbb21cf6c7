"""Type stubs of the extension module ``hush._native`` (re-exported by ``hush``)."""

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, Optional, Union

__version__: str

KeySource = Union[str, bytes, os.PathLike[str]]
"""A resolver public key: base64 text (a ``resolver.pub`` file's content), 32 raw bytes,
or a key file path."""

Version = Union[str, int]

SecretItem = Union[
    str,
    tuple[str],
    tuple[str, Optional[str]],
    tuple[str, Optional[str], Optional[Version]],
    Mapping[Literal["name", "path", "version"], Optional[Union[str, int]]],
]
"""An item of ``Session.secrets``: a name, ``(name, path[, version])``, or a dict with
``name`` and optionally ``path`` and ``version``."""

class Client:
    """A connection to the hush resolvers: one NATS connection, one key pair, one
    background thread. Create one per process (after any fork) and share it."""

    def __init__(
        self,
        nats_url: str,
        resolver_public_keys: Union[KeySource, Sequence[KeySource]],
        *,
        client_key: Union[str, os.PathLike[str], None] = None,
        request_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        nats_credentials: Union[str, os.PathLike[str], None] = None,
        tls_ca: Union[str, os.PathLike[str], None] = None,
        tls_cert: Union[str, os.PathLike[str], None] = None,
        tls_key: Union[str, os.PathLike[str], None] = None,
        inbox_prefix: Optional[str] = None,
        name: str = "hush-python",
    ) -> None: ...
    @property
    def public_key(self) -> str:
        """This client's X25519 public key in base64, for ``hush grant --bind-key``."""
    def session(self, grant: str) -> Session:
        """A session for one grant."""
    def close(self) -> None:
        """Flushes and closes the NATS connection."""
    def __enter__(self) -> "Client": ...
    def __exit__(self, *exc: object) -> bool: ...

class Session:
    """Reads for one grant: one tenant, one namespace, one execution."""

    @property
    def tenant(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    def secret(self, name: str, path: Optional[str] = None, version: Optional[Version] = None) -> str:
        """The value of ``name``; ``path`` selects part of a JSON value, ``version`` pins one.
        A value that is not UTF-8 raises ``HushError(kind="invalid_input")``."""
    def secret_bytes(self, name: str, path: Optional[str] = None, version: Optional[Version] = None) -> bytes:
        """Like ``secret``, as bytes."""
    def secrets(self, items: Iterable[SecretItem]) -> list[str]:
        """Several values in one round trip, in request order."""
    def render(self, template: str) -> str:
        """Renders a minijinja template with ``secret("NAME"[, "path"])`` calls, in one round trip."""
    def masker(self) -> Masker:
        """The masker holding every value this session resolved."""

class Masker:
    """Replaces resolved values (and their URL, base64 and JSON forms) with ``******``."""

    def mask(self, text: str) -> str: ...
