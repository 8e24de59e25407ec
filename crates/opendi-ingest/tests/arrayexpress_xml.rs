//! Golden tests of the ArrayExpress experiments XML reader on the real 256-experiment dump.

use opendi_ingest::{read_all, source};
use opendi_model::{Item, PartialDate, PersonRole, SourceRecord};
use serde_json::json;

fn today() -> PartialDate {
    PartialDate::ymd(2026, 1, 1).expect("date")
}

fn read(rel: &str) -> Option<Vec<SourceRecord>> {
    let path = opendi_corpora::corpus(rel)?;
    let inputs = source::expand(&[path.display().to_string()]).expect("expand");
    let (items, reports) = read_all(&inputs, today());
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].format, Some("arrayexpress-xml"));
    assert!(reports[0].error.is_none());
    Some(
        items
            .into_iter()
            .map(|i| match i {
                Item::Record(r) => *r,
                other => panic!("unexpected item {other:?}"),
            })
            .collect(),
    )
}

const FILE: &str = "arrayexpress/ae-experiments-example.xml";

#[test]
fn golden_experiments() {
    let Some(recs) = read(FILE) else { return };
    assert_eq!(recs.len(), 256);
    for r in &recs {
        assert_eq!(r.dataset.repository, "arrayexpress-repository");
        assert!(
            r.dataset.accession.starts_with("E-"),
            "{}",
            r.dataset.accession
        );
        assert!(!r.dataset.title.is_empty());
        assert!(r.raw.starts_with("<experiment>") && r.raw.ends_with("</experiment>"));
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    }
    // One line per experiment: the facets a search page shows.
    let summary: Vec<String> = recs
        .iter()
        .map(|r| {
            let d = &r.dataset;
            format!(
                "{} line {} | {} | organisms: {} | tissues: {} | cell types: {} | diseases: {} | instruments: {} | pubs: {} | people: {} | secondary: {}",
                d.accession,
                r.location.line.unwrap_or(0),
                d.omics_types.join(","),
                d.organisms.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(";"),
                d.tissues.len(),
                d.cell_types.len(),
                d.diseases.len(),
                d.instruments.len(),
                d.publications.len(),
                d.people.len(),
                d.secondary_accessions.join(","),
            )
        })
        .collect();
    insta::assert_snapshot!("ae_experiments_summary", summary.join("\n"));
    // Full snapshots of a few varied experiments.
    for acc in [
        "E-ATMX-1",
        "E-GEOD-1001",
        "E-CAGE-1",
        "E-FPMI-19",
        "E-CBIL-42",
    ] {
        let r = recs
            .iter()
            .find(|r| r.dataset.accession == acc)
            .expect("present");
        insta::assert_json_snapshot!(
            format!("ae_{}", acc.replace('-', "_")),
            json!({"line": r.location.line, "dataset": r.dataset})
        );
    }
}

#[test]
fn key_values() {
    let Some(recs) = read(FILE) else { return };
    let get = |a: &str| {
        &recs
            .iter()
            .find(|r| r.dataset.accession == a)
            .expect(a)
            .dataset
    };
    let d = get("E-ATMX-1");
    assert_eq!(d.organisms[0].name, "Arabidopsis thaliana");
    assert_eq!(d.tissues[0].label, "seed");
    assert_eq!(d.omics_types, vec!["Transcriptomics"]);
    assert_eq!(
        d.instruments,
        vec!["Affymetrix GeneChip Arabidopsis Genome [ATH1-121501]"]
    );
    assert_eq!(d.people[0].role, PersonRole::Submitter);
    assert_eq!(
        d.people[0].email.as_deref(),
        Some("higashiy@graduate.chiba-u.jp")
    );
    assert_eq!(d.additional["protocol"].len(), 9);
    assert_eq!(
        d.additional["experimentalfactor[growth_condition]"],
        vec!["normal", "sulfur_deficient"]
    );
    let d = get("E-ATMX-14");
    assert_eq!(d.publications[0].pmid.as_deref(), Some("17369372"));
    assert_eq!(
        d.publications[0].doi.as_deref(),
        Some("10.1105/tpc.106.046052")
    );
    assert!(d.publications[0]
        .citation
        .as_deref()
        .unwrap_or("")
        .contains("Oxylipins Produced by the 9-Lipoxygenase Pathway"));
    // Cut category names still feed the facets.
    let d = get("E-CBIL-42");
    assert!(d.tissues.iter().any(|t| t.label == "Aortic_Arch"));
    let d = get("E-CAGE-1");
    assert_eq!(d.diseases[0].label, "normal");
    let with_organism = recs
        .iter()
        .filter(|r| !r.dataset.organisms.is_empty())
        .count();
    assert!(with_organism >= 250, "{with_organism}");
}

/// GEO imports carry their GEO series id: the identifier a clustering step joins on.
#[test]
fn geo_twins_carry_their_gse_ids() {
    let Some(recs) = read(FILE) else { return };
    let geod: Vec<&SourceRecord> = recs
        .iter()
        .filter(|r| r.dataset.accession.starts_with("E-GEOD-"))
        .collect();
    assert_eq!(geod.len(), 171);
    let mut with_gse = 0;
    for r in &geod {
        let d = &r.dataset;
        let n = d.accession.trim_start_matches("E-GEOD-");
        let gse = format!("GSE{n}");
        if d.secondary_accessions.contains(&gse) {
            with_gse += 1;
            assert!(d.all_accessions().any(|a| a == gse));
            assert!(d
                .cross_refs
                .iter()
                .any(|c| c.database == "geo" && c.key == gse));
        }
        // Whatever GSE the source names is the twin of the E-GEOD number, never another.
        for s in d
            .secondary_accessions
            .iter()
            .filter(|s| s.starts_with("GSE"))
        {
            assert_eq!(s, &gse, "{}", d.accession);
        }
    }
    assert_eq!(
        with_gse, 171,
        "every E-GEOD experiment of this dump names its GSE"
    );
    let d = &recs
        .iter()
        .find(|r| r.dataset.accession == "E-GEOD-1001")
        .expect("E-GEOD-1001")
        .dataset;
    assert_eq!(d.secondary_accessions, vec!["GDS656", "GSE1001"]);
}
