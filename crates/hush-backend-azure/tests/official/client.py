"""Drives the Key Vault contract server with Microsoft's own Python client.

Run by tests/official_client.rs: argv = vault/authority URL, CA file, tenant, client id,
client secret, the hush-mapped name of a secret hush wrote, a hush-mapped name to write.
If this client cannot set, get, list (paged), delete, recover and purge through the stub,
the stub does not speak Key Vault's API.
"""

import base64
import sys

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

url, ca, tenant, client_id, client_secret, hush_written, for_hush = sys.argv[1:8]

credential = ClientSecretCredential(
    tenant,
    client_id,
    client_secret,
    authority=url,
    disable_instance_discovery=True,
    connection_verify=ca,
)
client = SecretClient(
    vault_url=url,
    credential=credential,
    api_version="7.5",
    verify_challenge_resource=False,
    connection_verify=ca,
)

# set / get / versions
first = client.set_secret("py-one", "value-1", tags={"team": "payments"}, content_type="text/plain")
assert first.value == "value-1", first.value
assert first.properties.tags == {"team": "payments"}, first.properties.tags
assert first.properties.content_type == "text/plain"
assert len(first.properties.version) == 32, first.properties.version
second = client.set_secret("py-one", "value-2")
assert second.properties.version != first.properties.version
assert client.get_secret("py-one").value == "value-2"
assert client.get_secret("py-one", first.properties.version).value == "value-1"
assert client.get_secret("PY-ONE").value == "value-2", "names are case-insensitive"
versions = list(client.list_properties_of_secret_versions("py-one"))
assert sorted(v.version for v in versions) == sorted([first.properties.version, second.properties.version])

# paging: the stub serves small pages, the client follows nextLink
for i in range(7):
    client.set_secret(f"py-page-{i}", f"x{i}")
pages = list(client.list_properties_of_secrets(max_page_size=3).by_page())
assert len(pages) >= 3, len(pages)
names = {p.name for page in pages for p in page}
assert {f"py-page-{i}" for i in range(7)} <= names, names

# a secret hush wrote: base64 content type and hush's tags
hush = client.get_secret(hush_written)
assert hush.properties.content_type == "application/octet-stream;base64"
assert base64.b64decode(hush.value) == bytes([0xFF, 0x00, 0x80])
assert hush.properties.tags["hush-name"] == "DB_PASSWORD", hush.properties.tags

# errors
try:
    client.get_secret("py-missing")
    raise SystemExit("expected SecretNotFound")
except ResourceNotFoundError as e:
    assert e.status_code == 404 and e.error.code == "SecretNotFound", e

# soft delete, conflict, recover, purge
deleted = client.begin_delete_secret("py-one").result()
assert deleted.name == "py-one" and deleted.recovery_id.endswith("/deletedsecrets/py-one"), deleted.recovery_id
assert client.get_deleted_secret("py-one").name == "py-one"
assert "py-one" in {d.name for d in client.list_deleted_secrets()}
try:
    client.set_secret("py-one", "value-3")
    raise SystemExit("expected 409 Conflict on a soft-deleted name")
except HttpResponseError as e:
    assert e.status_code == 409 and e.error.code == "Conflict", e
recovered = client.begin_recover_deleted_secret("py-one").result()
assert recovered.name == "py-one"
assert client.get_secret("py-one").value == "value-2"
client.begin_delete_secret("py-one").wait()
client.purge_deleted_secret("py-one")
assert "py-one" not in {d.name for d in client.list_deleted_secrets()}
try:
    client.get_deleted_secret("py-one")
    raise SystemExit("expected the purged secret to be gone")
except ResourceNotFoundError:
    pass

# a secret for hush to find
client.set_secret(
    for_hush,
    "from-python",
    tags={"hush-tenant": "acme", "hush-namespace": "team", "hush-name": "FROM_PY", "owner": "py"},
)
print("official client: ok")
