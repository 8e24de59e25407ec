//! Finding vocabulary terms in free text.

use crate::load::is_acronym;
use crate::text::{self, Normalized};
use crate::{Concept, Kind, Name, NameUse, Vocabulary};
use opendi_model::{Dataset, Evidence};
use rustc_hash::FxHashMap;

/// Names shorter than this (letters and digits, spaces not counted) are too ambiguous to look
/// for ("AA" is aplastic anemia, amino acid and Alcoholics Anonymous) unless whitelisted.
const MIN_NAME_CHARS: usize = 4;

/// Short names that are safe: curated organism and tissue names, and the subject words of
/// clinical abstracts.
const SHORT_WHITELIST: &[&str] = &["eye", "rat", "rats", "pig", "pigs", "dog", "dogs", "men"];

/// Names that vocabularies carry but that in text say nothing specific: HPO's and CL's most
/// general terms and layperson synonyms that are everyday words. Checked on the normalized
/// name (lower case, hyphens as spaces). Grown from the false positives of the PubMed
/// precision check (`examples/annotation_precision.rs`).
const GENERIC: &[&str] = &[
    "all",
    "disease",
    "diseases",
    "disorder",
    "disorders",
    "condition",
    "syndrome",
    "death",
    "abnormal",
    "abnormality",
    "other",
    "unknown",
    "cell",
    "cells",
    "tissue",
    "blood cell",
    "native cell",
    "animal cell",
    "eukaryotic cell",
    "somatic cell",
    "cultured cell",
    "primary cultured cell",
    "progenitor cell",
    "stem cell",
    "precursor cell",
    "mass",
    "growth",
    "lesion",
    "lesions",
    "tumor",
    "tumour",
    "tumors",
    "cancer",
    "neoplasm",
    "neoplasms",
    "infection",
    "inflammation",
    "pain",
    "weakness",
    "fatigue",
    "stress",
    "shock",
    "failure",
    "obstruction",
    "injury",
    "trauma",
    "hypoxia",
    "insufficiency",
    "deficiency",
    "retardation",
    "recurrent",
    "polymorphism",
    "mutation",
    "young",
    "embryo",
    "old age",
    // Other senses dominate in abstracts: "respiratory depression", "ST depression",
    // "dissociation constant", "tolerance to a drug", "reflux of contrast".
    "depression",
    "dissociation",
    "tolerance",
    "reflux",
    "aspiration",
    "mole",
    "moles",
    "collecting",
    "type i",
    "type ii",
    "target cells",
];

/// A term found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub label: String,
    pub kind: Kind,
    /// The words of the text that named it, as written.
    pub matched: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub concept: u32,
    pub usage: NameUse,
    /// Only where the text writes the name in capitals (abbreviations).
    pub caps_only: bool,
}

/// Normalized names, how they are looked up, and which concepts each names.
///
/// Names are found with one hash map holding every normalized name and every proper prefix of
/// one in whole words: from a word of the text, the map is probed with one more word at a
/// time for as long as what it holds so far begins some name, and the longest name met wins.
/// Most words begin no name, so most words cost one probe. It replaced an Aho-Corasick
/// automaton over the names: the same answers (searches were anchored at word starts, so the
/// automaton's failure links went unused), without the automaton's build, which was 7% of the
/// CPU time of a 30,000-record PubMed ingest.
///
/// Before the map, a word is looked for in [`FirstWords`], one bit per hash of the first word of
/// a name: the map (every name, its prefixes, their strings on the heap) outgrows the CPU's
/// caches, and its probes, a miss each, were 3.8% of a generated corpus's ingest.
pub(crate) struct Matcher {
    /// Name or prefix of names -> what it is.
    index: FxHashMap<Box<str>, Entry>,
    targets: Vec<Vec<Target>>,
    first_words: FirstWords,
}

/// A set of words that may answer "no" wrongly never and "yes" wrongly rarely (one bit per
/// hash, sixteen bits or more per word: about one word in sixteen that begins no name passes).
struct FirstWords {
    bits: Vec<u64>,
    /// log2 of the number of bits.
    shift: u32,
}

