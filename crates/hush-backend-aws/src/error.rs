//! `parse_error`: AWS SDK errors to hush errors with a kind and a temporary flag.
//!
//! Messages keep AWS's error code and a sanitised form of its message: ARNs (which name the
//! caller's account, user or role) and request ids are cut out, and the text is cut to a
//! readable length. A denied request names only the permissions AWS says are missing
//! (`secretsmanager:GetSecretValue`). Response bodies are never quoted (a body can hold a value).

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use hush_core::{Error, ErrorKind};

/// Longest part of AWS's error text kept in a message, in characters.
const MAX_AWS_TEXT: usize = 300;

/// AWS's error code of a service error (`ResourceNotFoundException`), if `err` is one.
pub(crate) fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Option<&str> {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
}

/// Whether AWS refused the request because the secret is scheduled for deletion.
pub(crate) fn is_marked_for_deletion<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    let Some(service) = err.as_service_error() else { return false };
    if service.code() != Some("InvalidRequestException") {
        return false;
    }
    let message = service.message().unwrap_or_default().to_ascii_lowercase();
    message.contains("deleted") || message.contains("deletion")
}

/// The hush error for an AWS SDK error.
pub(crate) fn parse_error<E>(err: &SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let service = context.err();
            from_service(service.code(), service.message(), status)
        }
        SdkError::TimeoutError(_) => Error::unavailable("no answer from AWS within request_timeout"),
        SdkError::DispatchFailure(failure) => {
            let chain = sanitise(&DisplayErrorContext(err).to_string());
            if chain.to_ascii_lowercase().contains("credential") {
                Error::new(ErrorKind::Unauthorized, format!("no usable AWS credentials: {chain}"))
            } else if failure.is_timeout() {
                Error::unavailable(format!("no answer from AWS in time: {chain}"))
            } else {
                Error::unavailable(format!("cannot reach AWS Secrets Manager: {chain}"))
            }
        }
        SdkError::ResponseError(context) => {
            let status = context.raw().status().as_u16();
            if status >= 500 || status == 429 {
                from_service(None, None, status)
            } else {
                Error::new(ErrorKind::Internal, format!("AWS's answer did not have the expected shape ({status})"))
            }
        }
        SdkError::ConstructionFailure(_) => {
            let chain = sanitise(&DisplayErrorContext(err).to_string());
            if chain.to_ascii_lowercase().contains("credential") {
                Error::new(ErrorKind::Unauthorized, format!("no usable AWS credentials: {chain}"))
            } else {
                Error::new(ErrorKind::ConfigInvalid, format!("cannot build the request to AWS: {chain}"))
            }
        }
        _ => Error::new(ErrorKind::Internal, "unexpected AWS SDK error"),
    }
}

/// The hush error for an error answer of AWS: its code, message and HTTP status.
pub(crate) fn from_service(code: Option<&str>, message: Option<&str>, status: u16) -> Error {
    let code = code.unwrap_or("");
    let text = message.map(sanitise).unwrap_or_default();
    let said = match (code.is_empty(), text.is_empty()) {
        (true, true) => format!("({status})"),
        (false, true) => format!("({code})"),
        (true, false) => format!("({status}): {text}"),
        (false, false) => format!("({code}): {text}"),
    };
    match code {
        "ResourceNotFoundException" => Error::not_found(format!("AWS has no such secret {said}")),
        "AccessDeniedException" | "AccessDenied" => permission_denied(code, message),
        "DecryptionFailure" | "EncryptionFailure" => {
            Error::new(ErrorKind::PermissionDenied, format!("AWS cannot use the secret's KMS key {said}"))
        }
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "ExpiredTokenException"
        | "MissingAuthenticationToken" => {
            Error::new(ErrorKind::Unauthorized, format!("AWS refused the credentials ({code})"))
        }
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded" => {
            Error::new(ErrorKind::RateLimited, format!("AWS asked to slow down {said}"))
        }
        "InvalidRequestException"
        | "InvalidParameterException"
        | "ValidationException"
        | "InvalidNextTokenException"
        | "MalformedPolicyDocumentException" => Error::invalid_input(format!("AWS refused the request {said}")),
        "ResourceExistsException" => Error::new(ErrorKind::Conflict, format!("the secret exists already {said}")),
        "LimitExceededException" => {
            Error::unavailable(format!("an AWS quota is exhausted {said}")).set_temporary(false)
        }
        "InternalServiceError" | "InternalFailure" | "ServiceUnavailable" => {
            Error::unavailable(format!("AWS answered with an error {said}"))
        }
        _ if status == 429 => Error::new(ErrorKind::RateLimited, format!("AWS asked to slow down {said}")),
        _ if status == 403 => permission_denied(code, message),
        _ if status >= 500 => Error::unavailable(format!("AWS answered with an error {said}")),
        _ => Error::new(ErrorKind::Internal, format!("unexpected answer from AWS {said}")),
    }
}

