//! Text helpers for indexing and display: tag stripping, organism labels.

use opendi_model::Organism;

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

/// NCBI taxa common in biomedical repositories: (taxon id, scientific name, common name).
pub const COMMON_TAXA: &[(&str, &str, &str)] = &[
    ("9606", "Homo sapiens", "human"),
    ("10090", "Mus musculus", "mouse"),
    ("10116", "Rattus norvegicus", "rat"),
    ("7227", "Drosophila melanogaster", "fruit fly"),
    ("6239", "Caenorhabditis elegans", "nematode"),
    ("7955", "Danio rerio", "zebrafish"),
    ("3702", "Arabidopsis thaliana", "thale cress"),
    ("4932", "Saccharomyces cerevisiae", "baker's yeast"),
    ("559292", "Saccharomyces cerevisiae S288C", "baker's yeast"),
    ("4896", "Schizosaccharomyces pombe", "fission yeast"),
    ("562", "Escherichia coli", "E. coli"),
    ("9913", "Bos taurus", "cattle"),
    ("9823", "Sus scrofa", "pig"),
    ("9031", "Gallus gallus", "chicken"),
    ("9544", "Macaca mulatta", "rhesus monkey"),
    ("9615", "Canis lupus familiaris", "dog"),
    ("9940", "Ovis aries", "sheep"),
    ("8355", "Xenopus laevis", "African clawed frog"),
    ("4530", "Oryza sativa", "rice"),
    ("4577", "Zea mays", "maize"),
    (
        "1773",
        "Mycobacterium tuberculosis",
        "tuberculosis bacterium",
    ),
    (
        "2697049",
        "Severe acute respiratory syndrome coronavirus 2",
        "SARS-CoV-2",
    ),
];

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
