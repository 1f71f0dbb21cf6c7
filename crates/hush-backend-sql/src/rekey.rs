//! `rekey`: re-seal every stored version under the cipher's newest key and the current AAD
//! format, in batches, while the store stays readable and writable; and `key_usage`, the
//! number of versions each key id seals.

use std::collections::BTreeMap;

use hush_core::{
    AtRestFormat, Error, ErrorKind, Namespace, RekeyReport, Result, Scope, SealedRecord, SecretName, Tags, TenantId,
};
use sqlx::Row;

use crate::backend::{SqlBackend, aad, parse_tags, stored_format, text_column};

/// Most rows one batch reads.
const MAX_BATCH: usize = 10_000;

/// The primary key of a version row, the position of a rekey run.
#[derive(Debug, Default)]
struct Cursor {
    tenant: String,
    namespace: String,
    name: String,
    version: i64,
}

impl SqlBackend {
    /// Re-seals every version whose key id is not the cipher's newest or whose AAD format is
    /// not [`AtRestFormat::CURRENT`] (rows stored before tags were bound: this migrates
    /// them), reading `batch_size` rows at a time (1 to 10 000).
    ///
    /// Each row is opened under its own format and re-sealed with the tags stored in it, by
    /// one conditional `UPDATE`, its own transaction, that only applies while the row still
    /// holds what was read; readers and writers carry on meanwhile. Rows that fail to open
    /// are counted and left as they are. Running it again after a complete run examines
    /// nothing.
    pub async fn rekey(&self, batch_size: usize) -> Result<RekeyReport> {
        let newest = self.cipher.newest_key_id();
        let current = AtRestFormat::CURRENT;
        let batch = batch_size.clamp(1, MAX_BATCH);
        let mut report = RekeyReport { key_id: newest, ..RekeyReport::default() };
        let mut cursor = Cursor::default();
        loop {
            let rows = sqlx::query(&self.queries.stale_batch)
                .bind(i64::from(newest))
                .bind(current.number())
                .bind(cursor.tenant.as_str())
                .bind(cursor.namespace.as_str())
                .bind(cursor.name.as_str())
                .bind(cursor.version)
                .bind(batch as i64)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.db_error(&e, "rekey"))?;
            for row in &rows {
                let decode = |e: sqlx::Error| self.db_error(&e, "rekey");
                cursor = Cursor {
                    tenant: text_column(row, 0).map_err(decode)?,
                    namespace: text_column(row, 1).map_err(decode)?,
                    name: text_column(row, 2).map_err(decode)?,
                    version: row.try_get(3).map_err(decode)?,
                };
                report.examined += 1;
                let old_key: i64 = row.try_get(4).map_err(decode)?;
                let nonce: Vec<u8> = row.try_get(5).map_err(decode)?;
                let ciphertext: Vec<u8> = row.try_get(6).map_err(decode)?;
                let tags = text_column(row, 7).and_then(|t| parse_tags(&t));
                let format = row.try_get::<i64, _>(8).map_err(decode).map(stored_format);
                let (Ok(key_id), Ok(tags), Ok(Ok(format))) = (u32::try_from(old_key), tags, format) else {
                    report.failed += 1;
                    continue;
                };
                let old = SealedRecord { key_id, format, nonce, ciphertext };
                match self.reseal(&cursor, &tags, old, newest).await? {
                    Resealed::Done if format != current => {
                        report.resealed += 1;
                        report.migrated += 1;
                    }
                    Resealed::Done => report.resealed += 1,
                    Resealed::Changed => report.skipped += 1,
                    Resealed::DoesNotOpen => report.failed += 1,
                }
            }
            if rows.len() < batch {
                return Ok(report);
            }
        }
    }

    /// Re-seals one row.
    async fn reseal(&self, at: &Cursor, tags: &Tags, old: SealedRecord, newest: u32) -> Result<Resealed> {
        let (Ok(tenant), Ok(namespace), Ok(name)) = (
            TenantId::new(at.tenant.as_str()),
            Namespace::new(at.namespace.as_str()),
            SecretName::new(at.name.as_str()),
        ) else {
            return Err(Error::new(ErrorKind::Internal, "a stored row holds an invalid tenant, namespace or name"));
        };
        let scope = Scope::new(tenant, namespace);
        let version = at.version.to_string();
        let Ok(value) = self.cipher.open(aad(&scope, &name, &version, tags), &old) else {
            return Ok(Resealed::DoesNotOpen);
        };
        let sealed = self.cipher.seal(aad(&scope, &name, &version, tags), &value)?;
        // A cipher that follows its key ring file may have moved on to a newer key during the
        // run; an older one would undo the rotation.
        if sealed.key_id < newest {
            return Err(Error::new(
                ErrorKind::Internal,
                format!("the cipher sealed under key {} but reported {newest} as newest", sealed.key_id),
            ));
        }
        // One attempt: a lost lock race (deadlock, busy) fails the run with a temporary error;
        // running `hush rekey` again carries on where it stopped.
        let updated = sqlx::query(&self.queries.reseal)
            .bind(i64::from(sealed.key_id))
            .bind(sealed.format.number())
            .bind(&sealed.nonce[..])
            .bind(&sealed.ciphertext[..])
            .bind(scope.tenant.as_str())
            .bind(scope.namespace.as_str())
            .bind(name.as_str())
            .bind(at.version)
            .bind(i64::from(old.key_id))
            .bind(&old.nonce[..])
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_error(&e, "rekey"))?
            .rows_affected();
        Ok(if updated == 1 { Resealed::Done } else { Resealed::Changed })
    }

    /// How many stored versions each key id seals, by key id; ids with no row are absent.
    ///
    /// `hush keys retire-at-rest` refuses to remove a key while this counts rows under it.
    /// A stored id outside `u32` (only a row altered in the database holds one) names no key
    /// of any ring and is left out.
    pub async fn key_usage(&self) -> Result<BTreeMap<u32, u64>> {
        let rows = sqlx::query(&self.queries.key_usage)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db_error(&e, "key usage"))?;
        let mut usage = BTreeMap::new();
        for row in &rows {
            let decode = |e: sqlx::Error| self.db_error(&e, "key usage");
            let key_id: i64 = row.try_get(0).map_err(decode)?;
            let count: i64 = row.try_get(1).map_err(decode)?;
            if let (Ok(key_id), Ok(count)) = (u32::try_from(key_id), u64::try_from(count)) {
                usage.insert(key_id, count);
            }
        }
        Ok(usage)
    }
}

/// What became of one row.
enum Resealed {
    /// Re-sealed under the newest key.
    Done,
    /// Changed or deleted between read and update.
    Changed,
    /// Did not open.
    DoesNotOpen,
}
