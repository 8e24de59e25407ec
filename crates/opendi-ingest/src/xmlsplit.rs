//! Streaming record splitter for XML dumps.
//!
//! Real dumps are large and sometimes broken. Rather than drive one XML parser through a
//! whole file (where the first syntax error ends everything), the splitter cuts the byte
//! stream into record chunks (`<entry …>…</entry>`, `<PubmedArticle>…</PubmedArticle>`) and
//! each chunk is parsed on its own. A broken record then costs only itself, memory stays
//! bounded by the largest record, and every chunk knows its line.
//!
//! Limitation: a record's closing tag inside a comment or CDATA section of that record would
//! end the chunk early; the chunk then fails to parse and is reported, which is the
//! behaviour we want for input that odd.

use memchr::memmem;
use std::io::BufRead;

/// One piece of the stream.
#[derive(Debug)]
pub enum Chunk {
    /// Everything before the first record (the XML declaration, `<database><name>…`).
    Header { text: Vec<u8> },
    /// One record element, start tag to end tag inclusive.
    Record {
        /// Index into the names the splitter was built with.
        kind: usize,
        text: Vec<u8>,
        /// 1-based line of the record's start tag.
        line: u64,
        /// False when the input ended before the record's end tag.
        complete: bool,
    },
    /// A record larger than the limit: skipped, reported with its line.
    TooLarge { kind: usize, line: u64, bytes: u64 },
}

/// The largest record the splitter hands over (64 MiB): real records are kilobytes, and a
/// record costs several times its size in memory while it is parsed.
pub const MAX_RECORD: usize = 64 << 20;

pub struct RecordSplitter<R> {
    reader: R,
    starts: Vec<Vec<u8>>,
    ends: Vec<Vec<u8>>,
    buf: Vec<u8>,
    /// Bytes of `buf` before `pos` are consumed; dropping them is deferred so that taking a
    /// record does not move the rest of the buffer.
    pos: usize,
    /// Per start pattern: no match starts before this index of `buf` (a search memo, so each
    /// byte is scanned once per pattern however many records the buffer holds).
    clean_to: Vec<usize>,
    /// Line number of `buf[pos]`.
    line: u64,
    eof: bool,
    header_done: bool,
    header: Vec<u8>,
    max_record: usize,
}

const READ_BLOCK: usize = 256 * 1024;
/// Headers are kept only up to this size; a dump's prologue is small.
const MAX_HEADER: usize = 64 * 1024;

fn count_lines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

fn is_name_end(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
}

impl<R: BufRead> RecordSplitter<R> {
    /// Splits at elements named any of `names` (exact, case-sensitive local names).
    pub fn new(reader: R, names: &[&str]) -> Self {
        RecordSplitter {
            reader,
            starts: names.iter().map(|n| format!("<{n}").into_bytes()).collect(),
            ends: names
                .iter()
                .map(|n| format!("</{n}").into_bytes())
                .collect(),
            buf: Vec::new(),
            pos: 0,
            clean_to: vec![0; names.len()],
            line: 1,
            eof: false,
            header_done: false,
            header: Vec::new(),
            max_record: MAX_RECORD,
        }
    }

