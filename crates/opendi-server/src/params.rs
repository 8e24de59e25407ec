//! Query-string parameters, read leniently but validated: every mistake becomes a 400 with a
//! message naming the parameter (axum's own rejections would answer in plain text).

use crate::AppError;

/// Longest search query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 4096;
/// Most words (operators excluded) in a search query.
pub const MAX_QUERY_TERMS: usize = 256;
/// Deepest nesting of parentheses in a search query.
pub const MAX_QUERY_DEPTH: usize = 16;

/// Refuses queries whose size alone makes them expensive (each word becomes a clause per
/// searched field, each nesting level a recursion of the parser): a clear 400 instead of
/// a search that occupies a core. No person types such a query; scripts can page instead.
pub fn check_query(q: &str) -> Result<(), AppError> {
    let chars = q.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!(
            "the query is {chars} characters long; at most {MAX_QUERY_CHARS} are accepted"
        )));
    }
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in q.chars() {
        match c {
            '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_QUERY_DEPTH {
        return Err(AppError::BadRequest(format!(
            "the query nests parentheses {deepest} deep; at most {MAX_QUERY_DEPTH} levels are accepted"
        )));
    }
    let terms = q
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| !w.is_empty() && !matches!(*w, "AND" | "OR" | "NOT" | "&&" | "||"))
        .count();
    if terms > MAX_QUERY_TERMS {
        return Err(AppError::BadRequest(format!(
            "the query has {terms} words; at most {MAX_QUERY_TERMS} are accepted"
        )));
    }
    Ok(())
}

/// All `key=value` pairs of a query string, in order (repeated keys kept: `filter=…&filter=…`).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Reads a query string; a search query (`q` or `query`) over the limits below is
    /// refused here, so every endpoint that searches refuses it alike.
    pub fn parse(raw: Option<&str>) -> Result<Params, AppError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| AppError::BadRequest(format!("unreadable query string: {e}")))?;
        for (k, v) in &pairs {
            if k == "q" || k == "query" {
                check_query(v)?;
            }
        }
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
