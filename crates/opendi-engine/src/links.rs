//! What a record says about other records, read from its normalized form: the identity keys
//! that cluster records describing the same study, the accessions a literature record
//! mentions (citations), and the records it declares to reanalyse.
//!
//! Pure functions of a [`Dataset`]: the store keeps their output in tables and derives
//! clusters and counts from them, in the transaction that writes the record.

use opendi_model::Dataset;

/// Repositories whose records are literature: their mentions of an accession are citations.
pub const LITERATURE: [&str; 3] = ["pubmed", "pmc", "biostudies-literature"];

/// Additional-field names by which sources declare that a record reanalyses another.
const REANALYSIS_FIELDS: [&str; 5] = [
    "reanalysis_of",
    "is_reanalysis_of",
    "reanalysis",
    "derived_from",
    "is_derived_from",
];

/// DataCite relation types (kept as `related_identifier` = `"{relation} {type} {id}"`) that
/// make this record a reanalysis of the related one.
const REANALYSIS_RELATIONS: [&str; 2] = ["isderivedfrom", "isvariantformof"];

/// Everything a record contributes to the link tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordLinks {
    /// Identity keys: two records sharing one describe the same study (or article, or trial).
    pub keys: Vec<String>,
    /// Accessions this record mentions, when it is literature (upper case).
    pub mentions: Vec<String>,
    /// Accessions of the records this record reanalyses (upper case).
    pub reanalyses: Vec<String>,
    /// The ids (PMID, PMCID, DOI) of the publications this record cites: when one of them
    /// arrives as a record, this record is re-indexed with the publication's text.
    pub cites: Vec<String>,
}

pub fn is_literature(repository: &str) -> bool {
    LITERATURE.contains(&repository)
}

/// Reads a record's links.
pub fn record_links(d: &Dataset) -> RecordLinks {
    let literature = is_literature(&d.repository);
    let mut keys = Vec::new();
    for acc in d.all_accessions() {
        identity_keys(acc, literature, &mut keys);
    }
    if literature {
        // A paper's own identifiers, declared as cross-references: its PMC id and DOI (the
        // DOI of a Scientific Data descriptor, say), and for BioStudies' literature records,
        // which mirror one article each, its PubMed id.
        for c in &d.cross_refs {
            if c.evidence != opendi_model::Evidence::Declared {
                continue;
            }
            let db = c.database.to_ascii_lowercase();
            let key = c.key.trim();
            match db.as_str() {
                "pmc" | "pmcid" | "doi" => identity_keys(key, true, &mut keys),
                "pubmed" | "pmid" | "medline" if d.repository == "biostudies-literature" => {
                    identity_keys(key, true, &mut keys)
                }
                _ => {}
            }
        }
    }
    keys.sort();
    keys.dedup();

    let mut mentions = Vec::new();
    if literature {
        for c in &d.cross_refs {
            let k = c.key.trim().to_ascii_uppercase();
            if k.len() >= 4 && !keys.iter().any(|x| x.ends_with(&k)) {
                mentions.push(k);
            }
        }
        mentions.sort();
        mentions.dedup();
    }

    let mut reanalyses = Vec::new();
    for (name, values) in &d.additional {
        let name = name.to_ascii_lowercase();
        for v in values {
            if REANALYSIS_FIELDS.contains(&name.as_str()) {
                reanalyses.extend(v.split([',', ';', ' ']).filter_map(accession_like));
            } else if name == "related_identifier" {
                let mut parts = v.split_whitespace();
                let relation = parts.next().unwrap_or("").to_ascii_lowercase();
                if REANALYSIS_RELATIONS.contains(&relation.as_str()) {
                    if let Some(id) = parts.last().and_then(accession_like) {
                        reanalyses.push(id);
                    }
                }
            }
        }
    }
    reanalyses.retain(|a| !d.all_accessions().any(|x| x.eq_ignore_ascii_case(a)));
    reanalyses.sort();
    reanalyses.dedup();
    let mut cites: Vec<String> = d
        .publications
        .iter()
        .flat_map(|p| [&p.pmid, &p.pmcid, &p.doi])
        .flatten()
        .map(|x| x.trim().to_ascii_uppercase())
        .filter(|x| !d.all_accessions().any(|a| a.eq_ignore_ascii_case(x)))
        .collect();
    cites.sort();
    cites.dedup();
    RecordLinks {
        keys,
        mentions,
        reanalyses,
        cites,
    }
}

fn accession_like(s: &str) -> Option<String> {
    let s = s
        .trim()
        .trim_end_matches(['.', ')'])
        .trim_start_matches('(');
    (s.len() >= 4 && s.chars().any(|c| c.is_ascii_digit())).then(|| s.to_ascii_uppercase())
}

