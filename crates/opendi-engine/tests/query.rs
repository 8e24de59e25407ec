//! The query language through the engine, on a small written fixture: each construct with what
//! it matches and what it does not, malformed queries (a list and random strings), the limits,
//! synonym expansion on and off, and exact matches ranked first.

use opendi_engine::{Change, Engine, EngineConfig, NewRecord, SearchRequest, SearchResult, Sort};
use opendi_model::{
    Dataset, DateKind, DatedValue, Organism, PartialDate, Person, PersonRole, Term,
};
use proptest::prelude::*;
use std::sync::OnceLock;

struct Rec {
    acc: &'static str,
    repo: &'static str,
    title: &'static str,
    description: &'static str,
    date: &'static str,
    organism: Option<(&'static str, &'static str)>,
    disease: Option<&'static str>,
    tissue: Option<&'static str>,
    omics: Option<&'static str>,
    keyword: Option<&'static str>,
    person: Option<&'static str>,
}

const NONE: Rec = Rec {
    acc: "",
    repo: "",
    title: "",
    description: "",
    date: "",
    organism: None,
    disease: None,
    tissue: None,
    omics: None,
    keyword: None,
    person: None,
};

/// The fixture. Each record holds what one row of the table below needs, and no more: R5
/// says "Homo sapiens" only in its text (no organism field, which would add "human").
fn fixture() -> Vec<Rec> {
    vec![
        Rec {
            acc: "PXD000001",
            repo: "pride",
            title: "Leukemia proteome of bone marrow",
            description: "Acute myeloid samples analysed by mass spectrometry.",
            date: "2019-03-15",
            organism: Some(("9606", "Homo sapiens")),
            disease: Some("acute myeloid leukemia"),
            keyword: Some("bone marrow"),
            person: Some("Ada Lovelace"),
            ..NONE
        },
        Rec {
            acc: "GSE1000",
            repo: "geo",
            title: "Children treated with stem cells",
            description: "An aplastic anemia cohort.",
            date: "2020-07-01",
            organism: Some(("10090", "Mus musculus")),
            tissue: Some("liver"),
            ..NONE
        },
        Rec {
            acc: "PXD000002",
            repo: "pride",
            title: "Liver metabolism",
            description: "Proteins measured by spectrometry in a rat model.",
            date: "2021-06-30",
            omics: Some("Proteomics"),
            ..NONE
        },
        Rec {
            acc: "E-MTAB-1",
            repo: "arrayexpress",
            title: "Transcriptome of leukaemia cells",
            description: "Leukemia cells from patients.",
            date: "2018-02-01",
            omics: Some("Transcriptomics"),
            ..NONE
        },
        Rec {
            acc: "MTBLS5",
            repo: "metabolights",
            title: "A sleep cohort",
            description: "Blood samples from Homo sapiens volunteers.",
            date: "2017-01-01",
            ..NONE
        },
        Rec {
            acc: "MTBLS6",
            repo: "metabolights",
            title: "Liver metabolism and liver metabolism regulation in the liver",
            description: "Liver metabolism, liver metabolism, liver metabolism: liver metabolism again. Reanalysis of PXD000002.",
            date: "2016-01-01",
            ..NONE
        },
    ]
}

fn dataset(r: &Rec) -> Dataset {
    let mut d = Dataset::new(r.repo, r.acc);
    d.title = r.title.into();
    d.description = r.description.into();
    d.dates.push(DatedValue {
        kind: DateKind::Publication,
        value: PartialDate::parse(r.date),
        raw: r.date.into(),
    });
    if let Some((taxon, name)) = r.organism {
        d.organisms.push(Organism {
            taxon_id: Some(taxon.into()),
            name: name.into(),
            evidence: Default::default(),
        });
    }
    if let Some(x) = r.disease {
        d.diseases.push(Term::label(x));
    }
    if let Some(x) = r.tissue {
        d.tissues.push(Term::label(x));
    }
    if let Some(x) = r.omics {
        d.omics_types.push(x.into());
    }
    if let Some(x) = r.keyword {
        d.submitter_keywords.push(x.into());
    }
    if let Some(x) = r.person {
        d.people.push(Person {
            name: x.into(),
            role: PersonRole::Submitter,
            email: None,
            affiliation: None,
            orcid: None,
        });
    }
    d
}