/// `PermissionDenied`, naming the permissions AWS's message names (`secretsmanager:GetSecretValue`,
/// `kms:Decrypt`) and nothing else of it: the message also names the caller's ARN.
fn permission_denied(code: &str, message: Option<&str>) -> Error {
    let actions = permissions_named(message.unwrap_or_default());
    let code = if code.is_empty() { "403" } else { code };
    if actions.is_empty() {
        Error::new(ErrorKind::PermissionDenied, format!("AWS denied the request ({code})"))
    } else {
        Error::new(
            ErrorKind::PermissionDenied,
            format!("AWS denied the request ({code}): the credentials lack {}", actions.join(", ")),
        )
    }
}

/// The `service:Action` permissions a message names, in order, each once.
pub(crate) fn permissions_named(message: &str) -> Vec<String> {
    let mut actions: Vec<String> = Vec::new();
    for token in message.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '-')) {
        let Some((service, action)) = token.split_once(':') else { continue };
        let service_ok = ["secretsmanager", "kms"].contains(&service);
        let action_ok = !action.is_empty()
            && action.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && action.chars().all(|c| c.is_ascii_alphanumeric());
        if service_ok && action_ok && !actions.iter().any(|a| a == token) {
            actions.push(token.to_owned());
        }
    }
    actions
}

/// AWS's message on one line, without ARNs or request ids, cut to [`MAX_AWS_TEXT`] characters.
pub(crate) fn sanitise(message: &str) -> String {
    let words: Vec<&str> = message
        .split_whitespace()
        .map(|word| {
            let bare = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            if word.contains("arn:") {
                "<arn>"
            } else if looks_like_request_id(bare) {
                "<id>"
            } else {
                word
            }
        })
        .collect();
    let text = words.join(" ");
    if text.chars().count() > MAX_AWS_TEXT {
        let cut: String = text.chars().take(MAX_AWS_TEXT).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// A UUID (`8-4-4-4-12` hex digits), the form of AWS request ids.
fn looks_like_request_id(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DENIED: &str = "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: \
        secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:eu-west-1:123456789012:secret:hush/a \
        because no identity-based policy allows the secretsmanager:GetSecretValue action";

    #[test]
    fn access_denied_names_the_permission_and_no_arn() {
        let e = from_service(Some("AccessDeniedException"), Some(DENIED), 400);
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(!e.is_temporary());
        assert!(e.message().contains("secretsmanager:GetSecretValue"), "{}", e.message());
        assert!(!e.message().contains("123456789012") && !e.message().contains("bob"), "{}", e.message());
        let bare = from_service(Some("AccessDeniedException"), None, 400);
        assert_eq!(bare.kind(), ErrorKind::PermissionDenied);
        assert_eq!(
            permissions_named("lacks kms:Decrypt and secretsmanager:ListSecrets."),
            ["kms:Decrypt", "secretsmanager:ListSecrets"]
        );
    }

    #[test]
    fn kinds_and_temporary_flags() {
        let kind = |code: &str, status: u16| {
            let e = from_service(Some(code).filter(|c| !c.is_empty()), Some("text"), status);
            (e.kind(), e.is_temporary())
        };
        assert_eq!(kind("ResourceNotFoundException", 400), (ErrorKind::NotFound, false));
        assert_eq!(kind("ThrottlingException", 400), (ErrorKind::RateLimited, true));
        assert_eq!(kind("TooManyRequestsException", 400), (ErrorKind::RateLimited, true));
        assert_eq!(kind("", 429), (ErrorKind::RateLimited, true));
        assert_eq!(kind("InternalServiceError", 500), (ErrorKind::Unavailable, true));
        assert_eq!(kind("", 503), (ErrorKind::Unavailable, true));
        assert_eq!(kind("InvalidRequestException", 400), (ErrorKind::InvalidInput, false));
        assert_eq!(kind("InvalidParameterException", 400), (ErrorKind::InvalidInput, false));
        assert_eq!(kind("UnrecognizedClientException", 400), (ErrorKind::Unauthorized, false));
        assert_eq!(kind("", 403), (ErrorKind::PermissionDenied, false));
        assert_eq!(kind("LimitExceededException", 400), (ErrorKind::Unavailable, false));
    }

    #[test]
    fn messages_lose_arns_and_request_ids() {
        let text = sanitise(
            "Secret arn:aws:secretsmanager:r:1:secret:x not found, request 8f14e45f-ceea-467e-a1e1-1a2b3c4d5e6f.",
        );
        assert_eq!(text, "Secret <arn> not found, request <id>");
        assert!(sanitise(&"x".repeat(1000)).len() < 320);
        let e = from_service(Some("InvalidRequestException"), Some("bad\n  thing at arn:aws:iam::1:role/r"), 400);
        assert_eq!(e.message(), "AWS refused the request (InvalidRequestException): bad thing at <arn>");
    }
}
