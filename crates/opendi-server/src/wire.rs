//! Small helpers shared by the machine-readable ways out (OAI-PMH, sitemaps, Atom, CSV, JSONL,
//! cursors): XML text escaping, UTC timestamps, opaque tokens and streamed bodies.

use crate::AppError;
use axum::body::{Body, Bytes};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Escapes text for XML content and attribute values, and drops the characters XML 1.0
/// cannot carry at all (most C0 controls, lone surrogates cannot occur in `str`, U+FFFE/F):
/// source records do contain stray control characters, and one would make the whole
/// document unparseable for a harvester.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Unix seconds as `YYYY-MM-DDThh:mm:ssZ` (OAI-PMH's fine granularity, Atom's date-time,
/// the W3C datetime of sitemaps).
pub fn utc(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A UTC datestamp in either OAI-PMH granularity: `YYYY-MM-DD` (then `end_of_day` picks the
/// day's first or last second) or `YYYY-MM-DDThh:mm:ssZ`. Returns the seconds and whether the
/// value had the fine (seconds) granularity.
pub fn parse_utc(s: &str, end_of_day: bool) -> Option<(i64, bool)> {
    if s.len() == 10 {
        let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        let t = if end_of_day {
            d.and_hms_opt(23, 59, 59)?
        } else {
            d.and_hms_opt(0, 0, 0)?
        };
        return Some((t.and_utc().timestamp(), false));
    }
    if s.len() == 20 && s.ends_with('Z') {
        let t = chrono::NaiveDateTime::parse_from_str(&s[..19], "%Y-%m-%dT%H:%M:%S").ok()?;
        return Some((t.and_utc().timestamp(), true));
    }
    None
}

/// Encodes a token for URLs: lower-case hex of the bytes. Opaque to clients on purpose (they
/// must not build or edit tokens), and needs no escaping in a query string.
pub fn to_token(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Decodes [`to_token`]; None for anything it did not produce.
pub fn from_token(t: &str) -> Option<String> {
    if !t.len().is_multiple_of(2) || t.len() > 8192 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// A response body fed by a producer on the blocking pool, one chunk at a time: exports of
/// every matching record never sit in memory whole, and a client that hangs up stops the
/// producer at its next send.
struct ChannelStream(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for ChannelStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Where a streaming producer writes. Buffers small writes into chunks of about 64 KiB.
pub struct Sink {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

/// The client went away; the producer should stop.
#[derive(Debug)]
pub struct Gone;

/// Why a streaming producer stopped early.
#[derive(Debug)]
pub enum Stop {
    /// The client hung up: nothing to report.
    Gone,
    /// The engine failed mid-stream.
    Failed(AppError),
}

impl From<Gone> for Stop {
    fn from(_: Gone) -> Self {
        Stop::Gone
    }
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Self {
        Stop::Failed(e)
    }
}

impl From<opendi_engine::EngineError> for Stop {
    fn from(e: opendi_engine::EngineError) -> Self {
        Stop::Failed(e.into())
    }
}

impl From<serde_json::Error> for Stop {
    fn from(e: serde_json::Error) -> Self {
        Stop::Failed(e.into())
    }
}

impl Sink {
    pub fn write(&mut self, s: &str) -> Result<(), Gone> {
        self.buf.extend_from_slice(s.as_bytes());
        if self.buf.len() >= 64 << 10 {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), Gone> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| Gone)
    }
}

/// Runs `produce` on the blocking pool with the engine and a [`Sink`], and returns the body
/// that streams what it writes. An engine error after the first bytes went out can only end
/// the stream early (the status is already sent): it is logged and the body is cut, so the
/// client sees a truncated transfer rather than a silently short file.
pub fn stream_body<F>(state: &crate::AppState, produce: F) -> Body
where
    F: FnOnce(&opendi_engine::Engine, &mut Sink) -> Result<(), Stop> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = Sink {
            tx: tx.clone(),
            buf: Vec::new(),
        };
        let result = produce(&engine, &mut sink);
        match result {
            Ok(()) => {
                let _ = sink.flush();
            }
            Err(Stop::Gone) => {}
            Err(Stop::Failed(e)) => {
                tracing::error!(error = ?e, "export stream failed");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    Body::from_stream(ChannelStream(rx))
}

/// Quotes one CSV field (RFC 4180): fields holding a comma, quote or line break are quoted
/// with inner quotes doubled. Cells that a spreadsheet would run as a formula (leading `=`,
/// `+`, `-`, `@`) get a leading apostrophe, the usual defence against CSV injection.
pub fn csv_field(s: &str) -> String {
    let mut v: String = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect();
    if v.starts_with(['=', '+', '-', '@']) {
        v.insert(0, '\'');
    }
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_and_drops_invalid_characters() {
        assert_eq!(
            xml("a<b>&\"c'\u{1}\u{b}d\n"),
            "a&lt;b&gt;&amp;&quot;c&apos;d\n"
        );
    }

    #[test]
    fn utc_round_trips_both_granularities() {
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            parse_utc("2023-11-14T22:13:20Z", false),
            Some((1_700_000_000, true))
        );
        assert_eq!(parse_utc("2023-11-14", false), Some((1_699_920_000, false)));
        assert_eq!(parse_utc("2023-11-14", true), Some((1_700_006_399, false)));
        for bad in [
            "2023-11-14T22:13:20",
            "2023-13-01",
            "yesterday",
            "2023-11-14T25:00:00Z",
        ] {
            assert_eq!(parse_utc(bad, false), None, "{bad}");
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let t = to_token("oai_dc!pride!!!42");
        assert_eq!(from_token(&t).as_deref(), Some("oai_dc!pride!!!42"));
        assert_eq!(from_token("zz"), None);
        assert_eq!(from_token("abc"), None);
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("bell\u{7}"), "bell");
    }
}
