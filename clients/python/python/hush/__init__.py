"""hush: secrets for Python workers, requested over NATS from the hush resolvers.

A thin layer over the Rust ``hush-client`` (the ``hush._native`` extension), so the
protocol and its cryptography have one implementation::

    import hush
    client = hush.Client("nats://127.0.0.1:4222", resolver_public_keys=["keys/resolver.pub"])
    session = client.session(grant)
    password = session.secret("DB_PASSWORD")
    print(session.masker().mask(f"connecting with {password}"))
"""

from ._errors import HushError
from ._native import Client, Masker, Session, __version__

__all__ = ["Client", "HushError", "Masker", "Session", "__version__"]