    /// Records larger than this many bytes are skipped and reported instead of held in memory.
    pub fn with_max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes;
        self
    }

    fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            for c in &mut self.clean_to {
                *c = c.saturating_sub(self.pos);
            }
            self.pos = 0;
        }
        let mut got = 0;
        while got < READ_BLOCK {
            let avail = self.reader.fill_buf()?;
            if avail.is_empty() {
                self.eof = true;
                break;
            }
            let n = avail.len().min(READ_BLOCK - got);
            self.buf.extend_from_slice(&avail[..n]);
            self.reader.consume(n);
            got += n;
        }
        Ok(got > 0)
    }

    /// Drops `n` bytes from the front of the buffer, advancing the line count.
    fn drop_front(&mut self, n: usize, keep_header: bool) {
        let p = self.pos;
        if keep_header && !self.header_done && self.header.len() < MAX_HEADER {
            let take = n.min(MAX_HEADER - self.header.len());
            self.header.extend_from_slice(&self.buf[p..p + take]);
        }
        self.line += count_lines(&self.buf[p..p + n]);
        self.pos += n;
    }

    /// The unconsumed part of the buffer.
    fn rest(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Finds the earliest record start tag in the unconsumed buffer: (offset from `pos`, kind).
    fn find_start(&mut self) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for kind in 0..self.starts.len() {
            let pat = &self.starts[kind];
            let mut at = self.clean_to[kind].max(self.pos);
            let found = loop {
                match memmem::find(&self.buf[at..], pat) {
                    Some(p) => {
                        let abs = at + p;
                        match self.buf.get(abs + pat.len()) {
                            Some(&b) if is_name_end(b) => break Some(abs),
                            Some(_) => at = abs + 1,
                            // The name may continue in bytes not yet read: "maybe here".
                            None => break Some(abs),
                        }
                    }
                    None => break None,
                }
            };
            match found {
                Some(abs) => {
                    self.clean_to[kind] = abs;
                    if best.is_none_or(|(bp, _)| abs - self.pos < bp) {
                        best = Some((abs - self.pos, kind));
                    }
                }
                None => self.clean_to[kind] = self.buf.len().saturating_sub(pat.len()),
            }
        }
        best
    }

    /// From a record start at 0, finds the end of the record: Some(len) or None if more input is needed.
    fn find_end(&self, kind: usize) -> Option<usize> {
        let start = &self.starts[kind];
        let end = &self.ends[kind];
        let buf = self.rest();
        // Self-closing start tag?
        let gt = memchr::memchr(b'>', buf)?;
        if gt > 0 && buf[gt - 1] == b'/' {
            return Some(gt + 1);
        }
        let mut depth = 1usize;
        let mut at = gt + 1;
        loop {
            let next_end = memmem::find(&buf[at..], end).map(|p| p + at);
            let e = next_end?;
            // Nested element of the same name before this end tag?
            let mut s_at = at;
            while let Some(p) = memmem::find(&buf[s_at..e], start) {
                let pos = s_at + p;
                if buf.get(pos + start.len()).is_some_and(|&b| is_name_end(b)) {
                    let self_closing =
                        memchr::memchr(b'>', &buf[pos..]).is_some_and(|g| buf[pos + g - 1] == b'/');
                    if !self_closing {
                        depth += 1;
                    }
                }
                s_at = pos + 1;
            }
            let close = memchr::memchr(b'>', &buf[e..])? + e;
            let name_tail = &buf[e + end.len()..close];
            if !name_tail.iter().all(|b| b.is_ascii_whitespace()) {
                // `</entryfoo>` or a broken end tag: keep looking past it.
                at = e + 1;
                continue;
            }
            depth -= 1;
            if depth == 0 {
                return Some(close + 1);
            }
            at = close + 1;
        }
    }

    /// The next chunk, or None at the end of input.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        loop {
            // Outside a record: look for the next start tag.
            match self.find_start() {
                Some((at, kind))
                    if at + self.starts[kind].len() < self.rest().len() || self.eof =>
                {
                    self.drop_front(at, true);
                    if !self.header_done {
                        self.header_done = true;
                        return Ok(Some(Chunk::Header {
                            text: std::mem::take(&mut self.header),
                        }));
                    }
                    return self.take_record(kind).map(Some);
                }
                Some(_) => {
                    self.fill()?;
                }
                None => {
                    // Keep a tail that could hold the beginning of a start tag.
                    let longest = self.starts.iter().map(Vec::len).max().unwrap_or(0);
                    let cut = self.rest().len().saturating_sub(longest);
                    self.drop_front(cut, true);
                    if !self.fill()? {
                        let tail = self.rest().len();
                        if !self.header_done {
                            self.header_done = true;
                            let mut text = std::mem::take(&mut self.header);
                            text.extend_from_slice(self.rest());
                            self.drop_front(tail, false);
                            return Ok(Some(Chunk::Header { text }));
                        }
                        self.drop_front(tail, false);
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn take_record(&mut self, kind: usize) -> std::io::Result<Chunk> {
        let line = self.line;
        // Bytes of the record known to hold no end tag: rescanning them after every read would
        // make large records quadratic.
        let mut clean = 0usize;
        loop {
            if let Some(gt) = memchr::memchr(b'>', self.rest()) {
                if gt > 0 && self.rest()[gt - 1] == b'/' {
                    let text: Vec<u8> = self.rest()[..=gt].to_vec();
                    self.drop_front(gt + 1, false);
                    return Ok(Chunk::Record {
                        kind,
                        text,
                        line,
                        complete: true,
                    });
                }
            }
            let from = clean.saturating_sub(self.ends[kind].len());
            if memmem::find(&self.rest()[from..], &self.ends[kind]).is_some() {
                if let Some(len) = self.find_end(kind) {
                    if len > self.max_record {
                        // Whole in the buffer already, but over the limit all the same.
                        self.drop_front(len, false);
                        return Ok(Chunk::TooLarge {
                            kind,
                            line,
                            bytes: len as u64,
                        });
                    }
                    let text: Vec<u8> = self.rest()[..len].to_vec();
                    self.drop_front(len, false);
                    return Ok(Chunk::Record {
                        kind,
                        text,
                        line,
                        complete: true,
                    });
                }
            } else {
                clean = self.rest().len();
            }
            if self.rest().len() > self.max_record {
                return self.skip_record(kind, line);
            }
            let before = self.pos;
            if !self.fill()? {
                let text = self.rest().to_vec();
                self.drop_front(text.len(), false);
                return Ok(Chunk::Record {
                    kind,
                    text,
                    line,
                    complete: false,
                });
            }
            // `fill` compacts the buffer; `clean` is relative to the record start, so it holds.
            debug_assert!(self.pos == 0 || self.pos == before);
        }
    }

    /// Skips to the end tag of an oversized record without holding it.
    fn skip_record(&mut self, kind: usize, line: u64) -> std::io::Result<Chunk> {
        let end = self.ends[kind].clone();
        let mut skipped = 0u64;
        loop {
            if let Some(p) = memmem::find(self.rest(), &end) {
                if let Some(g) = memchr::memchr(b'>', &self.rest()[p..]) {
                    skipped += (p + g + 1) as u64;
                    self.drop_front(p + g + 1, false);
                    return Ok(Chunk::TooLarge {
                        kind,
                        line,
                        bytes: skipped,
                    });
                }
            }
            let cut = self.rest().len().saturating_sub(end.len());
            skipped += cut as u64;
            self.drop_front(cut, false);
            if !self.fill()? {
                let n = self.rest().len();
                skipped += n as u64;
                self.drop_front(n, false);
                return Ok(Chunk::TooLarge {
                    kind,
                    line,
                    bytes: skipped,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &str, names: &[&str]) -> Vec<String> {
        let mut s = RecordSplitter::new(input.as_bytes(), names);
        let mut out = vec![];
        while let Some(c) = s.next_chunk().unwrap() {
            out.push(match c {
                Chunk::Header { text } => format!("H:{}", String::from_utf8_lossy(&text)),
                Chunk::Record {
                    kind,
                    text,
                    line,
                    complete,
                } => {
                    format!(
                        "R{kind}@{line}{}:{}",
                        if complete { "" } else { "!" },
                        String::from_utf8_lossy(&text)
                    )
                }
                Chunk::TooLarge { line, bytes, .. } => format!("L@{line}:{bytes}"),
            });
        }
        out
    }

    #[test]
    fn splits_records_with_lines() {
        let x = "<db>\n<entries>\n<entry id=\"a\"><name>x</name></entry>\n<entry id=\"b\">\n</entry></entries></db>";
        assert_eq!(
            split(x, &["entry"]),
            vec![
                "H:<db>\n<entries>\n",
                "R0@3:<entry id=\"a\"><name>x</name></entry>",
                "R0@4:<entry id=\"b\">\n</entry>"
            ]
        );
    }

    #[test]
    fn nested_and_self_closing() {
        let x = "<a><r><r/><r>in</r></r><r/></a>";
        assert_eq!(
            split(x, &["r"]),
            vec!["H:<a>", "R0@1:<r><r/><r>in</r></r>", "R0@1:<r/>"]
        );
    }

    #[test]
    fn truncated_record() {
        let x = "<a><r>one</r><r>two";
        assert_eq!(
            split(x, &["r"]),
            vec!["H:<a>", "R0@1:<r>one</r>", "R0@1!:<r>two"]
        );
    }

    #[test]
    fn several_kinds() {
        let x = "<s><P>1</P><D>2</D><P>3</P></s>";
        assert_eq!(
            split(x, &["P", "D"]),
            vec!["H:<s>", "R0@1:<P>1</P>", "R1@1:<D>2</D>", "R0@1:<P>3</P>"]
        );
    }

    #[test]
    fn no_records() {
        assert_eq!(split("<a>nothing</a>", &["r"]), vec!["H:<a>nothing</a>"]);
    }

    #[test]
    fn too_large() {
        let x = format!("<a><r>{}</r><r>ok</r></a>", "x".repeat(600_000));
        let mut s = RecordSplitter::new(x.as_bytes(), &["r"]).with_max_record(100_000);
        let mut kinds = vec![];
        while let Some(c) = s.next_chunk().unwrap() {
            kinds.push(match c {
                Chunk::Header { .. } => "H".to_string(),
                Chunk::Record { text, .. } => String::from_utf8(text).unwrap(),
                Chunk::TooLarge { bytes, .. } => format!("L{bytes}"),
            });
        }
        assert_eq!(
            kinds,
            vec![
                "H".to_string(),
                "L600007".to_string(),
                "<r>ok</r>".to_string()
            ]
        );
    }

    #[test]
    fn back_to_back_records_with_inner_lookalikes() {
        let body: String = (0..3000)
            .map(|i| {
                format!(
                    "<r><r>{}</r><id>{i}</id></r>{}",
                    "z".repeat((i * 37) % 900),
                    if i % 3 == 0 { "\n" } else { "" }
                )
            })
            .collect();
        let x = format!("<a>\n{body}</a>");
        let out = split(&x, &["r"]);
        assert_eq!(out.len(), 3001);
        for (i, o) in out[1..].iter().enumerate() {
            assert!(
                o.contains(&format!("<id>{i}</id>")),
                "{i}: {}",
                &o[..o.len().min(80)]
            );
        }
    }

    #[test]
    fn records_straddle_read_blocks() {
        let body: String = (0..5000)
            .map(|i| format!("<r id=\"{i}\">{}</r>\n", "y".repeat(i % 300)))
            .collect();
        let x = format!("<a>\n{body}</a>");
        let out = split(&x, &["r"]);
        assert_eq!(out.len(), 5001);
        assert!(out[4999].starts_with("R0@5000:<r id=\"4998\">"));
    }
}
