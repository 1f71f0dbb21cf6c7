//! The one check of a vendor's base URL in config (`api_url`, `address`, `url`).

/// What is wrong with `url` as a vendor's base URL, if anything: it must be
/// `http(s)://host[:port][/path]`, without user info, query, fragment or white space. The
/// message never repeats the URL (user info could hold a password); `example` shows a good one.
pub fn base_url_problem(url: &str, example: &str) -> Option<String> {
    if url.is_empty() {
        return Some(format!("is required, e.g. {example}"));
    }
    let shape = format!("must be http(s)://host[:port][/path] without user info, query or fragment, e.g. {example}");
    let Ok(parsed) = reqwest::Url::parse(url) else { return Some(shape) };
    let fine = matches!(parsed.scheme(), "http" | "https")
        && parsed.host_str().is_some_and(|h| !h.is_empty())
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.query().is_none()
        && parsed.fragment().is_none()
        && !url.contains(char::is_whitespace)
        // The parser reads `http:///x` as host `x`; such a URL is a typo.
        && url.split_once("://").is_some_and(|(_, rest)| !rest.starts_with('/'));
    (!fine).then_some(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        for good in ["https://api.doppler.com", "http://127.0.0.1:8080", "https://h/api/esc", "https://h:9200/"] {
            assert_eq!(base_url_problem(good, "e"), None, "{good}");
        }
        assert_eq!(base_url_problem("", "https://x").as_deref(), Some("is required, e.g. https://x"));
        for bad in
            ["api.doppler.com", "ftp://h", "http://", "http:///x", "https://h?q=1", "https://h#f", "https://h /x"]
        {
            assert!(base_url_problem(bad, "e").is_some(), "{bad}");
        }
        let with_password = base_url_problem("https://user:SEKRIT@h", "e").unwrap();
        assert!(!with_password.contains("SEKRIT"), "{with_password}");
    }
}
