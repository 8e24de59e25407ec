//! The GEO SOFT, ArrayExpress XML and MAGE-TAB readers never panic, whatever the bytes.

use opendi_ingest::{format_by_name, parse_bytes};
use opendi_model::{Item, PartialDate};
use proptest::prelude::*;

fn run(format: &str, bytes: &[u8]) -> Vec<Item> {
    let spec = format_by_name(format).expect("format");
    parse_bytes(
        spec,
        "fuzz",
        bytes,
        PartialDate::ymd(2026, 1, 1).expect("date"),
    )
    .expect("parse")
}

/// Inputs made of the formats' own punctuation, so the parsers' branches are reached.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        "^SERIES = GSE1\n",
        "^SAMPLE=",
        "^PLATFORM = GPL1\n",
        "!Series_title = t\n",
        "!Sample_characteristics_ch1 = tissue: \n",
        "!sample_table_begin\n",
        "!platform_table_end\n",
        "!Series_sample_id = ",
        "\t",
        "\"",
        "\n",
        "\r\n",
        "=",
        ":",
        "Public on ",
        "<experiment>",
        "</experiment>",
        "<accession>",
        "<sampleattribute category=\"",
        "Source Name\t",
        "SDRF File\t",
        "Investigation Title\t",
        "Characteristics [Organism]\t",
        "\u{e9}",
        "\u{fffd}",
        "\u{0}",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat().into_bytes())
}

proptest! {
    #[test]
    fn no_panics_on_soup(bytes in soup(), raw in prop::collection::vec(any::<u8>(), 0..400)) {
        for format in ["geo-soft", "arrayexpress-xml", "mage-tab"] {
            run(format, &bytes);
            run(format, &raw);
        }
    }
}

#[test]
fn empty_inputs_give_diagnostics_not_records() {
    for format in ["geo-soft", "arrayexpress-xml"] {
        let items = run(format, b"");
        assert!(
            items.iter().all(|i| matches!(i, Item::Diagnostic(_))) && !items.is_empty(),
            "{format}"
        );
    }
    // An empty IDF is still a (flagged) record: the file says it is one.
    let items = run("mage-tab", b"");
    assert!(matches!(&items[..], [Item::Record(r)] if r.has_errors()));
}