fn engine_with(datasets: Vec<Dataset>) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(dir.path());
    // The built-in tables only (organisms, tissues): the same synonyms on every machine.
    config.vocab = opendi_engine::VocabConfig::default();
    let e = Engine::open(config).unwrap();
    let batch: Vec<Change> = datasets
        .into_iter()
        .map(|d| {
            Change::Upsert(Box::new(NewRecord::new(
                d,
                "<raw/>".into(),
                "test".into(),
                "query.rs".into(),
                vec![],
                None,
            )))
        })
        .collect();
    e.apply(&batch, 1000).unwrap();
    e.commit().unwrap();
    (dir, e)
}

/// One engine over the fixture for all tests of this file.
fn engine() -> &'static Engine {
    static E: OnceLock<(tempfile::TempDir, Engine)> = OnceLock::new();
    &E.get_or_init(|| engine_with(fixture().iter().map(dataset).collect()))
        .1
}

fn run(e: &Engine, q: &str, expand: bool) -> SearchResult {
    e.search(&SearchRequest {
        query: q.into(),
        limit: 50,
        expand,
        expand_clusters: true,
        ..Default::default()
    })
    .unwrap_or_else(|err| panic!("{q:?}: {err}"))
}

fn accessions(res: &SearchResult) -> Vec<String> {
    res.hits.iter().map(|h| h.accession.clone()).collect()
}

