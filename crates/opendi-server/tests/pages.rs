//! The HTML portal on real records: the seed dataset page shows every element of the reference
//! page; values are escaped and record HTML sanitized; search, home, stats and exports work.

mod common;

use common::{get, state, XSS_TITLE};

const SEED: &str = "/dataset/biostudies-literature/S-EPMC7912947";

#[tokio::test]
async fn seed_dataset_page_shows_the_reference_elements() {
    let Some(s) = state() else { return };
    let r = get(&s, SEED).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.content_type, "text/html; charset=utf-8");
    let b = &r.body;
    for needle in [
        // title, abstract sections rendered as headings, sup kept
        "<h1>Combination of umbilical cord mesenchymal stem cells and standard immunosuppressive regimen for pediatric patients with severe aplastic anemia.</h1>",
        "<h4>Background</h4>",
        "<h4>Methods</h4>",
        "<h4>Results</h4>",
        "<h4>Conclusions</h4>",
        "10<sup>6</sup>",
        // omics type, submitter, provider line, repositories
        ">Unknown</a>",
        "<dt>Submitter</dt><dd>Lan Y</dd>",
        "S-EPMC7912947 | biostudies-literature | 2021 Feb",
        "<dt>Repositories</dt>",
        // metrics
        "<dt>Views</dt>",
        "<dt>Downloads</dt>",
        "<dt>Citations</dt>",
        "<dt>Reanalyses</dt>",
        "<dt>Connections</dt>",
        // publication with authors, journal, date and a collapsible abstract
        "<h2 id=\"h-pubs\">Publications</h2>",
        "Lan Y, Liu F, Chang L",
        "BMC pediatrics",
        "2021 Feb 27",
        "<details><summary>Abstract</summary>",
        // the trial registration and the PMC article as links
        // (minijinja's autoescape writes `/` as `&#x2f;`, which browsers read as `/`)
        r#"<a href="https:&#x2f;&#x2f;clinicaltrials.gov&#x2f;study&#x2f;NCT02218437" rel="noopener">NCT02218437</a>"#,
        r#"href="https:&#x2f;&#x2f;europepmc.org&#x2f;article&#x2f;PMC&#x2f;PMC7912947""#,
        // similar datasets, cite/export, JSON-LD
        "Similar Datasets",
        "&#x2f;dataset&#x2f;biostudies-literature&#x2f;S-EPMC7912947&#x2f;export&#x2f;bibtex",
        "&#x2f;export&#x2f;ris",
        "&#x2f;export&#x2f;jsonld",
        r#"<script type="application/ld+json">"#,
        "@misc{S_EPMC7912947,",
    ] {
        assert!(b.contains(needle), "missing {needle:?}");
    }
}

