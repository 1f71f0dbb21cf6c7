//! The cluster's answers → hush error kinds, where Elasticsearch and OpenSearch differ from the
//! usual mapping (`hush_rest::VendorFailure::error`): by the error `type` of their body
//! (`{"error": {"root_cause": [...], "type", "reason"}, "status"}`).

use hush_core::{Error, ErrorKind};
use hush_rest::{Answer, VendorFailure};

/// The error type of an answer's body (`version_conflict_engine_exception`), if it has one.
/// An identifier of Elasticsearch's, never a value or a credential.
pub(crate) fn error_type(answer: &Answer) -> Option<String> {
    let body = answer.json()?;
    body.pointer("/error/type").and_then(|t| t.as_str()).map(str::to_owned)
}

/// Whether `answer` is a 404 because the index does not exist (not because a document does not).
pub(crate) fn is_index_missing(answer: &Answer) -> bool {
    answer.status == 404 && error_type(answer).as_deref() == Some("index_not_found_exception")
}

/// Whether `answer` is a 409 of a version conflict: a `_create` of an id that exists, or an
/// external version not above the stored one.
pub(crate) fn is_version_conflict(answer: &Answer) -> bool {
    answer.status == 409 && error_type(answer).as_deref() == Some("version_conflict_engine_exception")
}

/// Whether `answer` refuses to create the index because it exists.
pub(crate) fn is_index_present(answer: &Answer) -> bool {
    answer.status == 400
        && matches!(
            error_type(answer).as_deref(),
            Some("resource_already_exists_exception" | "index_already_exists_exception")
        )
}

/// The error for the cluster's answer `failure` (with the body's error type `kind_of_error`)
/// on index `index`.
pub(crate) fn call_error(index: &str, kind_of_error: Option<&str>, failure: &VendorFailure) -> Error {
    let doing = &failure.doing;
    match (failure.status, kind_of_error) {
        (401, _) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("the cluster refused hush's credentials (401) {doing}"),
            false,
        ),
        (403, _) => failure.error_of(
            ErrorKind::PermissionDenied,
            format_args!("the cluster denied {doing} (403); see the index privileges the backend needs"),
            false,
        ),
        (404, Some("index_not_found_exception")) => {
            failure.error_of(ErrorKind::NotFound, format_args!("index {index} does not exist (404) {doing}"), false)
        }
        (409, _) => failure.error_of(
            ErrorKind::Conflict,
            format_args!("a concurrent write won (409 version conflict) {doing}"),
            true,
        ),
        (
            400,
            Some(
                "strict_dynamic_mapping_exception"
                | "mapper_parsing_exception"
                | "document_parsing_exception"
                | "routing_missing_exception",
            ),
        ) => failure.error_of(
            ErrorKind::ConfigInvalid,
            format_args!(
                "index {index} has mappings hush did not create (400) {doing}; give the backend its own index"
            ),
            false,
        ),
        _ => failure.error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16) -> VendorFailure {
        VendorFailure {
            vendor: "Elasticsearch",
            status,
            doing: "writing a secret to index i".into(),
            said: "said".into(),
        }
    }

    fn kind(status: u16, error_type: Option<&str>) -> (ErrorKind, bool) {
        let e = call_error("i", error_type, &failure(status));
        (e.kind(), e.is_temporary())
    }

    #[test]
    fn statuses_and_types_map_to_kinds() {
        assert_eq!(kind(401, Some("security_exception")), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(403, Some("security_exception")), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind(404, Some("index_not_found_exception")), (ErrorKind::NotFound, false));
        assert_eq!(kind(404, None), (ErrorKind::NotFound, false));
        assert_eq!(kind(409, Some("version_conflict_engine_exception")), (ErrorKind::Conflict, true));
        assert_eq!(kind(400, Some("strict_dynamic_mapping_exception")), (ErrorKind::ConfigInvalid, false));
        assert_eq!(kind(400, Some("document_parsing_exception")), (ErrorKind::ConfigInvalid, false));
        assert_eq!(kind(400, Some("illegal_argument_exception")), (ErrorKind::InvalidInput, false));
        assert_eq!(kind(429, Some("es_rejected_execution_exception")), (ErrorKind::RateLimited, true));
        assert_eq!(kind(503, Some("unavailable_shards_exception")), (ErrorKind::Unavailable, true));
        let e = call_error("i", Some("index_not_found_exception"), &failure(404));
        assert!(e.to_string().contains("index i does not exist (404) writing a secret to index i: said"), "{e}");
    }
}
