-- One row per secret: the write lock and version counter of its versions.
CREATE TABLE IF NOT EXISTS {prefix}secrets (
    tenant VARCHAR(63) COLLATE "C" NOT NULL,
    namespace VARCHAR(255) COLLATE "C" NOT NULL,
    name VARCHAR(128) COLLATE "C" NOT NULL,
    latest_version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, namespace, name)
);

-- One row per version: the value sealed by the at-rest cipher, never plaintext.
CREATE TABLE IF NOT EXISTS {prefix}secret_versions (
    tenant VARCHAR(63) COLLATE "C" NOT NULL,
    namespace VARCHAR(255) COLLATE "C" NOT NULL,
    name VARCHAR(128) COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    key_id BIGINT NOT NULL,
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    tags TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, namespace, name, version)
);

CREATE INDEX IF NOT EXISTS {prefix}secret_versions_key_id ON {prefix}secret_versions (key_id);
