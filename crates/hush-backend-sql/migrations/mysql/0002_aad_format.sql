-- Which AAD each version was sealed with: 1 = tenant, namespace, name, version (rows stored
-- before this migration, the default); 2 = the same and the tags. `hush rekey` moves rows to 2.
ALTER TABLE {prefix}secret_versions ADD COLUMN aad_format BIGINT NOT NULL DEFAULT 1;
