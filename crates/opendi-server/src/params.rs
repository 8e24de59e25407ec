//! Query-string parameters, read leniently but validated: every mistake becomes a 400 with a
//! message naming the parameter (axum's own rejections would answer in plain text).

use crate::AppError;

/// All `key=value` pairs of a query string, in order (repeated keys kept: `filter=…&filter=…`).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Result<Params, AppError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| AppError::BadRequest(format!("unreadable query string: {e}")))?;
        Ok(Params(pairs))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn required(&self, key: &str) -> Result<&str, AppError> {
        self.get(key)
            .ok_or_else(|| AppError::BadRequest(format!("missing parameter {key}")))
    }

    /// An unsigned number in `min..=max`, `default` when absent.
    pub fn number(
        &self,
        key: &str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, AppError> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let n: usize = v.parse().map_err(|_| {
            AppError::BadRequest(format!("parameter {key} must be a whole number, not {v:?}"))
        })?;
        if n < min || n > max {
            return Err(AppError::BadRequest(format!(
                "parameter {key} must be between {min} and {max}"
            )));
        }
        Ok(n)
    }

    /// An on/off switch (`on`/`off`, `true`/`false`, `1`/`0`, `yes`/`no`), `default` when absent.
    pub fn switch(&self, key: &str, default: bool) -> Result<bool, AppError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("on" | "true" | "1" | "yes") => Ok(true),
            Some("off" | "false" | "0" | "no") => Ok(false),
            Some(v) => Err(AppError::BadRequest(format!(
                "parameter {key} must be on or off, not {v:?}"
            ))),
        }
    }

    /// Facet filters `FACET:VALUE` (the value may itself hold colons).
    pub fn filters(&self) -> Result<Vec<(String, String)>, AppError> {
        let known: Vec<&str> = opendi_engine::FACETS.iter().map(|(n, _)| *n).collect();
        self.all("filter")
            .filter(|f| !f.trim().is_empty())
            .map(|f| {
                let (k, v) = f.split_once(':').ok_or_else(|| {
                    AppError::BadRequest(format!("filter {f:?}: expected FACET:VALUE"))
                })?;
                if !known.contains(&k) {
                    return Err(AppError::BadRequest(format!(
                        "filter {f:?}: unknown facet {k:?} (known: {})",
                        known.join(", ")
                    )));
                }
                Ok((k.to_string(), v.to_string()))
            })
            .collect()
    }
}
