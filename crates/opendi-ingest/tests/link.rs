//! Accession recognition on real text: the PMC JATS articles, the seed record, and a
//! throughput measure over a full PubMed baseline file's titles and abstracts.

mod lit_support;

use lit_support::{read, records};
use opendi_ingest::link::{self, find_accessions};
use opendi_model::{Evidence, Item};
use std::collections::BTreeMap;
use std::time::Instant;

/// The eight PMC articles predate data-availability sections: none has one, and their
/// abstracts name no accession, so the parser finds no cross-reference in them. Their bodies
/// do name some: the EHP article cites GenBank sequences ("GenBank accession no. AI979399";
/// the ones listed after the first label, "(DQ256072)", are not taken), and the PLoS articles
/// carry DOIs of their own figures and tables.
#[test]
fn pmc_articles() {
    let files = [
        "1471-2180-11-174.nxml",
        "1472-6831-8-11.nxml",
        "6605965a.nxml",
        "ehp-116-1694.nxml",
        "mds526.nxml",
        "pntd.0002065.nxml",
        "pone.0000217.nxml",
        "pone.0046493.nxml",
    ];
    let mut body_found: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    let tags = regex::Regex::new(r"<[^>]+>").unwrap();
    for file in files {
        let Some(path) = opendi_corpora::corpus(&format!("pmc-jats/{file}")) else {
            return;
        };
        let (items, _) = read(&path);
        let d = &records(&items)[0].dataset;
        assert!(!d.additional.contains_key("data_availability"), "{file}");
        assert!(
            d.cross_refs
                .iter()
                .all(|c| c.evidence == Evidence::Declared),
            "{file}: {:?}",
            d.cross_refs
        );
        // The article's body as plain text (tags dropped, references list left out).
        let xml = std::fs::read_to_string(&path).unwrap();
        let body = xml
            .split("<body>")
            .nth(1)
            .and_then(|b| b.split("</body>").next())
            .unwrap_or("");
        let text = tags.replace_all(body, " ");
        let found = find_accessions(&text)
            .into_iter()
            .map(|f| (f.prefix.to_string(), f.id))
            .collect();
        body_found.insert(file, found);
    }
    let got = |file: &str| -> Vec<(&str, &str)> {
        body_found[file]
            .iter()
            .map(|(p, i)| (p.as_str(), i.as_str()))
            .collect()
    };
    assert_eq!(
        got("ehp-116-1694.nxml"),
        vec![
            ("insdc", "AI979399"),
            ("insdc", "EF432310"),
            ("insdc", "DQ677879")
        ]
    );
    for file in [
        "1471-2180-11-174.nxml",
        "1472-6831-8-11.nxml",
        "6605965a.nxml",
        "mds526.nxml",
    ] {
        assert_eq!(got(file), vec![], "{file}");
    }
    for (file, n) in [
        ("pntd.0002065.nxml", 6),
        ("pone.0000217.nxml", 3),
        ("pone.0046493.nxml", 7),
    ] {
        let own = format!("10.1371/journal.{}.", file.trim_end_matches(".nxml"));
        let found = got(file);
        assert_eq!(found.len(), n, "{file}: {found:?}");
        assert!(
            found
                .iter()
                .all(|(p, id)| *p == "doi" && id.starts_with(&own)),
            "{file}: {found:?}"
        );
    }
}

/// The seed record declares its trial: annotating adds nothing; without the declaration the
/// trial is found in the abstract.
#[test]
fn seed_record() {
    let Some(p) = opendi_corpora::seed("S-EPMC7912947.omicsdi.xml") else {
        return;
    };
    let (items, _) = read(&p);
    let mut d = records(&items)[0].dataset.clone();
    let before = d.cross_refs.clone();
    link::annotate(&mut d);
    assert_eq!(d.cross_refs, before);
    d.cross_refs.retain(|c| c.key != "NCT02218437");
    link::annotate(&mut d);
    let found: Vec<_> = d
        .cross_refs
        .iter()
        .filter(|c| c.evidence == Evidence::FoundInText)
        .map(|c| (c.database.as_str(), c.key.as_str()))
        .collect();
    assert_eq!(found, vec![("clinicaltrials", "NCT02218437")]);
}

/// Titles and abstracts of a full PubMed baseline file (30,000 citations): prints MB/s and what
/// was found per namespace, and checks that trial registrations are among it.
#[test]
fn pubmed_throughput() {
    let Some(path) = opendi_corpora::corpus("pubmed/pubmed20n0014.xml.gz") else {
        return;
    };
    let (items, _) = read(&path);
    let texts: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(format!("{}\n{}", r.dataset.title, r.dataset.description)),
            _ => None,
        })
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let _ = find_accessions("warm up GSE1");
    let mut per: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let rounds = 3;
    let t = Instant::now();
    for round in 0..rounds {
        for text in &texts {
            for f in find_accessions(text) {
                if round == 0 {
                    per.entry(f.prefix).or_default().push(f.id);
                }
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let mbs = (bytes * rounds) as f64 / 1e6 / secs;
    eprintln!(
        "link: {} texts, {:.1} MB, {mbs:.0} MB/s (one field per call)",
        texts.len(),
        bytes as f64 / 1e6
    );
    for (p, ids) in &per {
        eprintln!("  {p}: {} e.g. {:?}", ids.len(), &ids[..ids.len().min(8)]);
    }
    // An old baseline file (1970s citations): next to nothing to find, and no garbage.
    let total: usize = per.values().map(Vec::len).sum();
    assert!(total < 20, "{per:?}");
}