/// The seed's similar list (computed at ingest) is on its page, each entry with its reasons.
#[tokio::test]
async fn dataset_page_lists_similar_datasets_with_reasons() {
    let Some(s) = state() else { return };
    let b = get(&s, SEED).await.body;
    let section = b
        .split("<h2 id=\"h-similar\">Similar Datasets</h2>")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .expect("similar section");
    assert!(!section.contains("No similar datasets found"), "{section}");
    let reasons: Vec<&str> = section
        .split("<li class=\"reason\">")
        .skip(1)
        .filter_map(|r| r.split("</li>").next())
        .collect();
    assert!(!reasons.is_empty(), "{section}");
    assert!(
        reasons.iter().any(|r| r.starts_with("shared terms: ")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn dataset_page_json_ld_is_a_schema_org_dataset() {
    let Some(s) = state() else { return };
    let b = get(&s, SEED).await.body;
    let start = b.find(r#"<script type="application/ld+json">"#).unwrap() + 35;
    let end = start + b[start..].find("</script>").unwrap();
    let ld: serde_json::Value = serde_json::from_str(&b[start..end]).unwrap();
    assert_eq!(ld["@type"], "Dataset");
    assert_eq!(ld["identifier"][0], "S-EPMC7912947");
    assert_eq!(
        ld["url"],
        "http://opendi.test/dataset/biostudies-literature/S-EPMC7912947"
    );
    assert_eq!(ld["datePublished"], "2021-02-27");
    assert_eq!(ld["includedInDataCatalog"]["name"], "BioStudies literature");
    assert_eq!(
        ld["sameAs"][0],
        "https://www.ebi.ac.uk/biostudies/studies/S-EPMC7912947"
    );
    assert!(ld["description"].as_str().unwrap().chars().count() >= 50);
    assert!(!ld["description"].as_str().unwrap().contains("<h4>"));
    assert_eq!(ld["creator"][0]["name"], "Lan Y");
    assert!(ld["citation"][0]["name"]
        .as_str()
        .unwrap()
        .starts_with("Combination"));
}

#[tokio::test]
async fn hostile_values_are_escaped_and_sanitized() {
    let Some(s) = state() else { return };
    let r = get(&s, "/dataset/pride/XSS0001").await;
    assert_eq!(r.status, 200);
    let b = &r.body;
    assert!(!b.contains("<script>alert(1)"), "raw script rendered");
    assert!(!b.contains("<img"), "img rendered");
    assert!(!b.contains("onerror"), "handler attribute rendered");
    assert!(!b.contains("javascript:"), "javascript: URL rendered");
    assert!(b.contains("<h1>Hostile &lt;script&gt;alert(1)&lt;&#x2f;script&gt; title</h1>"));
    assert!(b.contains("<h4>Intro</h4>"), "allowed markup kept");
    assert!(b.contains("&lt;b&gt;kw&lt;&#x2f;b&gt;"));
    // The JSON-LD block cannot be closed by a value.
    let ld_start = b.find(r#"<script type="application/ld+json">"#).unwrap();
    let ld_end = ld_start + b[ld_start..].find("</script>").unwrap();
    assert!(b[ld_start..ld_end].contains("\\u003cscript\\u003e"));
    // Search results escape titles too.
    let r = get(&s, "/search?q=hostile").await;
    // The query word is marked; the rest of the title stays escaped.
    assert!(
        r.body
            .contains("<mark>Hostile</mark> &lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || r.body
                .contains("<mark>Hostile</mark> &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(XSS_TITLE));
}

#[tokio::test]
async fn unknown_dataset_is_a_404_page() {
    let Some(s) = state() else { return };
    let r = get(&s, "/dataset/pride/PXD999999999").await;
    assert_eq!(r.status, 404);
    assert!(r.content_type.starts_with("text/html"));
    assert!(r.body.contains("404"));
    let r = get(&s, "/no/such/page").await;
    assert_eq!(r.status, 404);
    assert!(r.content_type.starts_with("text/html"));
}

#[tokio::test]
async fn repository_names_resolve_in_any_spelling() {
    let Some(s) = state() else { return };
    assert_eq!(get(&s, "/dataset/PRIDE/PXD000001").await.status, 200);
    assert_eq!(get(&s, "/dataset/pride/pxd000001").await.status, 200);
}

#[tokio::test]
async fn views_and_downloads_are_counted_and_persisted() {
    let Some(s) = state() else { return };
    let id = s.engine().resolve("pride/PXD000005").unwrap()[0];
    let before = s.engine().counters(id).unwrap();
    get(&s, "/dataset/pride/PXD000005").await;
    get(&s, "/dataset/pride/PXD000005").await;
    let r = get(&s, "/dataset/pride/PXD000005/export/bibtex").await;
    assert_eq!(r.status, 200);
    let after = s.engine().counters(id).unwrap();
    assert!(after.views >= before.views + 2, "{before:?} {after:?}");
    assert!(after.downloads > before.downloads, "{before:?} {after:?}");
    // The page shows the count including its own view.
    let r = get(&s, "/dataset/pride/PXD000005/export/json").await;
    let v = r.json();
    assert!(v["counters"]["views"].as_u64().unwrap() >= 2);
}

#[tokio::test]
async fn exports_have_their_content_types() {
    let Some(s) = state() else { return };
    let base = format!("{SEED}/export");
    let r = get(&s, &format!("{base}/json")).await;
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.json()["id"], "S-EPMC7912947");
    let r = get(&s, &format!("{base}/jsonld")).await;
    assert_eq!(r.content_type, "application/ld+json");
    assert_eq!(r.json()["@type"], "Dataset");
    let r = get(&s, &format!("{base}/bibtex")).await;
    assert!(r.content_type.starts_with("application/x-bibtex"));
    assert!(r.body.starts_with("@misc{S_EPMC7912947,"), "{}", r.body);
    assert!(r.body.contains("year = {2021}"));
    let r = get(&s, &format!("{base}/ris")).await;
    assert!(r
        .content_type
        .starts_with("application/x-research-info-systems"));
    assert!(r.body.starts_with("TY  - DATA\r\n"));
    assert!(r.body.contains("AN  - S-EPMC7912947\r\n"));
    assert!(r.body.ends_with("ER  - \r\n"));
    assert_eq!(get(&s, &format!("{base}/docx")).await.status, 404);
}

#[tokio::test]
async fn search_page_has_facets_sorting_paging_and_help() {
    let Some(s) = state() else { return };
    let r = get(&s, "/search?q=").await;
    assert_eq!(r.status, 200);
    let b = &r.body;
    assert!(b.contains(r#"<label for="q">Search datasets</label>"#));
    assert!(b.contains(r#"<label class="inline" for="sort">Sort by</label>"#));
    for h in ["Repository", "Omics type", "Organism", "Year"] {
        assert!(b.contains(&format!(">{h}</h3>")), "facet {h}");
    }
    // Facet links add filters in the issue's format.
    assert!(b.contains("filter=repository%3Apride"), "{b}");
    assert!(b.contains(" datasets</h1>"));
    assert!(b.contains(r#"rel="next""#), "a second page exists");

    // A filter narrows, shows as removable, and combines with another.
    let r = get(&s, "/search?q=&filter=repository:pride").await;
    assert!(
        r.body.contains("Remove filter Repository: PRIDE"),
        "{}",
        r.body
    );
    let r2 = get(&s, "/search?q=&filter=repository:pride&filter=year:2012").await;
    assert_eq!(r2.status, 200);
    let count = |b: &str| -> String {
        let i = b.find("id=\"h-count\"").unwrap();
        b[i..i + 60].to_string()
    };
    assert_ne!(count(&r.body), count(&r2.body));

    // Sort by date and go deep into the pages.
    let r = get(&s, "/search?q=&sort=date_desc&page=3").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains(r#"<span aria-current="page">3</span>"#));

    // Nothing matches: help text.
    let r = get(&s, "/search?q=zzqqxxnonexistent").await;
    assert!(r.body.contains("No datasets match"));
    assert!(r.body.contains("Nothing matched"));

    // Bad parameters are a 400 page, not a crash.
    assert_eq!(get(&s, "/search?q=x&sort=sideways").await.status, 400);
    assert_eq!(get(&s, "/search?q=x&page=zero").await.status, 400);
    assert_eq!(get(&s, "/search?q=x&filter=colour:red").await.status, 400);
}

#[tokio::test]
async fn home_and_stats_pages() {
    let Some(s) = state() else { return };
    let r = get(&s, "/").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains(r#"action="/search""#));
    assert!(r.body.contains("Repositories"));
    assert!(r.body.contains("Omics types"));
    assert!(r.body.contains("Latest datasets"));
    assert!(r.body.contains("BioStudies literature"));
    let r = get(&s, "/stats").await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.matches("<svg class=\"chart\"").count() >= 4,
        "repository, omics, year and organism charts have data"
    );
    for t in [
        "Datasets per repository",
        "Datasets per omics type",
        "Datasets per year",
        "Top organisms",
        "Top diseases",
        "Top tissues",
    ] {
        assert!(r.body.contains(t), "{t}");
    }
    let css = get(&s, "/static/style.css").await;
    assert_eq!(css.status, 200);
    assert!(css.content_type.starts_with("text/css"));
}

#[tokio::test]
async fn suggest_completes_the_last_word_from_the_index() {
    let Some(s) = state() else { return };
    let r = get(&s, "/api/v1/suggest?q=severe%20aplas").await;
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let values: Vec<&str> = v["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["value"].as_str())
        .collect();
    assert!(values.contains(&"severe aplastic"), "{values:?}");
    // Facet values as sources spell them, typed in lower case.
    let r = get(&s, "/api/v1/suggest?q=homo").await;
    assert!(
        r.body
            .contains(r#""text":"Homo sapiens","kind":"organism""#),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#""value":"\"Homo sapiens\"""#),
        "{}",
        r.body
    );
    // One letter is too little to complete.
    let r = get(&s, "/api/v1/suggest?q=a").await;
    assert!(r.body.contains(r#""suggestions":[]"#), "{}", r.body);
    let r = get(&s, "/api/v1/suggest?q=liver&size=0").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn search_page_sorts_by_citations_and_views_and_highlights() {
    let Some(s) = state() else { return };
    for sort in ["citations", "views"] {
        let r = get(&s, &format!("/search?q=&sort={sort}")).await;
        assert_eq!(r.status, 200, "{sort}");
        assert!(r.body.contains(" datasets</h1>"), "{sort}");
    }
    let r = get(&s, "/search?q=aplastic%20anemia").await;
    assert!(
        r.body.contains("<mark>aplastic</mark> <mark>anemia</mark>"),
        "{}",
        r.body
    );
}
