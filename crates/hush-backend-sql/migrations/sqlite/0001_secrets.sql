-- One row per secret: the write lock and version counter of its versions.
CREATE TABLE IF NOT EXISTS {prefix}secrets (
    tenant TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    latest_version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, namespace, name)
) STRICT;

-- One row per version: the value sealed by the at-rest cipher, never plaintext.
CREATE TABLE IF NOT EXISTS {prefix}secret_versions (
    tenant TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    tags TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, namespace, name, version)
) STRICT;

CREATE INDEX IF NOT EXISTS {prefix}secret_versions_key_id ON {prefix}secret_versions (key_id);