impl FirstWords {
    fn new<'a>(words: impl Iterator<Item = &'a str> + Clone) -> FirstWords {
        let n = words.clone().count().max(1);
        let log2 = (n * 16).next_power_of_two().trailing_zeros().max(12);
        let mut set = FirstWords {
            bits: vec![0; 1 << (log2 - 6)],
            shift: 64 - log2,
        };
        for w in words {
            let b = set.bit(w);
            set.bits[b >> 6] |= 1 << (b & 63);
        }
        set
    }

    fn bit(&self, word: &str) -> usize {
        use std::hash::Hasher;
        let mut h = rustc_hash::FxHasher::default();
        h.write(word.as_bytes());
        // The high bits of Fx's product are the well-mixed ones.
        (h.finish() >> self.shift) as usize
    }

    fn may_contain(&self, word: &str) -> bool {
        let b = self.bit(word);
        self.bits[b >> 6] & (1 << (b & 63)) != 0
    }
}

#[derive(Clone, Copy)]
struct Entry {
    /// The name's index in `targets` ([`Entry::NONE`]: only a prefix of longer names).
    pattern: u32,
    /// Some longer name begins with this one.
    longer: bool,
}

impl Entry {
    const NONE: u32 = u32::MAX;
}

/// A name found in a text: its original byte span and the concepts it may name.
pub(crate) struct Hit<'m> {
    pub start: usize,
    pub end: usize,
    pub targets: Vec<&'m Target>,
}

impl Matcher {
    /// `names` yields, for each concept, the surface forms to look for.
    pub fn build(
        concepts: &[Concept],
        names: impl Fn(&Concept, &Name) -> Vec<(String, bool)>,
    ) -> Matcher {
        // Sized up front: grown by doubling, the map's rehashes were a tenth of a server's
        // start-up. Names and their word prefixes come to about twice the names.
        let names_n: usize = concepts.iter().map(|c| c.names.len()).sum();
        let mut index: FxHashMap<Box<str>, Entry> =
            FxHashMap::with_capacity_and_hasher(names_n * 2, Default::default());
        let mut targets: Vec<Vec<Target>> = Vec::with_capacity(names_n);
        for (ci, c) in concepts.iter().enumerate() {
            for n in &c.names {
                for (surface, caps_only) in names(c, n) {
                    let Some(key) = text::name_key(&surface) else {
                        continue;
                    };
                    let entry = index.entry(key.as_str().into()).or_insert(Entry {
                        pattern: Entry::NONE,
                        longer: false,
                    });
                    let new = entry.pattern == Entry::NONE;
                    if new {
                        entry.pattern = targets.len() as u32;
                        targets.push(Vec::new());
                    }
                    let pattern = entry.pattern as usize;
                    if new {
                        // Every space but the last (each word ends with one) ends a proper
                        // prefix of the name.
                        for (end, _) in key[..key.len() - 1].match_indices(' ') {
                            index
                                .entry(key[..=end].into())
                                .or_insert(Entry {
                                    pattern: Entry::NONE,
                                    longer: false,
                                })
                                .longer = true;
                        }
                    }
                    let t = &mut targets[pattern];
                    if !t.iter().any(|x| x.concept == ci as u32) {
                        t.push(Target {
                            concept: ci as u32,
                            usage: n.usage,
                            caps_only,
                        });
                    }
                }
            }
        }
        for t in &mut targets {
            t.sort_by_key(|x| (x.usage, x.concept));
        }
        // Keys are whole words each ended by a space: the first word runs to the first space.
        let firsts: rustc_hash::FxHashSet<&str> = index
            .keys()
            .map(|k| k.find(' ').map_or(&k[..], |sp| &k[..=sp]))
            .collect();
        let first_words = FirstWords::new(firsts.iter().copied());
        tracing::debug!(names = names_n, keys = index.len(), "name matcher built");
        Matcher {
            index,
            targets,
            first_words,
        }
    }

    /// The longest name that starts at token `i`: its pattern and the token after it.
    /// Names are whole tokens each followed by a space, so a name ends where a token starts.
    fn longest_at(&self, n: &Normalized, i: usize) -> Option<(usize, usize)> {
        let first_end = n.starts.get(i + 1).copied().unwrap_or(n.text.len());
        if !self
            .first_words
            .may_contain(&n.text[n.starts[i]..first_end])
        {
            return None;
        }
        let mut best = None;
        for next in i + 1..=n.starts.len() {
            let end = n.starts.get(next).copied().unwrap_or(n.text.len());
            let Some(e) = self.index.get(&n.text[n.starts[i]..end]) else {
                break;
            };
            if e.pattern != Entry::NONE {
                best = Some((e.pattern as usize, next));
            }
            if !e.longer {
                break;
            }
        }
        best
    }

    pub fn patterns(&self) -> usize {
        self.targets.len()
    }

