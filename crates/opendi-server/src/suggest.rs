//! `GET /api/v1/suggest?q=…`: completions for the search box. The browser's script sends the
//! whole text of the box; the last word is completed, what comes before it is kept, so each
//! suggestion carries the full query it would make.

use crate::params::Params;
use crate::{AppError, AppState};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Most suggestions one request may ask for.
const MAX_SIZE: usize = 20;

#[derive(Serialize)]
pub struct SuggestResponse {
    pub query: String,
    pub suggestions: Vec<SuggestionDto>,
}

#[derive(Serialize)]
pub struct SuggestionDto {
    /// The whole query the suggestion makes (the text typed before the last word, then it).
    pub value: String,
    /// The completed word or value.
    pub text: String,
    /// `term`, `accession`, or the facet the value comes from (`organism`, `disease` …).
    pub kind: String,
    /// Datasets carrying it (an estimate: deleted records count until merged away).
    pub count: u64,
}

/// Splits `q` into what is kept and the word being typed (empty when `q` ends in a space).
fn split_last_word(q: &str) -> (&str, &str) {
    let cut = q
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace() || *c == '"' || *c == '(' || *c == ':')
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    q.split_at(cut)
}

pub async fn suggest(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref())?;
    let q = p
        .all("q")
        .next()
        .unwrap_or("")
        .trim_start()
        .chars()
        .take(200)
        .collect::<String>();
    let size = p.number("size", 8, 1, MAX_SIZE)?;
    let (before, word) = split_last_word(&q);
    let (before, word) = (before.to_string(), word.to_string());
    let found = if word.chars().count() >= 2 {
        state.blocking(move |e| Ok(e.suggest(&word, size)?)).await?
    } else {
        vec![]
    };
    // Inside a phrase the user opened, the completion closes it.
    let in_phrase = before.matches('"').count() % 2 == 1;
    let suggestions = found
        .into_iter()
        .map(|s| {
            // A value of several words becomes a phrase, unless the user opened one already.
            let value = if in_phrase {
                format!("{before}{}\"", s.text)
            } else if s.text.contains(' ') {
                format!("{before}\"{}\"", s.text)
            } else {
                format!("{before}{}", s.text)
            };
            SuggestionDto {
                value,
                text: s.text,
                kind: s.kind,
                count: s.count,
            }
        })
        .collect();
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Json(SuggestResponse {
            query: q,
            suggestions,
        }),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::split_last_word;

    #[test]
    fn splits_the_word_being_typed() {
        assert_eq!(split_last_word("breast canc"), ("breast ", "canc"));
        assert_eq!(split_last_word("liver "), ("liver ", ""));
        assert_eq!(split_last_word("organism:hom"), ("organism:", "hom"));
        assert_eq!(split_last_word("anem"), ("", "anem"));
        assert_eq!(split_last_word("\"homo sa"), ("\"homo ", "sa"));
    }
}
