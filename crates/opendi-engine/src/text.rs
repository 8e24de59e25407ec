//! Text helpers for indexing and display: tag stripping, organism labels.

use opendi_model::{Organism, COMMON_TAXA};

/// Removes markup from rich text (`<h4>Background</h4>Defects…`) and decodes the common
/// entities, leaving words separated by spaces. For indexing and snippets, not rendering.
pub fn strip_tags(s: &str) -> String {
    if !s.contains('<') && !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    if out.contains('&') {
        out = out
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&nbsp;", " ")
            .replace("&amp;", "&");
    }
    out
}

/// The facet label of an organism: its scientific name without the source's decorations
/// (`Homo sapiens (Human)` -> `Homo sapiens`), or the name a known taxon id stands for.
pub fn organism_label(o: &Organism) -> String {
    let name = o.name.trim();
    if !name.is_empty() {
        let base = match name.find(" (") {
            Some(i) if name.ends_with(')') => &name[..i],
            _ => name,
        };
        if let Some((_, sci, _)) = COMMON_TAXA.iter().find(|(_, sci, common)| {
            sci.eq_ignore_ascii_case(base) || common.eq_ignore_ascii_case(base)
        }) {
            return sci.to_string();
        }
        return base.to_string();
    }
    match &o.taxon_id {
        Some(id) => COMMON_TAXA
            .iter()
            .find(|(t, _, _)| t == id)
            .map(|(_, s, _)| s.to_string())
            .unwrap_or_else(|| format!("NCBITaxon:{id}")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_markup() {
        assert_eq!(
            strip_tags("<h4>Background</h4>Defects &amp; more")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["Background", "Defects", "&", "more"]
        );
    }

    #[test]
    fn organism_labels() {
        let o = |n: &str, t: Option<&str>| Organism {
            name: n.into(),
            taxon_id: t.map(Into::into),
            evidence: Default::default(),
        };
        assert_eq!(
            organism_label(&o("Homo sapiens (Human)", None)),
            "Homo sapiens"
        );
        assert_eq!(organism_label(&o("", Some("9606"))), "Homo sapiens");
        assert_eq!(organism_label(&o("mouse", None)), "Mus musculus");
        assert_eq!(organism_label(&o("", Some("123"))), "NCBITaxon:123");
    }
}