#[test]
fn each_construct_matches_what_it_says_and_nothing_else() {
    let e = engine();
    // (query, must find, must not find)
    let table: &[(&str, &[&str], &[&str])] = &[
        // terms, phrases, slop
        ("leukemia", &["PXD000001", "E-MTAB-1"], &["GSE1000"]),
        ("\"bone marrow\"", &["PXD000001"], &["E-MTAB-1"]),
        ("\"marrow bone\"", &[], &["PXD000001"]),
        ("\"leukemia marrow\"~3", &["PXD000001"], &[]),
        ("\"leukemia marrow\"~2", &[], &["PXD000001"]),
        // boolean operators, both spellings, prefixes, grouping
        ("leukemia AND marrow", &["PXD000001"], &["E-MTAB-1"]),
        ("leukemia && marrow", &["PXD000001"], &["E-MTAB-1"]),
        (
            "liver OR marrow",
            &["PXD000001", "PXD000002"],
            &["E-MTAB-1"],
        ),
        (
            "liver || marrow",
            &["PXD000001", "PXD000002"],
            &["E-MTAB-1"],
        ),
        ("leukemia NOT marrow", &["E-MTAB-1"], &["PXD000001"]),
        ("leukemia !marrow", &["E-MTAB-1"], &["PXD000001"]),
        ("leukemia -marrow", &["E-MTAB-1"], &["PXD000001"]),
        ("+leukemia +marrow", &["PXD000001"], &["E-MTAB-1"]),
        (
            "NOT leukemia",
            &["GSE1000", "MTBLS5"],
            &["PXD000001", "E-MTAB-1"],
        ),
        ("(liver OR marrow) AND bone", &["PXD000001"], &["PXD000002"]),
        // "proteome" and "Proteomics" share a stem: the omics type matches too.
        (
            "marrow OR proteome",
            &["PXD000001", "PXD000002"],
            &["GSE1000"],
        ),
        // fields and their aliases
        ("organism:mouse", &["GSE1000"], &["PXD000001"]),
        ("species:\"Mus musculus\"", &["GSE1000"], &["PXD000001"]),
        ("organism:human", &["PXD000001"], &["MTBLS5"]),
        ("disease:leukemia", &["PXD000001"], &["E-MTAB-1"]),
        ("tissue:liver", &["GSE1000"], &["PXD000002"]),
        (
            "repository:pride",
            &["PXD000001", "PXD000002"],
            &["GSE1000"],
        ),
        ("database:GEO", &["GSE1000"], &["PXD000001"]),
        ("omics:proteomics", &["PXD000002"], &["E-MTAB-1"]),
        ("omics_type:transcriptomics", &["E-MTAB-1"], &["PXD000002"]),
        ("accession:PXD000001", &["PXD000001"], &["PXD000002"]),
        ("id:pxd000001", &["PXD000001"], &["PXD000002"]),
        ("title:liver", &["PXD000002", "MTBLS6"], &["GSE1000"]),
        (
            "description:spectrometry",
            &["PXD000002", "PXD000001"],
            &["GSE1000"],
        ),
        ("keywords:marrow", &["PXD000001"], &["E-MTAB-1"]),
        ("author:lovelace", &["PXD000001"], &["PXD000002"]),
        ("submitter:\"Ada Lovelace\"", &["PXD000001"], &["PXD000002"]),
        ("title:(liver metabolism)", &["PXD000002"], &["GSE1000"]),
        // wildcards
        ("leuk*", &["PXD000001", "E-MTAB-1"], &["GSE1000"]),
        ("*emia", &["PXD000001", "GSE1000"], &["PXD000002"]),
        ("l?ukemia", &["PXD000001", "E-MTAB-1"], &["GSE1000"]),
        ("title:leuk*", &["PXD000001", "E-MTAB-1"], &["GSE1000"]),
        ("PXD00000*", &["PXD000001", "PXD000002"], &["GSE1000"]),
        ("zzz*", &[], &["PXD000001"]),
        // fuzzy
        ("leukemai~", &["PXD000001", "E-MTAB-1"], &["GSE1000"]),
        ("leukemai~1", &["PXD000001", "E-MTAB-1"], &["GSE1000"]),
        ("leukemai~0", &[], &["PXD000001"]),
        // years and dates
        ("year:2021", &["PXD000002"], &["GSE1000"]),
        (
            "year:[2019 TO 2021]",
            &["PXD000001", "GSE1000", "PXD000002"],
            &["E-MTAB-1"],
        ),
        (
            "year:{2019 TO 2021]",
            &["GSE1000", "PXD000002"],
            &["PXD000001"],
        ),
        ("year:>=2020", &["GSE1000", "PXD000002"], &["PXD000001"]),
        ("year:<2019", &["E-MTAB-1", "MTBLS5"], &["PXD000001"]),
        (
            "publication_date:[2019-01 TO 2020-06]",
            &["PXD000001"],
            &["GSE1000"],
        ),
        ("publication_date:2020-07", &["GSE1000"], &["PXD000002"]),
        (
            "publication_date:[2020-07 TO *]",
            &["GSE1000", "PXD000002"],
            &["PXD000001"],
        ),
        (
            "date:{2020-07-01 TO 2021-06-30]",
            &["PXD000002"],
            &["GSE1000"],
        ),
        ("year:2019 AND leukemia", &["PXD000001"], &["E-MTAB-1"]),
        // boosts change order, not matches
        ("liver^3 marrow", &["PXD000001", "PXD000002"], &["E-MTAB-1"]),
        // everything
        ("*", &["PXD000001", "MTBLS6"], &[]),
        ("", &["PXD000001", "MTBLS6"], &[]),
    ];
    for (q, yes, no) in table {
        let res = run(e, q, false);
        let got = accessions(&res);
        for y in *yes {
            assert!(got.iter().any(|g| g == y), "{q:?} should find {y}: {got:?}");
        }
        for n in *no {
            assert!(
                !got.iter().any(|g| g == n),
                "{q:?} should not find {n}: {got:?}"
            );
        }
        assert!(res.warnings.is_empty(), "{q:?}: {:?}", res.warnings);
    }
}

#[test]
fn malformed_queries_are_repaired_with_a_warning_never_an_error() {
    let e = engine();
    // (query, a record it still finds, a word the warning holds)
    let table: &[(&str, Option<&str>, &str)] = &[
        ("(leukemia marrow", Some("PXD000001"), "parenthesis"),
        ("leukemia marrow)", Some("PXD000001"), "parenthesis"),
        ("\"bone marrow", Some("PXD000001"), "quote"),
        ("AND marrow", Some("PXD000001"), "AND"),
        ("marrow OR", Some("PXD000001"), "OR"),
        ("marrow -", Some("PXD000001"), "operator"),
        ("colour:marrow", Some("PXD000001"), "unknown field"),
        ("year:[2019]", None, "range"),
        ("year:abc", None, "year"),
        ("publication_date:yesterday", None, "date"),
        ("leukemia~7", Some("PXD000001"), "fuzzy"),
        ("title:", None, "no value"),
        ("&&&", None, "AND"),
        ("\"\"", None, "nothing"),
    ];
    for (q, finds, warned) in table {
        let res = run(e, q, true);
        assert!(
            res.warnings.iter().any(|w| w.contains(warned)),
            "{q:?}: warnings {:?} lack {warned:?}",
            res.warnings
        );
        if let Some(acc) = finds {
            assert!(
                accessions(&res).iter().any(|a| a == acc),
                "{q:?}: {:?}",
                accessions(&res)
            );
        }
    }
    // Identifiers with a prefix are words, silently, and match the cross-references whole.
    assert!(run(e, "taxonomy:10090", true).warnings.is_empty());
    assert_eq!(accessions(&run(e, "taxonomy:10090", true)), vec!["GSE1000"]);
}

