//! A small table of the taxa most biomedical datasets are about, so that a taxon id and the
//! names sources write for it (`Homo sapiens (Human)`, `human`) are recognised as one organism
//! without the full NCBI Taxonomy. Vocabularies loaded at run time extend this elsewhere.

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

/// The taxon id of a known organism name: scientific or common name, case-insensitive, with a
/// trailing parenthetical ignored (`Homo sapiens (Human)`).
pub fn taxon_for_name(name: &str) -> Option<&'static str> {
    let name = name.trim();
    let base = match name.find(" (") {
        Some(i) if name.ends_with(')') => &name[..i],
        _ => name,
    };
    COMMON_TAXA
        .iter()
        .find(|(_, sci, common)| {
            sci.eq_ignore_ascii_case(base) || common.eq_ignore_ascii_case(base)
        })
        .map(|(t, _, _)| *t)
}

/// The scientific name of a known taxon id.
pub fn name_for_taxon(id: &str) -> Option<&'static str> {
    COMMON_TAXA
        .iter()
        .find(|(t, _, _)| *t == id)
        .map(|(_, s, _)| *s)
}