/// The identity keys one accession gives. Mirrors are mapped onto their origin: ArrayExpress
/// imports GEO series as `E-GEOD-n` (= `GSEn`), BioStudies literature records are `S-EPMCn`
/// (= `PMCn`). Numbers alone are PubMed ids, and only on literature records (elsewhere they
/// are local serial numbers that collide across repositories).
fn identity_keys(acc: &str, literature: bool, out: &mut Vec<String>) {
    let a = acc.trim().to_ascii_uppercase();
    if a.len() < 4 && !(literature && !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit())) {
        return;
    }
    if a.bytes().all(|b| b.is_ascii_digit()) {
        if literature {
            out.push(format!("PMID:{a}"));
        }
        return;
    }
    if let Some(n) = a.strip_prefix("PMID:") {
        if literature {
            out.push(format!("PMID:{n}"));
        }
        return;
    }
    if let Some(n) = a.strip_prefix("E-GEOD-") {
        out.push(format!("GSE{n}"));
        out.push(a);
        return;
    }
    if let Some(n) = a.strip_prefix("S-EPMC") {
        out.push(format!("PMC{n}"));
        out.push(a);
        return;
    }
    if let Some(doi) = a.strip_prefix("DOI:") {
        out.push(format!("DOI:{doi}"));
        return;
    }
    if a.starts_with("10.") && a.contains('/') {
        out.push(format!("DOI:{a}"));
        return;
    }
    out.push(a);
}

/// Why two records sharing `key` were joined, in words.
pub fn reason(key: &str) -> String {
    let starts_digits = |prefix: &str| {
        key.strip_prefix(prefix)
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
    };
    if starts_digits("GSE") {
        format!("same GEO series {key}")
    } else if starts_digits("PXD") {
        format!("same ProteomeXchange dataset {key}")
    } else if starts_digits("PMC") {
        format!("same PubMed Central article {key}")
    } else if let Some(n) = key.strip_prefix("PMID:") {
        format!("same PubMed article {n}")
    } else if let Some(doi) = key.strip_prefix("DOI:") {
        format!("same DOI {}", doi.to_ascii_lowercase())
    } else if starts_digits("NCT") || key.starts_with("ISRCTN") || is_eu_trial(key) {
        format!("same clinical trial {key}")
    } else {
        format!("same accession {key}")
    }
}

/// EudraCT (`2004-000015-26`) and CTIS (`2022-500024-30-00`) numbers.
fn is_eu_trial(key: &str) -> bool {
    let parts: Vec<&str> = key.split('-').collect();
    (parts.len() == 3 || parts.len() == 4)
        && parts[0].len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opendi_model::Evidence;

    fn ds(repo: &str, acc: &str, secondary: &[&str]) -> Dataset {
        let mut d = Dataset::new(repo, acc);
        d.secondary_accessions = secondary.iter().map(|s| s.to_string()).collect();
        d
    }

    #[test]
    fn mirrors_map_onto_their_origin() {
        let geo = record_links(&ds("geo", "GSE1234", &[]));
        let ae = record_links(&ds("arrayexpress-repository", "E-GEOD-1234", &["GSE1234"]));
        assert_eq!(geo.keys, vec!["GSE1234"]);
        assert!(ae.keys.contains(&"GSE1234".to_string()));
        let lit = record_links(&ds("biostudies-literature", "S-EPMC7912947", &[]));
        let jats = record_links(&ds("pmc", "PMC7912947", &["33640123"]));
        assert!(lit.keys.contains(&"PMC7912947".to_string()));
        let mut seed = ds("biostudies-literature", "S-EPMC1", &[]);
        seed.add_cross_ref("PMC", "PMC1", opendi_model::Evidence::Declared);
        seed.add_cross_ref("pubmed", "42", opendi_model::Evidence::Declared);
        seed.add_cross_ref("NCT", "NCT00000001", opendi_model::Evidence::Declared);
        assert_eq!(record_links(&seed).keys, vec!["PMC1", "PMID:42", "S-EPMC1"]);
        assert!(jats.keys.contains(&"PMC7912947".to_string()));
        assert!(jats.keys.contains(&"PMID:33640123".to_string()));
    }

    #[test]
    fn numbers_are_pubmed_ids_only_on_literature() {
        assert_eq!(
            record_links(&ds("pubmed", "123", &[])).keys,
            vec!["PMID:123"]
        );
        assert!(record_links(&ds("gesis", "1", &["22"])).keys.is_empty());
    }

    #[test]
    fn literature_mentions_and_declared_reanalyses() {
        let mut paper = ds("pubmed", "555", &["PMC9"]);
        paper.add_cross_ref("GEO", "GSE42", Evidence::FoundInText);
        paper.add_cross_ref("PMC", "PMC9", Evidence::Declared);
        paper.add_cross_ref("DOI", "10.1/x", Evidence::Declared);
        let l = record_links(&paper);
        assert_eq!(l.mentions, vec!["GSE42"]);
        assert!(l.keys.contains(&"DOI:10.1/X".to_string()));

        let mut data = ds("pride", "PXD000002", &[]);
        data.add_cross_ref("GEO", "GSE42", Evidence::FoundInText);
        data.push_additional("reanalysis_of", "PXD000001");
        data.push_additional("related_identifier", "IsDerivedFrom Accession E-MTAB-5");
        data.push_additional("related_identifier", "IsCitedBy DOI 10.1/y");
        let l = record_links(&data);
        assert!(l.mentions.is_empty(), "datasets do not cite");
        assert_eq!(l.reanalyses, vec!["E-MTAB-5", "PXD000001"]);
    }

    #[test]
    fn reasons_name_the_shared_identifier() {
        assert_eq!(reason("GSE1"), "same GEO series GSE1");
        assert_eq!(
            reason("PXD000001"),
            "same ProteomeXchange dataset PXD000001"
        );
        assert_eq!(reason("NCT02218437"), "same clinical trial NCT02218437");
        assert_eq!(
            reason("2004-000015-26"),
            "same clinical trial 2004-000015-26"
        );
        assert_eq!(reason("PMID:7"), "same PubMed article 7");
    }
}
