//! NATS subjects. The tenant and namespace are in the subject so that NATS permissions can
//! confine a worker to `hush.v1.get.<tenant>.<namespace>.>`.
//!
//! ```text
//! hush.v1.get.<tenant>.<namespace parts>          read 1..64 secrets
//! hush.v1.admin.<op>.<tenant>.<namespace parts>   put, delete, list
//! hush.v1.events.changed.<tenant>.<namespace>     a secret changed (every replica listens)
//! hush.v1.audit.<tenant>                          audit events, JSON, never a value
//! ```

use hush_core::{IdError, Namespace, TenantId};

/// The prefix of every hush subject.
pub const ROOT: &str = "hush.v1";
/// Wildcard subject of the get endpoint.
pub const GET_WILDCARD: &str = "hush.v1.get.>";
/// Wildcard subject of change events.
pub const CHANGED_WILDCARD: &str = "hush.v1.events.changed.>";
/// Every tenant's audit events: the subjects of the audit stream.
pub const AUDIT_WILDCARD: &str = "hush.v1.audit.>";

/// An admin operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminOp {
    /// Write a new version.
    Put,
    /// Delete every version.
    Delete,
    /// List metadata.
    List,
}

impl AdminOp {
    /// Every operation.
    pub const ALL: [AdminOp; 3] = [AdminOp::Put, AdminOp::Delete, AdminOp::List];

    /// The subject token.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminOp::Put => "put",
            AdminOp::Delete => "delete",
            AdminOp::List => "list",
        }
    }

    /// The wildcard subject of this operation's endpoint.
    pub fn wildcard(self) -> String {
        format!("{ROOT}.admin.{}.>", self.as_str())
    }
}

/// What a request subject addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestSubject {
    /// A read.
    Get {
        /// The tenant.
        tenant: TenantId,
        /// The namespace.
        namespace: Namespace,
    },
    /// An admin operation.
    Admin {
        /// Which one.
        op: AdminOp,
        /// The tenant.
        tenant: TenantId,
        /// The namespace.
        namespace: Namespace,
    },
}

impl RequestSubject {
    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        match self {
            RequestSubject::Get { tenant, .. } | RequestSubject::Admin { tenant, .. } => tenant,
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        match self {
            RequestSubject::Get { namespace, .. } | RequestSubject::Admin { namespace, .. } => namespace,
        }
    }
}

/// Why a subject was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    /// Not a hush request subject.
    #[error("subject is not a hush request subject")]
    NotHush,
    /// Unknown admin operation.
    #[error("unknown admin operation {0:?}")]
    UnknownOp(String),
    /// The tenant or namespace is missing.
    #[error("subject has no tenant or no namespace")]
    Incomplete,
    /// A tenant or namespace token is invalid.
    #[error("{0}")]
    Id(#[from] IdError),
}

// Subjects are built with `concat`: one allocation of the exact size, no formatting
// machinery (a read builds one on each side, an audit event one more).

/// `hush.v1.get.<tenant>.<namespace>`
pub fn get(tenant: &TenantId, namespace: &Namespace) -> String {
    [ROOT, ".get.", tenant.as_str(), ".", namespace.as_str()].concat()
}

/// `hush.v1.admin.<op>.<tenant>.<namespace>`
pub fn admin(op: AdminOp, tenant: &TenantId, namespace: &Namespace) -> String {
    [ROOT, ".admin.", op.as_str(), ".", tenant.as_str(), ".", namespace.as_str()].concat()
}

/// `hush.v1.events.changed.<tenant>.<namespace>`
pub fn changed(tenant: &TenantId, namespace: &Namespace) -> String {
    [ROOT, ".events.changed.", tenant.as_str(), ".", namespace.as_str()].concat()
}

/// `hush.v1.audit.<tenant>`
pub fn audit(tenant: &TenantId) -> String {
    [ROOT, ".audit.", tenant.as_str()].concat()
}

/// `<tenant>.<namespace>`: the namespace is the rest, dotted, checked as a whole (no copy per
/// segment).
fn split_scope(scope: &str) -> Result<(TenantId, Namespace), SubjectError> {
    let (tenant, namespace) = scope.split_once('.').ok_or(SubjectError::Incomplete)?;
    Ok((TenantId::new(tenant)?, Namespace::new(namespace)?))
}

