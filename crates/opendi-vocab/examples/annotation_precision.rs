//! How well the annotator does on real abstracts, with the articles' MeSH headings as judge,
//! and how long the vocabularies take to load.
//!
//! ```sh
//! cargo run --release -p opendi-vocab --example annotation_precision -- \
//!     [VOCAB_DIR] [PUBMED_XML_GZ] [ARTICLES]
//! ```
//! Defaults: `../shared/corpora/vocab`, `../shared/corpora/pubmed/pubmed20n0014.xml.gz`, 5000.
//!
//! A found organism is confirmed when the article carries its MeSH check tag (Humans, Mice …);
//! any other term when one of the article's MeSH descriptors names it (the annotator, run on
//! the descriptor and on its un-inverted form "Anemia, Aplastic" -> "Aplastic Anemia", finds
//! it). MeSH indexes what an article is about rather than all it mentions, so precision is a
//! lower bound. Recall: of the descriptors that are, whole, a vocabulary name, the share
//! found in the article's title and abstract.

use opendi_model::{Item, PartialDate};
use opendi_vocab::{Annotator, Kind, VocabConfig, Vocabulary};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::time::Instant;

fn uninvert(d: &str) -> String {
    match d.split_once(", ") {
        Some((a, b)) if !b.contains(", ") => format!("{b} {a}"),
        _ => d.to_string(),
    }
}

fn mesh_for_taxon(taxon: &str) -> Option<&'static str> {
    Some(match taxon {
        "9606" => "Humans",
        "10090" => "Mice",
        "10116" => "Rats",
        "9615" => "Dogs",
        "9913" => "Cattle",
        "9823" => "Swine",
        "9940" => "Sheep",
        "9031" => "Chickens",
        "562" => "Escherichia coli",
        "4932" => "Saccharomyces cerevisiae",
        "7227" => "Drosophila melanogaster",
        "9544" => "Macaca mulatta",
        "7955" => "Zebrafish",
        "6239" => "Caenorhabditis elegans",
        "8355" => "Xenopus laevis",
        _ => return None,
    })
}

