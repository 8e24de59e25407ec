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
    // English runs about one word in six or seven bytes: room for most texts' tokens at once
    // (grown a push at a time, the two lists were a fifth of normalizing a PubMed abstract).
    let tokens = input.len() / 5 + 4;
    let mut out = Normalized {
        text: String::with_capacity(input.len() + 8),
        starts: Vec::with_capacity(tokens),
        spans: Vec::with_capacity(tokens),
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
    // `i` is always at a character boundary.
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let c = if b.is_ascii() {
            char::from(b)
        } else {
            input[i..]
                .chars()
                .next()
                .unwrap_or(char::REPLACEMENT_CHARACTER)
        };
        let len = c.len_utf8();
        if c.is_alphanumeric() {
            if token_start.is_none() {
                if let Some(b) = pending_break.take() {
                    push_break(&mut out, b);
                }
                token_start = Some(i);
                out.starts.push(out.text.len());
            }
            if b.is_ascii() {
                // A run of ASCII letters and digits at once (most text): one copy, lower-cased
                // in place, instead of a push per character.
                let run = bytes[i..]
                    .iter()
                    .position(|b| !b.is_ascii_alphanumeric())
                    .unwrap_or(bytes.len() - i);
                let from = out.text.len();
                out.text.push_str(&input[i..i + run]);
                out.text[from..].make_ascii_lowercase();
                i += run;
            } else {
                out.text.extend(c.to_lowercase());
                i += len;
            }
            continue;
        }
        end_token(&mut out, &mut token_start, i);
        let mut next = i + len;
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
                    i += 1 + close + 1;
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
                next = i + 1 + p + 1;
            }
            pending_break.get_or_insert((i, i + 1));
        } else if is_break_punct(c) {
            pending_break.get_or_insert((i, i + len));
        }
        // Anything else (spaces, hyphens, slashes, apostrophes) only separates tokens.
        i = next;
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
    fn tokens_mix_ascii_runs_and_other_letters() {
        let input = "Größe: CD4+T-Zellen<br>naïve α2β1 p<0.05 &amp; x&#946;y";
        let n = normalize(input);
        assert_eq!(
            n.text,
            "größe | cd4 t zellen | naïve α2β1 p | 0 | 05 | x | y "
        );
        for word in ["Größe", "naïve", "α2β1", "Zellen"] {
            let at = input.find(word).unwrap();
            let t = n.token_at(n.text.find(&word.to_lowercase()).unwrap());
            assert_eq!(n.spans[t], (at, at + word.len()), "{word}");
        }
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