/// Parses a request subject (get or admin).
pub fn parse_request(subject: &str) -> Result<RequestSubject, SubjectError> {
    let rest = subject.strip_prefix(ROOT).and_then(|r| r.strip_prefix('.')).ok_or(SubjectError::NotHush)?;
    if let Some(scope) = rest.strip_prefix("get.") {
        let (tenant, namespace) = split_scope(scope)?;
        return Ok(RequestSubject::Get { tenant, namespace });
    }
    if let Some(admin) = rest.strip_prefix("admin.") {
        let (op, scope) = admin.split_once('.').unwrap_or((admin, ""));
        let op =
            AdminOp::ALL.into_iter().find(|o| o.as_str() == op).ok_or_else(|| SubjectError::UnknownOp(op.into()))?;
        let (tenant, namespace) = split_scope(scope)?;
        return Ok(RequestSubject::Admin { op, tenant, namespace });
    }
    match rest {
        "get" | "admin" => Err(SubjectError::Incomplete),
        _ => Err(SubjectError::NotHush),
    }
}

/// Parses a change-event subject into its tenant and namespace.
pub fn parse_changed(subject: &str) -> Result<(TenantId, Namespace), SubjectError> {
    let rest =
        subject.strip_prefix(ROOT).and_then(|r| r.strip_prefix(".events.changed.")).ok_or(SubjectError::NotHush)?;
    split_scope(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn subjects_round_trip() {
        let t = TenantId::new("acme").unwrap();
        let n = Namespace::new("company.team").unwrap();
        assert_eq!(get(&t, &n), "hush.v1.get.acme.company.team");
        assert_eq!(
            parse_request(&get(&t, &n)).unwrap(),
            RequestSubject::Get { tenant: t.clone(), namespace: n.clone() }
        );
        let s = admin(AdminOp::Delete, &t, &n);
        assert_eq!(s, "hush.v1.admin.delete.acme.company.team");
        assert_eq!(
            parse_request(&s).unwrap(),
            RequestSubject::Admin { op: AdminOp::Delete, tenant: t.clone(), namespace: n.clone() }
        );
        assert_eq!(parse_changed(&changed(&t, &n)).unwrap(), (t.clone(), n));
        assert_eq!(audit(&t), "hush.v1.audit.acme");
    }

    #[test]
    fn bad_subjects_are_refused() {
        assert_eq!(parse_request("hush.v1.get.acme"), Err(SubjectError::Incomplete));
        assert_eq!(parse_request("hush.v1.get"), Err(SubjectError::Incomplete));
        assert_eq!(parse_request("hush.v1.admin.put"), Err(SubjectError::Incomplete));
        assert_eq!(parse_request("hush.v1.admin.put.acme"), Err(SubjectError::Incomplete));
        assert_eq!(parse_request("hush.v1.getx.acme.a"), Err(SubjectError::NotHush));
        assert!(matches!(parse_request("hush.v1.get.acme."), Err(SubjectError::Id(_))));
        assert_eq!(parse_changed("hush.v1.events.changed.acme"), Err(SubjectError::Incomplete));
        assert_eq!(parse_request("hush.v2.get.acme.a"), Err(SubjectError::NotHush));
        assert_eq!(parse_request("hush.v1.admin.drop.acme.a"), Err(SubjectError::UnknownOp("drop".into())));
        assert!(matches!(parse_request("hush.v1.get.acme.a..b"), Err(SubjectError::Id(_))));
        assert!(matches!(parse_request("hush.v1.get.ac*me.a"), Err(SubjectError::Id(_))));
    }

    proptest! {
        #[test]
        fn namespace_maps_onto_subject_tokens(segments in proptest::collection::vec("[A-Za-z0-9_-]{1,8}", 1..8)) {
            let t = TenantId::new("t").unwrap();
            let n = Namespace::from_segments(&segments).unwrap();
            let parsed = parse_request(&get(&t, &n)).unwrap();
            prop_assert_eq!(parsed.namespace(), &n);
        }
    }
}
