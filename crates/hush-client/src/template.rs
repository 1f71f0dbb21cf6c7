//! Templates with a `secret()` function: `postgres://app:{{ secret("DB_PASSWORD") }}@db/app`.
//!
//! Rendering takes two passes so that a template costs one round trip: the first pass records
//! every `secret(name)` / `secret(name, path)` call, all are fetched in one request, and the
//! second pass renders with the values. A call reached only in the second pass (a branch that
//! depends on a secret's value) is an error naming it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hush_core::{Error, Result, SecretValue};
use minijinja::{Environment, Value};
use zeroize::Zeroizing;

use crate::session::{SecretRequest, Session};

type Key = (String, Option<String>);

fn template_error(e: minijinja::Error) -> Error {
    Error::invalid_input(format!("template: {e}"))
}

/// An environment whose `secret()` calls `lookup`. Autoescaping is off: secrets are rendered
/// as they are.
fn environment<F>(lookup: F) -> Environment<'static>
where
    F: Fn(String, Option<String>) -> std::result::Result<Value, minijinja::Error> + Send + Sync + 'static,
{
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_function("secret", move |name: String, path: Option<String>| lookup(name, path));
    env
}

impl Session {
    /// Renders `template`, resolving every `secret()` call it makes in one round trip.
    /// The result holds secrets: it is a [`SecretValue`], wiped when dropped.
    pub async fn render(&self, template: &str) -> Result<SecretValue> {
        let wanted: Arc<Mutex<Vec<Key>>> = Arc::default();
        let record = wanted.clone();
        let first = environment(move |name, path| {
            record.lock().unwrap_or_else(|p| p.into_inner()).push((name, path));
            Ok(Value::from(""))
        });
        first.render_str(template, ()).map_err(template_error)?;
        let mut wanted = std::mem::take(&mut *wanted.lock().unwrap_or_else(|p| p.into_inner()));
        wanted.sort();
        wanted.dedup();

        let requests: Vec<SecretRequest> = wanted
            .iter()
            .map(|(name, path)| SecretRequest { name: name.clone(), path: path.clone(), version: None })
            .collect();
        let values = self.secrets(requests).await?;
        let mut resolved: HashMap<Key, Zeroizing<String>> = HashMap::with_capacity(values.len());
        for (key, value) in wanted.into_iter().zip(values) {
            let text = value.expose_str().ok_or_else(|| {
                Error::invalid_input(format!("secret {} is not UTF-8 text and cannot be put in a template", key.0))
            })?;
            resolved.insert(key, Zeroizing::new(text.to_owned()));
        }
        let resolved = Arc::new(resolved);
        let second = environment(move |name, path| {
            let key = (name, path);
            resolved.get(&key).map(|v| Value::from(v.as_str())).ok_or_else(|| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("secret {:?} is only reached through a branch on another secret", key.0),
                )
            })
        });
        let rendered = second.render_str(template, ()).map_err(template_error)?;
        Ok(SecretValue::new(rendered.into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_core::ErrorKind;

    #[test]
    fn first_pass_records_calls_with_and_without_paths() {
        let wanted: Arc<Mutex<Vec<Key>>> = Arc::default();
        let record = wanted.clone();
        let env = environment(move |name, path| {
            record.lock().unwrap().push((name, path));
            Ok(Value::from(""))
        });
        env.render_str(r#"a={{ secret("A") }} b={{ secret("B", "x.y") }}"#, ()).unwrap();
        assert_eq!(*wanted.lock().unwrap(), [("A".to_owned(), None), ("B".to_owned(), Some("x.y".to_owned()))]);
    }

    #[test]
    fn syntax_errors_are_invalid_input() {
        let env = environment(|_, _| Ok(Value::from("")));
        let e = env.render_str("{{ secret(", ()).map_err(template_error).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().starts_with("template:"), "{}", e.message());
    }
}
