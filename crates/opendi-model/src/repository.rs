//! Repository keys. A record's identity is `(repository key, accession)`; the key is
//! OmicsDI's database name in lower case so dataset URLs match the reference system's.

/// (key, display name, other spellings seen in dumps). Matching ignores case, spaces, `_` and `-`.
pub const KNOWN_REPOSITORIES: &[(&str, &str, &[&str])] = &[
    ("pride", "PRIDE", &["pride archive", "pride database"]),
    ("metabolights_dataset", "MetaboLights", &["metabolights"]),
    (
        "metabolomics_workbench",
        "Metabolomics Workbench",
        &["metabolomicsworkbench"],
    ),
    (
        "arrayexpress-repository",
        "ArrayExpress",
        &["arrayexpress", "ae"],
    ),
    ("geo", "GEO", &["gene expression omnibus", "ncbi geo"]),
    ("biostudies-literature", "BioStudies literature", &[]),
    ("biostudies", "BioStudies", &[]),
    ("massive", "MassIVE", &[]),
    ("iprox", "iProX", &[]),
    ("jpost", "jPOST", &["jpost repository", "jpostrepo"]),
    ("peptide_atlas", "PeptideAtlas", &["peptideatlas"]),
    ("panorama", "Panorama Public", &["panorama public"]),
    ("ega", "EGA", &["european genome-phenome archive"]),
    ("gpmdb", "GPMDB", &[]),
    ("gnps", "GNPS", &[]),
    (
        "metabolome_express",
        "MetabolomeExpress",
        &["metabolomeexpress"],
    ),
    (
        "atlas-experiments",
        "Expression Atlas",
        &["expression atlas", "expressionatlas"],
    ),
    ("biomodels", "BioModels", &["biomodels database"]),
    ("lincs", "LINCS", &[]),
    ("paxdb", "PaxDb", &[]),
    ("pubmed", "PubMed", &["medline"]),
    ("pmc", "PubMed Central", &["europe pmc"]),
    (
        "clinicaltrials",
        "ClinicalTrials.gov",
        &["clinicaltrials.gov", "ctgov", "nct"],
    ),
    (
        "euctr",
        "EU Clinical Trials Register",
        &["eu ctr", "eudract"],
    ),
    ("ctis", "EU CTIS", &["eu ctis"]),
    ("isrctn", "ISRCTN", &[]),
    (
        "scientific_data",
        "Scientific Data",
        &["scientific data", "nature scientific data"],
    ),
    ("bii", "BioInvestigation Index", &["bioinvestigation index"]),
    ("datacite", "DataCite", &[]),
];

fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The canonical key for a repository name as a source spells it. Unknown names become a
/// lower-case slug (`UK Data Service` -> `uk_data_service`), so every source gets a stable key.
pub fn repository_key(name: &str) -> String {
    // A key as such (every dataset URL carries one): no folding needed.
    if let Some((key, _, _)) = KNOWN_REPOSITORIES.iter().find(|(k, _, _)| *k == name) {
        return (*key).to_string();
    }
    let f = fold(name);
    for (key, display, aliases) in KNOWN_REPOSITORIES {
        if fold(key) == f || fold(display) == f || aliases.iter().any(|a| fold(a) == f) {
            return (*key).to_string();
        }
    }
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '-' {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// The display name for a key (the key itself when unknown).
pub fn repository_name(key: &str) -> &str {
    KNOWN_REPOSITORIES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, d, _)| *d)
        .unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(repository_key("PRIDE"), "pride");
        assert_eq!(repository_key("MetaboLights"), "metabolights_dataset");
        assert_eq!(
            repository_key("MetabolomicsWorkbench"),
            "metabolomics_workbench"
        );
        assert_eq!(
            repository_key("biostudies-literature"),
            "biostudies-literature"
        );
        assert_eq!(repository_key("UK Data Service"), "uk_data_service");
        assert_eq!(repository_name("geo"), "GEO");
    }
}
