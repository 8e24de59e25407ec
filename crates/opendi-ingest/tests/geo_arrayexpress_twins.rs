//! A GEO series and its ArrayExpress import (E-GEOD-n) must carry the identifiers a later
//! cross-repository clustering step joins on: the GSE accession on both sides.

use opendi_ingest::format_by_name;
use opendi_model::{Dataset, Item, PartialDate};

fn datasets(format: &str, file: &str, bytes: &[u8]) -> Vec<Dataset> {
    let spec = format_by_name(format).expect("format");
    opendi_ingest::parse_bytes(
        spec,
        file,
        bytes,
        PartialDate::ymd(2026, 1, 1).expect("date"),
    )
    .expect("parse")
    .into_iter()
    .filter_map(|i| match i {
        Item::Record(r) => Some(r.dataset),
        _ => None,
    })
    .collect()
}

/// The identifiers of a record a clustering step would join on.
fn join_keys(d: &Dataset) -> Vec<String> {
    let mut keys: Vec<String> = d.all_accessions().map(str::to_string).collect();
    keys.extend(d.cross_refs.iter().map(|c| c.key.clone()));
    keys
}

#[test]
fn gse9309_and_its_e_geod_twin_share_an_identifier() {
    let Some(p) = opendi_corpora::corpus("geo/omicsdi-index-pipeline/GSE9309.txt") else {
        return;
    };
    let geo = datasets("geo-soft", "GSE9309.txt", &std::fs::read(p).expect("read"));
    assert_eq!(geo.len(), 1);
    assert_eq!(geo[0].accession, "GSE9309");
    // The real dump has no E-GEOD-9309; this fixture is the twin as ArrayExpress exported
    // GEO imports (compare E-GEOD-1001 in ae-experiments-example.xml).
    let ae_xml = "<experiments><experiment><id>1</id><accession>E-GEOD-9309</accession>\
<secondaryaccession>GSE9309</secondaryaccession><name>Recovery of biological information \
under heterogeneous experimental conditions using subgroup standardization.</name>\
<experimenttype>transcription profiling by array</experimenttype><releasedate>2008-06-14\
</releasedate><sampleattribute category=\"Organism\" value=\"Homo sapiens\"/>\
<description>x</description></experiment></experiments>";
    let ae = datasets("arrayexpress-xml", "ae.xml", ae_xml.as_bytes());
    assert_eq!(ae.len(), 1);
    let shared: Vec<String> = join_keys(&ae[0])
        .into_iter()
        .filter(|k| join_keys(&geo[0]).contains(k))
        .collect();
    assert_eq!(shared, vec!["GSE9309".to_string(), "GSE9309".to_string()]);
    assert_eq!(geo[0].title, ae[0].title);
    assert_eq!(geo[0].organisms[0].name, ae[0].organisms[0].name);
}

#[test]
fn e_geod_in_the_real_dump_joins_a_geo_series() {
    let Some(p) = opendi_corpora::corpus("arrayexpress/ae-experiments-example.xml") else {
        return;
    };
    let ae = datasets(
        "arrayexpress-xml",
        "ae.xml",
        &std::fs::read(p).expect("read"),
    );
    let twin = ae
        .iter()
        .find(|d| d.accession == "E-GEOD-1001")
        .expect("E-GEOD-1001");
    // A GEO series record as the GEO reader makes it, from a small SOFT fixture.
    let soft =
        "^SERIES = GSE1001\n!Series_title = Retina injury\n!Series_geo_accession = GSE1001\n\
!Series_status = Public on Jan 27 2004\n!Series_sample_id = GSM15001\n";
    let geo = datasets("geo-soft", "GSE1001.soft", soft.as_bytes());
    assert_eq!(geo[0].accession, "GSE1001");
    assert!(join_keys(twin).contains(&geo[0].accession));
}