    /// The longest name starting at each word, left to right, never overlapping.
    pub fn find<'m>(&'m self, original: &str, n: &Normalized) -> Vec<Hit<'m>> {
        let mut hits = Vec::new();
        let mut i = 0;
        while i < n.starts.len() {
            if n.is_break(i) {
                i += 1;
                continue;
            }
            let Some((pattern, next)) = self.longest_at(n, i) else {
                i += 1;
                continue;
            };
            let (start, end) = (n.spans[i].0, n.spans[next - 1].1);
            let written = &original[start..end];
            let caps = !written.chars().any(|c| c.is_lowercase());
            let targets: Vec<&Target> = self.targets[pattern]
                .iter()
                .filter(|t| !t.caps_only || caps)
                .collect();
            if targets.is_empty() {
                i += 1;
                continue;
            }
            hits.push(Hit {
                start,
                end,
                targets,
            });
            i = next;
        }
        hits
    }
}

/// Finds vocabulary terms in free text. Build once (it puts every name in one map), then
/// call from any thread.
pub struct Annotator {
    concepts: Vec<Concept>,
    matcher: Matcher,
}

/// The count of letters and digits of a normalized name.
fn name_chars(key: &str) -> usize {
    key.chars().filter(|c| c.is_alphanumeric()).count()
}

fn is_generic(key: &str) -> bool {
    GENERIC.contains(&key.trim_end())
}

/// British spellings of the stems medical text uses both ways.
const SPELLINGS: &[(&str, &str)] = &[
    ("anemi", "anaemi"),
    ("leukemi", "leukaemi"),
    ("tumor", "tumour"),
    ("hemorrh", "haemorrh"),
    ("hemat", "haemat"),
    ("hemo", "haemo"),
    ("edema", "oedema"),
    ("esophag", "oesophag"),
    ("ischemi", "ischaemi"),
    ("pediatric", "paediatric"),
    ("estrogen", "oestrogen"),
];

/// The plural of a name's last word, for the regular cases.
fn plural(name: &str) -> Option<String> {
    let last = name.rsplit([' ', '-']).next()?;
    if last.len() < 3 || !last.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let stem = &name[..name.len() - last.len()];
    let p = if last.ends_with('s') || last.ends_with('x') || last.ends_with("ia") {
        return None;
    } else if let Some(s) = last
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u']))
    {
        format!("{s}ies")
    } else if last.ends_with("ch") || last.ends_with("sh") {
        format!("{last}es")
    } else {
        format!("{last}s")
    };
    Some(format!("{stem}{p}"))
}

/// The surface forms to look for in text for one name, with "capitals only" flags.
fn annotation_forms(n: &Name) -> Vec<(String, bool)> {
    let key = match text::name_key(&n.text) {
        Some(k) => k,
        None => return Vec::new(),
    };
    let chars = name_chars(&key);
    let whitelisted = SHORT_WHITELIST.contains(&key.trim_end());
    if is_generic(&key)
        || key
            .trim_end()
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ')
    {
        return Vec::new();
    }
    match n.usage {
        NameUse::Related | NameUse::Identifier => Vec::new(),
        NameUse::Abbreviation => {
            if is_acronym(&n.text) && (chars >= MIN_NAME_CHARS || whitelisted) {
                vec![(n.text.clone(), true)]
            } else {
                Vec::new()
            }
        }
        NameUse::Context => vec![(n.text.clone(), false)],
        NameUse::Label | NameUse::Exact => {
            if chars < MIN_NAME_CHARS && !whitelisted {
                return Vec::new();
            }
            if is_acronym(&n.text) {
                return vec![(n.text.clone(), true)];
            }
            let lower = n.text.to_lowercase();
            let mut forms = vec![lower.clone()];
            for (us, uk) in SPELLINGS {
                if lower.contains(us) {
                    forms.push(lower.replace(us, uk));
                }
            }
            let singulars = forms.clone();
            forms.extend(singulars.iter().filter_map(|f| plural(f)));
            forms.retain(|f| text::name_key(f).is_some_and(|k| !is_generic(&k)));
            forms.into_iter().map(|f| (f, false)).collect()
        }
    }
}

impl Annotator {
    pub fn new(vocab: &Vocabulary) -> Annotator {
        let concepts = vocab.concepts.clone();
        let matcher = Matcher::build(&concepts, |_, n| annotation_forms(n));
        tracing::info!(
            concepts = concepts.len(),
            names = matcher.patterns(),
            "annotator ready"
        );
        Annotator { concepts, matcher }
    }

