//! Text normalization shared by vocabulary names and the text they are looked for in, so that
//! one lookup answers "is this name in this text" with word boundaries, any letter case,
//! hyphens or spaces ("non-small cell" = "non small cell") and HTML markup all taken care of.
//!
//! The normalized form is a sequence of tokens, each followed by one space: lower-cased
//! alphanumeric runs, and `|` for a break (sentence or clause punctuation, block markup) that
//! no name may span. A name, normalized the same way, ends with a space, so a match found at
//! a token start always ends at a token end: word boundaries on both sides for free.

/// A normalized text and where each token came from.
#[derive(Debug, Default)]
pub struct Normalized {
    pub text: String,
    /// Byte offset in `text` of each token.
    pub starts: Vec<usize>,
    /// Byte span in the original text of each token.
    pub spans: Vec<(usize, usize)>,
}

pub const BREAK: char = '|';

impl Normalized {
    /// Index of the token starting at byte `pos` of `text` (or the token count at the end).
    pub fn token_at(&self, pos: usize) -> usize {
        self.starts.partition_point(|&s| s < pos)
    }

    pub fn is_break(&self, token: usize) -> bool {
        self.text.as_bytes().get(self.starts[token]) == Some(&(BREAK as u8))
    }
}

fn is_break_punct(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '(' | ')' | '[' | ']' | '{' | '}' | '!' | '?' | '"' | '='
    )
}

/// Block-level tags end a phrase; inline ones (`<i>`, `<sup>`) do not.
fn is_block_tag(tag: &str) -> bool {
    let name: String = tag
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(
        name.as_str(),
        "h1" | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "p"
            | "br"
            | "li"
            | "ul"
            | "ol"
            | "div"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "title"
    )
}

pub fn normalize(input: &str) -> Normalized {
    let mut out = Normalized {
        text: String::with_capacity(input.len() + 8),
        ..Default::default()
    };
    let mut token_start: Option<usize> = None;
    let mut pending_break: Option<(usize, usize)> = None;
    let end_token = |out: &mut Normalized, start: &mut Option<usize>, end: usize| {
        if let Some(s) = start.take() {
            out.spans.push((s, end));
            out.text.push(' ');
        }
    };
    let push_break = |out: &mut Normalized, at: (usize, usize)| {
        // Breaks collapse, and a text never starts with one.
        if out.starts.is_empty() || out.text.ends_with("| ") {
            return;
        }
        out.starts.push(out.text.len());
        out.spans.push(at);
        out.text.push(BREAK);
        out.text.push(' ');
    };
    let bytes = input.as_bytes();
    let mut iter = input.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c.is_alphanumeric() {
            if token_start.is_none() {
                if let Some(b) = pending_break.take() {
                    push_break(&mut out, b);
                }
                token_start = Some(i);
                out.starts.push(out.text.len());
            }
            if c.is_ascii() {
                out.text.push(c.to_ascii_lowercase());
            } else {
                out.text.extend(c.to_lowercase());
            }
            continue;
        }
        end_token(&mut out, &mut token_start, i);
        if c == '<' {
            // Markup: `<tag …>` is skipped; a lone `<` ("p < 0.05") is a break.
            let rest = &input[i + 1..];
            let looks_like_tag = rest
                .chars()
                .next()
                .is_some_and(|n| n.is_ascii_alphabetic() || n == '/');
            if let (true, Some(close)) = (looks_like_tag, rest.find('>')) {
                let tag = &rest[..close];
                if !tag.contains('<') {
                    if is_block_tag(tag) {
                        pending_break.get_or_insert((i, i + 1));
                    }
                    let skip_to = i + 1 + close + 1;
                    while iter.peek().is_some_and(|&(j, _)| j < skip_to) {
                        iter.next();
                    }
                    continue;
                }
            }
            pending_break.get_or_insert((i, i + 1));
        } else if c == '&' {
            // Entities (`&lt;`, `&#946;`) stand for a symbol: a break, like the symbol would be.
            let semi = bytes[i + 1..]
                .iter()
                .take(10)
                .position(|&b| b == b';')
                .filter(|&p| {
                    p > 0
                        && bytes[i + 1..i + 1 + p]
                            .iter()
                            .all(|b| b.is_ascii_alphanumeric() || *b == b'#')
                });
            if let Some(p) = semi {
                let skip_to = i + 1 + p + 1;
                while iter.peek().is_some_and(|&(j, _)| j < skip_to) {
                    iter.next();
                }
            }
            pending_break.get_or_insert((i, i + 1));
        } else if is_break_punct(c) {
            pending_break.get_or_insert((i, i + c.len_utf8()));
        }
        // Anything else (spaces, hyphens, slashes, apostrophes) only separates tokens.
    }
    end_token(&mut out, &mut token_start, input.len());
    // A trailing break helps nothing.
    if out.text.ends_with("| ") {
        out.text.truncate(out.text.len() - 2);
        out.starts.pop();
        out.spans.pop();
    }
    out
}

/// The normalized form of a name (the key the name map holds), `None` when it has no word.
pub fn name_key(name: &str) -> Option<String> {
    let n = normalize(name);
    (!n.starts.is_empty()).then_some(n.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_hyphens_markup_and_marks_breaks() {
        let n =
            normalize("<h4>Background</h4>Non-Small-Cell lung CANCER. <i>E. coli</i> p &lt; 0.05");
        assert_eq!(
            n.text,
            "background | non small cell lung cancer | e | coli p | 0 | 05 "
        );
        let t = n.token_at(n.text.find("cancer").unwrap());
        let (s, e) = n.spans[t];
        assert_eq!(
            &"<h4>Background</h4>Non-Small-Cell lung CANCER."[s..e],
            "CANCER"
        );
        assert!(n.is_break(t + 1));
    }

    #[test]
    fn names_normalize_like_text() {
        assert_eq!(
            name_key("Alzheimer's disease").as_deref(),
            Some("alzheimer s disease ")
        );
        assert_eq!(name_key(" - ").as_deref(), None);
    }
}