#[test]
fn limits_cut_hostile_queries_with_a_warning() {
    let e = engine();
    let long = "leukemia ".repeat(600);
    let res = run(e, &long, false);
    assert!(
        res.warnings.iter().any(|w| w.contains("longer than")),
        "{:?}",
        res.warnings
    );
    assert!(accessions(&res).contains(&"PXD000001".to_string()));

    // One-letter words: 2,000 clauses within the length limit.
    let many: String = (0..2000)
        .map(|i| format!("{} ", (b'a' + (i % 26) as u8) as char))
        .collect();
    let res = run(e, &many, false);
    assert!(
        res.warnings.iter().any(|w| w.contains("clauses")),
        "{:?}",
        res.warnings
    );

    let deep = format!("{}marrow{}", "(".repeat(200), ")".repeat(200));
    let res = run(e, &deep, false);
    assert!(
        res.warnings.iter().any(|w| w.contains("nested")),
        "{:?}",
        res.warnings
    );
    assert_eq!(accessions(&res), vec!["PXD000001"]);

    // A wildcard over a dictionary larger than the expansion budget.
    let words: String = (0..1500).map(|i| format!("zq{i:04} ")).collect();
    let mut d = Dataset::new("geo", "GSE9");
    d.title = "Many words".into();
    d.description = words;
    let (_dir, big) = engine_with(vec![d]);
    let res = run(&big, "zq*", false);
    assert!(
        res.warnings.iter().any(|w| w.contains("too many")),
        "{:?}",
        res.warnings
    );
    assert_eq!(accessions(&res), vec!["GSE9"]);
}

#[test]
fn synonyms_are_searched_unless_switched_off() {
    let e = engine();
    let on = run(e, "human", true);
    assert!(
        accessions(&on).contains(&"MTBLS5".to_string()),
        "{:?}",
        accessions(&on)
    );
    assert!(
        on.also_searched_for.iter().any(|a| a == "Homo sapiens"),
        "{:?}",
        on.also_searched_for
    );
    // The user's own word outweighs the synonym: the record saying "human" (its organism)
    // ranks above the one saying only "Homo sapiens".
    let pos = |res: &SearchResult, a: &str| accessions(res).iter().position(|x| x == a);
    assert!(
        pos(&on, "PXD000001") < pos(&on, "MTBLS5"),
        "{:?}",
        accessions(&on)
    );

    let off = run(e, "human", false);
    assert!(!accessions(&off).contains(&"MTBLS5".to_string()));
    assert!(off.also_searched_for.is_empty());

    // The taxon id names the organism too, and a name of several words is read whole.
    assert!(accessions(&run(e, "9606", true)).contains(&"MTBLS5".to_string()));
    let res = run(e, "mouse liver", true);
    assert!(
        res.also_searched_for.iter().any(|a| a == "Mus musculus"),
        "{:?}",
        res.also_searched_for
    );
    // Fielded and excluded words stay as written.
    assert!(run(e, "title:human", true).also_searched_for.is_empty());
    assert!(run(e, "sleep -human", true).also_searched_for.is_empty());
}