    /// The number of distinct names looked for.
    pub fn names(&self) -> usize {
        self.matcher.patterns()
    }

    /// The terms named in `text` (plain text or HTML), each once, in order of first mention.
    /// Where one name fits several concepts, the best of each kind is kept (a label before a
    /// synonym; for "aplastic anemia", both the disease and the HPO phenotype).
    pub fn annotate(&self, text: &str) -> Vec<Found> {
        let n = text::normalize(text);
        let mut out: Vec<Found> = Vec::new();
        for hit in self.matcher.find(text, &n) {
            let mut kinds: Vec<Kind> = Vec::new();
            for t in &hit.targets {
                let c = &self.concepts[t.concept as usize];
                if kinds.contains(&c.kind) {
                    continue;
                }
                kinds.push(c.kind);
                if out.iter().any(|f| f.id == c.id) {
                    continue;
                }
                out.push(Found {
                    id: c.id.clone(),
                    label: c.label.clone(),
                    kind: c.kind,
                    matched: text[hit.start..hit.end].to_string(),
                    evidence: Evidence::FoundInText,
                });
            }
        }
        out
    }

    /// Annotates a record from its title and description and adds what was found to its
    /// diseases, organisms, cell types and tissues with the evidence "found in text". A field
    /// the source filled is left alone: a declared organism is better than a guess, and a
    /// PRIDE record's "mouse monoclonal antibody" does not make it a mouse study.
    /// Returns the terms added.
    pub fn annotate_dataset(&self, d: &mut Dataset) -> Vec<Found> {
        let declared = |evidence: &[Evidence]| evidence.contains(&Evidence::Declared);
        let fill_diseases = !declared(&d.diseases.iter().map(|t| t.evidence).collect::<Vec<_>>());
        let fill_organisms = !declared(&d.organisms.iter().map(|o| o.evidence).collect::<Vec<_>>());
        let fill_cells = !declared(&d.cell_types.iter().map(|t| t.evidence).collect::<Vec<_>>());
        let fill_tissues = !declared(&d.tissues.iter().map(|t| t.evidence).collect::<Vec<_>>());
        let text = format!("{}\n<p>{}", d.title, d.description);
        // Diseases before phenotypes, so a name that is both keeps the disease's id.
        let mut found = self.annotate(&text);
        found.sort_by_key(|f| f.kind);
        let mut added = Vec::new();
        for f in found {
            let list = match f.kind {
                Kind::Disease | Kind::Phenotype if fill_diseases => &mut d.diseases,
                Kind::CellType if fill_cells => &mut d.cell_types,
                Kind::Tissue if fill_tissues => &mut d.tissues,
                Kind::Organism if fill_organisms => {
                    let before = d.organisms.len();
                    d.push_organism(
                        &f.label,
                        f.id.strip_prefix("NCBITaxon:"),
                        Evidence::FoundInText,
                    );
                    if d.organisms.len() > before {
                        added.push(f);
                    }
                    continue;
                }
                _ => continue,
            };
            let before = list.len();
            Dataset::push_term(list, &f.label, Some(&f.id), Evidence::FoundInText);
            if list.len() > before {
                added.push(f);
            }
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_words_never_miss_a_member_and_rarely_pass_another_word() {
        let members: Vec<String> = (0..5000).map(|i| format!("word{i} ")).collect();
        let set = FirstWords::new(members.iter().map(String::as_str));
        assert!(members.iter().all(|w| set.may_contain(w)));
        let passed = (0..100_000)
            .filter(|i| set.may_contain(&format!("other{i} ")))
            .count();
        // Sixteen bits or more per member: about one in sixteen passes, or fewer.
        assert!(passed < 100_000 / 8, "{passed} of 100000 passed");
    }

    fn vocab() -> Vocabulary {
        let mut aa = Concept::new("HP:0001915", "Aplastic anemia", Kind::Phenotype);
        aa.add_name("AA", NameUse::Abbreviation);
        let mut omim = Concept::new("OMIM:609135", "Aplastic anemia", Kind::Disease);
        omim.add_name("SAA", NameUse::Abbreviation);
        let mut msc = Concept::new("CL:0000134", "mesenchymal stem cell", Kind::CellType);
        msc.add_name("MSC", NameUse::Abbreviation);
        let mut t = Concept::new("HP:0100000", "T-cell lymphoma", Kind::Phenotype);
        t.add_name("ADHD", NameUse::Abbreviation);
        let generic = Concept::new("HP:0000001", "All", Kind::Phenotype);
        let mut v = crate::load::load(&crate::VocabConfig::default());
        v.concepts.extend([aa, omim, msc, t, generic]);
        v
    }

    #[test]
    fn the_prefix_walk_finds_the_longest_name_at_each_word() {
        let v = vocab();
        let m = Matcher::build(&v.concepts, |_, n| annotation_forms(n));
        // The answer by brute force: every span of whole words from the word, longest first.
        let brute = |n: &Normalized, i: usize| -> Option<(usize, usize)> {
            (i + 1..=n.starts.len()).rev().find_map(|next| {
                let end = n.starts.get(next).copied().unwrap_or(n.text.len());
                let e = m.index.get(&n.text[n.starts[i]..end])?;
                (e.pattern != Entry::NONE).then_some((e.pattern as usize, next))
            })
        };
        let mut found = 0;
        for t in [
            "Severe aplastic anaemia in children; mesenchymal stem cells. T cell lymphomas.",
            "aplastic",
            "aplastic anemia",
            "SAA and AA, ADHD. Aplastic. Anemia",
            "mesenchymal stem",
            "e. coli in human bone marrow, mouse liver and Homo sapiens",
            "acute myeloid leukemia with myelodysplasia-related changes in bone marrow",
            "",
        ] {
            let n = text::normalize(t);
            for i in 0..n.starts.len() {
                let got = m.longest_at(&n, i);
                assert_eq!(got, brute(&n, i), "{t:?} at word {i}");
                found += usize::from(got.is_some());
            }
        }
        assert!(found >= 10, "{found}");
        // "mesenchymal stem" begins a name without being one: a prefix, no pattern.
        let prefix = m.index.get("mesenchymal stem ").expect("a prefix entry");
        assert!(prefix.longer);
    }

    #[test]
    fn finds_labels_plurals_spellings_and_hyphen_variants_with_word_boundaries() {
        let a = Annotator::new(&vocab());
        let found = a.annotate(
            "<h4>Aims</h4>Severe aplastic anaemia in children; mesenchymal stem cells. \
             T cell lymphomas in mice. Anemiaplastic is not a word. All cells.",
        );
        let got: Vec<(&str, Kind, &str)> = found
            .iter()
            .map(|f| (f.id.as_str(), f.kind, f.matched.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("HP:0001915", Kind::Phenotype, "aplastic anaemia"),
                ("OMIM:609135", Kind::Disease, "aplastic anaemia"),
                ("NCBITaxon:9606", Kind::Organism, "children"),
                ("CL:0000134", Kind::CellType, "mesenchymal stem cells"),
                ("HP:0100000", Kind::Phenotype, "T cell lymphomas"),
                ("NCBITaxon:10090", Kind::Organism, "mice"),
            ]
        );
    }

    #[test]
    fn abbreviations_only_in_capitals_and_short_ones_never() {
        let a = Annotator::new(&vocab());
        let ids = |t: &str| a.annotate(t).into_iter().map(|f| f.id).collect::<Vec<_>>();
        assert_eq!(ids("ADHD was common"), ["HP:0100000"]);
        assert!(ids("adhd was common").is_empty());
        // "AA" and "SAA" are under four characters: too ambiguous.
        assert!(ids("AA and SAA").is_empty());
        assert_eq!(ids("MSC infusion"), Vec::<String>::new());
    }

    #[test]
    fn plural_forms() {
        assert_eq!(plural("t cell").as_deref(), Some("t cells"));
        assert_eq!(plural("artery").as_deref(), Some("arteries"));
        assert_eq!(plural("anemia"), None);
        assert_eq!(plural("pancreas"), None);
        assert_eq!(plural("DNA"), None);
    }

    #[test]
    fn fills_only_fields_the_source_left_empty() {
        let a = Annotator::new(&vocab());
        let mut d = Dataset::new("pride", "PXD1");
        d.title = "Aplastic anemia in mice".into();
        d.push_organism("Homo sapiens", Some("9606"), Evidence::Declared);
        let added = a.annotate_dataset(&mut d);
        assert_eq!(d.organisms.len(), 1, "a declared organism stays alone");
        assert_eq!(d.diseases.len(), 1, "{:?}", d.diseases);
        assert_eq!(d.diseases[0].id.as_deref(), Some("OMIM:609135"));
        assert_eq!(d.diseases[0].evidence, Evidence::FoundInText);
        assert_eq!(added.len(), 1);
    }
}
