-- One row per secret: the write lock and version counter of its versions.
CREATE TABLE IF NOT EXISTS {prefix}secrets (
    tenant VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    namespace VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    latest_version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, namespace, name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per version: the value sealed by the at-rest cipher, never plaintext.
-- MEDIUMBLOB holds up to 16 MiB; a BLOB would stop at 64 KiB.
CREATE TABLE IF NOT EXISTS {prefix}secret_versions (
    tenant VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    namespace VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    version BIGINT NOT NULL,
    key_id BIGINT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext MEDIUMBLOB NOT NULL,
    tags MEDIUMTEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, namespace, name, version),
    KEY {prefix}secret_versions_key_id (key_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
