//! Linking across repositories end to end, through the binary: real records from the corpora
//! (a GEO family file, the registry trials, the seed) beside records written here for the
//! other side of each link (the corpora hold no two records of one study), in three formats.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn opendi(data: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_opendi"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "opendi {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(data: &Path, args: &[&str]) -> Value {
    serde_json::from_slice(&opendi(data, args).stdout).unwrap()
}

/// ArrayExpress's import of GEO series GSE72138 (which the GEO corpus holds).
const AE_MIRROR: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<experiments>
  <experiment>
    <accession>E-GEOD-72138</accession>
    <secondaryaccession>GSE72138</secondaryaccession>
    <name>ceRNA regulation network of SHEE and SHEEC cell lines</name>
    <releasedate>2015-09-01</releasedate>
    <experimenttype>transcription profiling by array</experimenttype>
    <sampleattribute category="Organism" value="Homo sapiens"/>
    <description><text>Mirror of a GEO series, written for the clustering test.</text></description>
  </experiment>
</experiments>
"#;

/// A PubMed record of the seed's article (PMC7912947) whose abstract names a GEO series and
/// a registered trial: it joins the seed's cluster and cites both.
const PAPER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<PubmedArticleSet>
<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">90000001</PMID>
    <Article PubModel="Print">
      <Journal><Title>Test Journal of Linking</Title>
        <JournalIssue><PubDate><Year>2021</Year><Month>Mar</Month></PubDate></JournalIssue></Journal>
      <ArticleTitle>Umbilical cord stem cells for children with severe aplastic anemia.</ArticleTitle>
      <Abstract><AbstractText>Expression data were deposited in GEO (GSE72138). The registry entry NCT03461406 describes a related protocol.</AbstractText></Abstract>
      <AuthorList><Author><LastName>Tester</LastName><ForeName>Ada</ForeName></Author></AuthorList>
    </Article>
  </MedlineCitation>
  <PubmedData>
    <ArticleIdList>
      <ArticleId IdType="pubmed">90000001</ArticleId>
      <ArticleId IdType="pmc">PMC7912947</ArticleId>
    </ArticleIdList>
  </PubmedData>
</PubmedArticle>
</PubmedArticleSet>
"#;

/// The ClinicalTrials.gov side (API v2 shape) of EU CTR trial 2016-004489-24, which names
/// NCT03461406 as its other registration.
const TRIAL: &str = r#"{"protocolSection": {"identificationModule": {"nctId": "NCT03461406", "briefTitle": "A trial registered in two registries"}, "statusModule": {"overallStatus": "COMPLETED", "startDateStruct": {"date": "2018-03"}}, "conditionsModule": {"conditions": ["Hemophilia"]}, "descriptionModule": {"briefSummary": "Written for the clustering test: the other registration of an EU CTR trial."}}}
"#;

#[test]
fn records_of_one_study_cluster_across_repositories_and_formats() {
    let (Some(geo), Some(trials), Some(seed)) = (
        opendi_corpora::corpus("geo/geoparse/GPL20814_family.soft"),
        opendi_corpora::corpus("clinical-trials/ctrdata-demo/demo-trials.jsonl"),
        opendi_corpora::seed("S-EPMC7912947.omicsdi.xml"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join("own");
    std::fs::create_dir(&own).unwrap();
    std::fs::write(own.join("ae-mirror.xml"), AE_MIRROR).unwrap();
    std::fs::write(own.join("paper.xml"), PAPER).unwrap();
    std::fs::write(own.join("trial.json"), TRIAL).unwrap();
    let data = dir.path().join("data");

    // The written records first, the real ones after: links form in either order.
    opendi(&data, &["ingest", own.to_str().unwrap()]);
    for f in [&geo, &trials, &seed] {
        opendi(&data, &["ingest", f.to_str().unwrap()]);
    }

    let clusters = json(&data, &["clusters", "--json"]);
    let clusters = clusters["clusters"].as_array().unwrap();
    let find = |acc: &str| -> Vec<(String, String)> {
        clusters
            .iter()
            .find(|c| c.as_array().unwrap().iter().any(|m| m["accession"] == acc))
            .unwrap_or_else(|| panic!("no cluster holds {acc}: {clusters:?}"))
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["accession"].as_str().unwrap().to_string(),
                    m["reason"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let geo_cluster = find("GSE72138");
    assert_eq!(geo_cluster.len(), 2, "{geo_cluster:?}");
    assert!(geo_cluster
        .iter()
        .any(|(a, r)| a == "GSE72138" || r == "same GEO series GSE72138"));
    let lit = find("S-EPMC7912947");
    assert!(lit.iter().any(|(a, _)| a == "90000001"), "{lit:?}");
    assert!(lit
        .iter()
        .any(|(_, r)| r == "same PubMed Central article PMC7912947"));
    let trial = find("NCT03461406");
    assert!(
        trial.iter().any(|(a, _)| a == "2016-004489-24"),
        "{trial:?}"
    );
    assert!(trial
        .iter()
        .any(|(_, r)| r == "same clinical trial NCT03461406"));

    // Citations: the paper mentions the GEO series (and so its ArrayExpress mirror) and the
    // trial; the seed declares its own trial NCT02218437, not in the index.
    for acc in [
        "geo/GSE72138",
        "E-GEOD-72138",
        "NCT03461406",
        "2016-004489-24",
    ] {
        let shown = json(&data, &["show", "--json", acc]);
        assert_eq!(
            shown["relations"]["citations"], 1,
            "{acc}: {}",
            shown["relations"]
        );
    }

    // One hit per cluster in search, with the other members attached.
    let res = json(&data, &["search", "--json", "--limit", "50", "GSE72138"]);
    let hits = res["hits"].as_array().unwrap();
    let members: Vec<&Value> = hits
        .iter()
        .filter(|h| h["accession"] == "GSE72138" || h["accession"] == "E-GEOD-72138")
        .collect();
    assert_eq!(members.len(), 1, "{hits:?}");
    assert_eq!(members[0]["also_in"].as_array().unwrap().len(), 1);
}