#[test]
fn exact_accession_then_exact_title_rank_first() {
    let e = engine();
    let res = run(e, "liver metabolism", false);
    let got = accessions(&res);
    assert_eq!(got[0], "PXD000002", "{got:?}");
    // BM25 alone prefers the record repeating the words: the exact title overrode it.
    let score = |a: &str| res.hits.iter().find(|h| h.accession == a).map(|h| h.score);
    assert!(score("PXD000002") < score("MTBLS6"), "{:?}", res.hits);

    assert_eq!(accessions(&run(e, "PXD000002", false))[0], "PXD000002");
    assert_eq!(
        accessions(&run(e, "\"Liver metabolism\"", true))[0],
        "PXD000002"
    );
    // Other orders are left alone.
    let by_date = e
        .search(&SearchRequest {
            query: "liver metabolism".into(),
            limit: 10,
            sort: Sort::DateDesc,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_date.hits[0].accession, "PXD000002");
    assert_eq!(
        by_date.hits.last().map(|h| h.accession.as_str()),
        Some("MTBLS6")
    );
}

#[test]
fn real_vocabularies_expand_disease_names() {
    let Some(dir) = opendi_corpora::corpus("vocab/hpo/hp.obo") else {
        return;
    };
    let vocab = dir.parent().and_then(|p| p.parent()).unwrap().to_path_buf();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(tmp.path());
    config.vocab = opendi_engine::VocabConfig::dir(vocab);
    let e = Engine::open(config).unwrap();
    let batch: Vec<Change> = fixture()
        .iter()
        .map(|r| {
            Change::Upsert(Box::new(NewRecord::new(
                dataset(r),
                "<raw/>".into(),
                "test".into(),
                "query.rs".into(),
                vec![],
                None,
            )))
        })
        .collect();
    e.apply(&batch, 1000).unwrap();
    e.commit().unwrap();
    // The British spelling finds the record that writes the American one, through HPO.
    let on = run(&e, "aplastic anaemia", true);
    assert!(
        on.also_searched_for
            .iter()
            .any(|a| a.eq_ignore_ascii_case("aplastic anemia")),
        "{:?}",
        on.also_searched_for
    );
    assert_eq!(accessions(&on)[0], "GSE1000");
    // Autocomplete offers the vocabulary's names that records hold.
    let s = e.suggest("aplastic", 8).unwrap();
    assert!(
        s.iter()
            .any(|s| s.text.eq_ignore_ascii_case("aplastic anemia") && s.kind == "disease"),
        "{s:?}"
    );
    let t = e.terms_matching("aplastic", 8).unwrap();
    assert!(
        t.iter()
            .any(|c| c.value.eq_ignore_ascii_case("aplastic anemia")),
        "{t:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// Any string of query characters: a result, never a panic or an error.
    #[test]
    fn random_queries_never_fail(q in r#"[a-zA-Z0-9 "()\[\]{}:*?~^+\-!&|\\<>=_.]{0,60}"#) {
        let res = engine().search(&SearchRequest { query: q.clone(), limit: 5, ..Default::default() });
        prop_assert!(res.is_ok(), "{:?}: {:?}", q, res.err());
    }

    /// The same with the words and operators of the language, where the parser branches.
    #[test]
    fn random_operator_soup_never_fails(parts in proptest::collection::vec(
        prop_oneof![
            Just("AND"), Just("OR"), Just("NOT"), Just("&&"), Just("||"), Just("!"), Just("("),
            Just(")"), Just("\""), Just("+"), Just("-"), Just("year:"), Just("title:"), Just("["),
            Just("]"), Just("{"), Just("}"), Just("TO"), Just("*"), Just("?"), Just("~"), Just("^2"),
            Just("leukemia"), Just("human"), Just("2019"), Just("foo:"), Just(" "), Just("publication_date:"),
        ],
        0..25,
    )) {
        let q: String = parts.concat();
        let res = engine().search(&SearchRequest { query: q.clone(), limit: 5, facets: true, facet_size: 5, ..Default::default() });
        prop_assert!(res.is_ok(), "{:?}: {:?}", q, res.err());
    }
}

/// An excluded group with nothing in it ("leukemia NOT (AND && AND") once
/// panicked inside tantivy's exclusion (found by the soup property in CI).
#[test]
fn excluding_an_empty_group_is_a_result() {
    for q in [
        "leukemia NOT (AND&&AND",
        "leukemia NOT ()",
        "leukemia -()",
        "NOT (AND)",
    ] {
        let res = engine().search(&SearchRequest {
            query: q.into(),
            limit: 5,
            facets: true,
            facet_size: 5,
            ..Default::default()
        });
        assert!(res.is_ok(), "{q:?}: {:?}", res.err());
    }
}
