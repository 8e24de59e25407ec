//! Recognising a format from the first bytes of its content (after decompression), with the
//! file name only as a tie-breaker. Each format has one `sniff` function here.

use crate::FormatSpec;

/// What a format's sniffer says about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    No,
    Yes,
    /// A component that is read through another file of its bundle (an ISA study file, a
    /// MAGE-TAB SDRF): not an input of its own.
    Part,
}

/// How many leading bytes the sniffers see.
pub const HEAD_LEN: usize = 16 * 1024;

/// The first format whose sniffer says `Yes` (or `Part`) for this content.
pub fn detect(name: &str, head: &[u8]) -> Option<(&'static FormatSpec, Sniff)> {
    crate::FORMATS
        .iter()
        .find_map(|f| match (f.sniff)(name, head) {
            Sniff::No => None,
            s => Some((f, s)),
        })
}

/// The head as text without a BOM, for sniffers that look at markup.
pub(crate) fn head_text(head: &[u8]) -> std::borrow::Cow<'_, str> {
    let h = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    String::from_utf8_lossy(h)
}

/// The name of the first element of an XML head, skipping the declaration, comments and DOCTYPE.
pub(crate) fn xml_root(head: &[u8]) -> Option<String> {
    let text = head_text(head);
    let mut rest = text.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("<?") {
            rest = r.split_once("?>")?.1.trim_start();
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.split_once("-->")?.1.trim_start();
        } else if let Some(r) = rest.strip_prefix("<!") {
            // DOCTYPE, possibly with an internal subset. Only a `[` inside the declaration
            // opens a subset: one later in the document (article text) must not count.
            let gt = r.find('>')?;
            let end = match r.find('[') {
                Some(i) if i < gt => r[i..].find("]>").map(|j| i + j + 2)?,
                _ => gt + 1,
            };
            rest = r[end..].trim_start();
        } else if let Some(r) = rest.strip_prefix('<') {
            let name: String = r
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            return Some(name.rsplit(':').next().unwrap_or(&name).to_string());
        } else {
            return None;
        }
    }
}

pub(crate) fn omicsdi(_name: &str, head: &[u8]) -> Sniff {
    match xml_root(head).as_deref() {
        Some("database")
            if head_text(head).contains("<entr") || head_text(head).contains("<name") =>
        {
            Sniff::Yes
        }
        _ => Sniff::No,
    }
}

pub(crate) fn pubmed(_name: &str, head: &[u8]) -> Sniff {
    match xml_root(head).as_deref() {
        Some("PubmedArticleSet" | "PubmedArticle" | "PubmedBookArticle") => Sniff::Yes,
        _ => Sniff::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots() {
        assert_eq!(
            xml_root(b"\xEF\xBB\xBF<?xml version='1.0'?>\n<!-- c -->\n<database>").as_deref(),
            Some("database")
        );
        assert_eq!(
            xml_root(b"<!DOCTYPE PubmedArticleSet PUBLIC \"x\" \"y\">\n<PubmedArticleSet>")
                .as_deref(),
            Some("PubmedArticleSet")
        );
        assert_eq!(
            xml_root(b"<!DOCTYPE a [<!ENTITY x \"y\">]><a/>").as_deref(),
            Some("a")
        );
        assert_eq!(
            xml_root(b"<!DOCTYPE article PUBLIC \"x\" \"y\">\n<article><p>[1]</p>").as_deref(),
            Some("article")
        );
        assert_eq!(xml_root(b"{\"a\": 1}"), None);
    }

    #[test]
    fn detects_core_formats() {
        assert_eq!(
            detect("x", b"<database><name>PRIDE</name><entries>").map(|(f, _)| f.name),
            Some("omicsdi-xml")
        );
        assert_eq!(
            detect("x", b"<?xml version=\"1.0\"?><PubmedArticleSet>").map(|(f, _)| f.name),
            Some("pubmed-xml")
        );
        assert!(detect("x", b"hello").is_none());
    }
}