#[derive(Default)]
struct Tally {
    found: usize,
    confirmed: usize,
    gold: usize,
    recalled: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .cloned()
        .unwrap_or_else(|| "../shared/corpora/vocab".into());
    let pubmed = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "../shared/corpora/pubmed/pubmed20n0014.xml.gz".into());
    let limit: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5000);

    let t = Instant::now();
    let vocab = Vocabulary::load(&VocabConfig::dir(&dir));
    let load = t.elapsed();
    println!("vocabularies from {dir}:");
    for s in &vocab.sources {
        println!(
            "  {:<14} {:>6} concepts {:>8.1} ms {}",
            s.name,
            s.concepts,
            s.millis,
            s.problem.as_deref().unwrap_or("")
        );
    }
    let t = Instant::now();
    let annotator = Annotator::new(&vocab);
    println!(
        "load {:.0} ms, annotator build {:.0} ms, {} concepts, {} names",
        load.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3,
        vocab.concepts.len(),
        annotator.names()
    );

    let file = std::fs::File::open(&pubmed).unwrap_or_else(|e| panic!("{pubmed}: {e}"));
    let mut reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let none = |_: &str| None;
    let ctx = opendi_ingest::ParseContext {
        file: &pubmed,
        today: PartialDate::ymd(2025, 1, 1).expect("a date"),
        siblings: &none,
    };
    let mut articles = 0usize;
    let mut tallies: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut misses: HashMap<(String, String), usize> = HashMap::new();
    let mut annotate_time = std::time::Duration::ZERO;
    let mut bytes = 0usize;
    let mut sink = |item: Item| {
        let Item::Record(rec) = item else { return };
        let Some(p) = &rec.publication else { return };
        if p.abstract_text.is_empty() || p.mesh.is_empty() || articles >= limit {
            return;
        }
        articles += 1;
        let mesh: Vec<&str> = p.mesh.iter().map(|m| m.descriptor.as_str()).collect();
        let mut named = HashSet::new();
        // Descriptors that are, whole, a vocabulary name: the recall denominator.
        let mut whole: HashMap<String, Kind> = HashMap::new();
        for m in &mesh {
            // MeSH says "Neoplasms" where text says cancer or tumor.
            let cancer = uninvert(m).replace("Neoplasms", "Cancer");
            for form in [m.to_string(), uninvert(m), cancer] {
                for f in annotator.annotate(&form) {
                    if f.matched.len() == form.len() {
                        whole.insert(f.id.clone(), f.kind);
                    }
                    named.insert(f.id);
                }
            }
        }
        let text = format!("{}\n<p>{}", p.title, p.abstract_text);
        bytes += text.len();
        let t = Instant::now();
        let found = annotator.annotate(&text);
        annotate_time += t.elapsed();
        let found_ids: HashSet<&str> = found.iter().map(|f| f.id.as_str()).collect();
        for f in &found {
            let ok = if f.kind == Kind::Organism {
                match mesh_for_taxon(f.id.trim_start_matches("NCBITaxon:")) {
                    Some(tag) => mesh.contains(&tag),
                    None => continue,
                }
            } else {
                named.contains(&f.id)
            };
            let tally = tallies.entry(f.kind).or_default();
            tally.found += 1;
            if ok {
                tally.confirmed += 1;
            } else {
                *misses
                    .entry((f.label.clone(), f.matched.to_lowercase()))
                    .or_default() += 1;
            }
        }
        for (id, kind) in &whole {
            if *kind == Kind::Organism {
                continue;
            }
            let tally = tallies.entry(*kind).or_default();
            tally.gold += 1;
            if found_ids.contains(id.as_str()) {
                tally.recalled += 1;
            }
        }
        // Organism recall: the check tags of the table.
        for tag in &mesh {
            let taxon = [
                "9606", "10090", "10116", "9615", "9913", "9823", "9940", "9031",
            ]
            .into_iter()
            .find(|t| mesh_for_taxon(t) == Some(tag));
            if let Some(taxon) = taxon {
                let tally = tallies.entry(Kind::Organism).or_default();
                tally.gold += 1;
                if found_ids.contains(format!("NCBITaxon:{taxon}").as_str()) {
                    tally.recalled += 1;
                }
            }
        }
    };
    opendi_ingest::pubmed::parse(&mut reader, &ctx, &mut sink).expect("read pubmed");
    let _ = reader.read(&mut [0u8; 0]);

    println!(
        "\n{articles} articles with abstract and MeSH; annotation {:.0} ms ({:.1} MB/s, {:.0} articles/s)",
        annotate_time.as_secs_f64() * 1e3,
        bytes as f64 / 1e6 / annotate_time.as_secs_f64(),
        articles as f64 / annotate_time.as_secs_f64()
    );
    println!(
        "{:<10} {:>7} {:>9} {:>9} {:>8} {:>9} {:>7}",
        "kind", "found", "confirmed", "precision", "MeSH", "recalled", "recall"
    );
    let (mut tf, mut tc) = (0, 0);
    for (kind, t) in &tallies {
        if *kind != Kind::Organism {
            tf += t.found;
            tc += t.confirmed;
        }
        println!(
            "{:<10} {:>7} {:>9} {:>8.1}% {:>8} {:>9} {:>6.1}%",
            kind.as_str(),
            t.found,
            t.confirmed,
            100.0 * t.confirmed as f64 / t.found.max(1) as f64,
            t.gold,
            t.recalled,
            100.0 * t.recalled as f64 / t.gold.max(1) as f64
        );
    }
    println!(
        "non-organism terms: {tc}/{tf} = {:.1}% confirmed by MeSH",
        100.0 * tc as f64 / tf.max(1) as f64
    );
    let mut misses: Vec<_> = misses.into_iter().collect();
    misses.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("\nmost frequent unconfirmed (label <- text):");
    for ((label, matched), n) in misses.iter().take(80) {
        println!("  {n:>4}  {label} <- {matched}");
    }
}
