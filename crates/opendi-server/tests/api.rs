//! The JSON API on real records: OmicsDI-compatible shapes, status codes, the error table,
//! and an OpenAPI document that lists every route of the router except the HTML pages.

mod common;

use common::{get, state};
use serde_json::Value;

/// Every JSON endpoint, with a request that must succeed.
const ENDPOINTS: [(&str, &str); 23] = [
    (
        "/ws/dataset/search",
        "/ws/dataset/search?query=proteome&size=5",
    ),
    (
        "/ws/dataset/get",
        "/ws/dataset/get?accession=PXD000001&database=pride",
    ),
    (
        "/ws/dataset/{database}/{accession}",
        "/ws/dataset/pride/PXD000001",
    ),
    (
        "/ws/dataset/getSimilar",
        "/ws/dataset/getSimilar?accession=PXD000001&database=pride",
    ),
    ("/ws/dataset/latest", "/ws/dataset/latest?size=3"),
    (
        "/ws/dataset/getSimilarByPubmed",
        "/ws/dataset/getSimilarByPubmed?pubmed=23692960",
    ),
    (
        "/ws/dataset/mostAccessed",
        "/ws/dataset/mostAccessed?size=5",
    ),
    (
        "/ws/dataset/batch",
        "/ws/dataset/batch?accession=PXD000001&database=pride",
    ),
    ("/ws/publication/list", "/ws/publication/list?acc=23692960"),
    ("/ws/statistics/general", "/ws/statistics/general"),
    ("/ws/statistics/domains", "/ws/statistics/domains"),
    ("/ws/statistics/omics", "/ws/statistics/omics"),
    (
        "/ws/statistics/organisms",
        "/ws/statistics/organisms?size=5",
    ),
    ("/ws/statistics/tissues", "/ws/statistics/tissues"),
    ("/ws/statistics/diseases", "/ws/statistics/diseases"),
    ("/ws/statistics/omicsByYear", "/ws/statistics/omicsByYear"),
    (
        "/ws/term/getTermByPattern",
        "/ws/term/getTermByPattern?q=hom",
    ),
    (
        "/ws/term/frequentlyTerm/list",
        "/ws/term/frequentlyTerm/list?domain=pride&field=description&size=5",
    ),
    ("/ws/database/all", "/ws/database/all"),
    (
        "/ws/seo/schema/{database}/{accession}",
        "/ws/seo/schema/pride/PXD000001",
    ),
    ("/api/v1/search", "/api/v1/search?q=proteome&size=5"),
    ("/api/v1/changes", "/api/v1/changes?since=0&limit=5"),
    (
        "/api/v1/similar",
        "/api/v1/similar?accession=PXD000001&database=pride&size=5",
    ),
];

/// Routes that serve people (HTML and the stylesheet), not programs: the only ones the
/// OpenAPI document may leave out.
const PAGES: [&str; 7] = [
    "/",
    "/search",
    "/stats",
    "/dataset/{repository}/{accession}",
    "/dataset/{repository}/{accession}/export/{format}",
    "/static/style.css",
    "/static/app.js",
];

#[tokio::test]
async fn every_endpoint_answers_json_and_is_documented() {
    let Some(s) = state() else { return };
    let doc = get(&s, "/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.content_type, "application/json");
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (path, uri) in ENDPOINTS {
        assert!(paths.contains_key(path), "{path} undocumented");
        let r = get(&s, uri).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.body);
        assert!(
            r.content_type == "application/json" || r.content_type == "application/ld+json",
            "{uri}: {}",
            r.content_type
        );
        r.json();
    }
}

/// Reads the routes from `router` itself (its source), so a route added without documenting
/// it fails here, and so does a documented path that no longer exists.
#[test]
fn every_route_is_in_the_openapi_document() {
    let source = include_str!("../src/lib.rs");
    // `.route(` then the path literal, wherever rustfmt put the line break.
    let routes: Vec<&str> = source
        .split(".route(")
        .skip(1)
        .filter_map(|rest| rest.trim_start().strip_prefix('"')?.split('"').next())
        .collect();
    assert!(routes.len() > 30, "{routes:?}");
    let doc = opendi_server::openapi_document();
    let paths = doc["paths"].as_object().unwrap();
    for r in &routes {
        assert!(
            paths.contains_key(*r) || PAGES.contains(r) || *r == "/openapi.json",
            "route {r} is missing from /openapi.json"
        );
    }
    for p in paths.keys() {
        assert!(routes.contains(&p.as_str()), "documented {p} is not routed");
    }
    for (path, _) in ENDPOINTS {
        assert!(routes.contains(&path), "{path} is not routed");
    }
}

#[tokio::test]
async fn search_has_omicsdi_shape() {
    let Some(s) = state() else { return };
    let v = get(&s, "/ws/dataset/search?query=PXD000005&size=1&faceCount=3")
        .await
        .json();
    assert!(v["count"].as_u64().unwrap() >= 1);
    let d = &v["datasets"][0];
    assert_eq!(d["id"], "PXD000005");
    assert_eq!(d["source"], "pride");
    for k in [
        "title",
        "description",
        "keywords",
        "organisms",
        "publicationDate",
        "omicsType",
        "score",
    ] {
        assert!(d.get(k).is_some(), "dataset lacks {k}: {d}");
    }
    let facets = v["facets"].as_array().unwrap();
    let ids: Vec<&str> = facets.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "repository",
            "omics_type",
            "TAXONOMY",
            "disease",
            "tissue",
            "cell_type",
            "publication_date"
        ]
    );
    let repo = &facets[0];
    insta::assert_json_snapshot!(repo, @r#"
    {
      "facetValues": [
        {
          "count": "1",
          "label": "PRIDE",
          "value": "pride"
        }
      ],
      "id": "repository",
      "label": "Repository",
      "total": 1
    }
    "#);
}

#[tokio::test]
async fn search_pages_without_a_cap_and_sorts_by_date() {
    let Some(s) = state() else { return };
    let all = get(&s, "/ws/dataset/search?size=0").await.json();
    let total = all["count"].as_u64().unwrap();
    assert!(total > 20, "{total}");
    // Past the end: an empty page, not an error.
    let v = get(&s, "/ws/dataset/search?start=20000&size=10")
        .await
        .json();
    assert_eq!(v["count"].as_u64().unwrap(), total);
    assert_eq!(v["datasets"].as_array().unwrap().len(), 0);
    let v = get(
        &s,
        "/ws/dataset/search?sortfield=publication_date&order=descending&size=50",
    )
    .await
    .json();
    let dates: Vec<String> = v["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["publicationDate"].as_str().map(|s| s[..4].to_string()))
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);
    // Filters combine (opendi extension, same syntax as the portal).
    let v = get(&s, "/ws/dataset/search?filter=repository:pride&size=0")
        .await
        .json();
    assert!(v["count"].as_u64().unwrap() < total);
}

#[tokio::test]
async fn dataset_get_by_query_and_by_path_agree() {
    let Some(s) = state() else { return };
    let a = get(
        &s,
        "/ws/dataset/get?accession=S-EPMC7912947&database=biostudies-literature",
    )
    .await
    .json();
    let b = get(&s, "/ws/dataset/biostudies-literature/S-EPMC7912947")
        .await
        .json();
    let strip = |mut v: Value| {
        v["counters"] = Value::Null;
        v
    };
    assert_eq!(strip(a.clone()), strip(b));
    assert_eq!(
        a["name"].as_str().unwrap().split_whitespace().next(),
        Some("Combination")
    );
    assert_eq!(a["publicationDate"], "20210227");
    assert_eq!(a["submitter"][0], "Lan Y");
    assert_eq!(
        a["cross_references"]["ClinicalTrials.gov"][0],
        "NCT02218437"
    );
    assert_eq!(a["publications"][0]["journal"], "BMC pediatrics");
    assert_eq!(a["database"], "BioStudies literature");
}

#[tokio::test]
async fn errors_use_the_error_table() {
    let Some(s) = state() else { return };
    let r = get(&s, "/ws/dataset/pride/PXD999999999").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.content_type, "application/json");
    insta::assert_json_snapshot!(r.json(), @r#"
    {
      "error": {
        "code": "not_found",
        "message": "no dataset PXD999999999 in pride"
      }
    }
    "#);
    let r = get(&s, "/ws/dataset/get?accession=PXD000001").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "bad_request");
    assert_eq!(r.json()["error"]["message"], "missing parameter database");
    for uri in [
        "/ws/dataset/search?size=1000",
        "/ws/dataset/search?start=-1",
        "/ws/dataset/search?sortfield=colour",
        "/ws/dataset/search?order=sideways",
        "/ws/dataset/search?filter=nocolon",
    ] {
        let r = get(&s, uri).await;
        assert_eq!(r.status, 400, "{uri}");
        assert_eq!(r.json()["error"]["code"], "bad_request", "{uri}");
    }
    let r = get(&s, "/ws/no/such/endpoint").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
    let r = get(&s, "/ws/seo/schema/pride/PXD999999999").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn similar_latest_statistics_databases() {
    let Some(s) = state() else { return };
    let v = get(
        &s,
        "/ws/dataset/getSimilar?accession=PXD000001&database=pride",
    )
    .await
    .json();
    let list = v["datasets"].as_array().unwrap();
    assert_eq!(v["count"].as_u64().unwrap() as usize, list.len());
    assert!(!list.is_empty());
    for d in list {
        assert_ne!(d["id"], "PXD000001");
        // OmicsDI's one-line reason, and the added list of reasons it joins.
        let reasons: Vec<&str> = d["reasons"]
            .as_array()
            .unwrap_or_else(|| panic!("no reasons: {d}"))
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert!(!reasons.is_empty());
        assert_eq!(d["reason"], reasons.join("; "));
    }
    let v = get(
        &s,
        "/api/v1/similar?accession=PXD000001&database=pride&size=3",
    )
    .await
    .json();
    let list = v["similar"].as_array().unwrap();
    assert!(!list.is_empty() && list.len() <= 3, "{v}");
    assert!(list
        .iter()
        .all(|d| !d["reasons"].as_array().unwrap().is_empty() && d["accession"] != "PXD000001"));

    let v = get(&s, "/ws/dataset/latest?size=3").await.json();
    assert_eq!(v["datasets"].as_array().unwrap().len(), 3);

    let v = get(&s, "/ws/statistics/general").await.json();
    assert_eq!(v[0]["label"], "Datasets");
    assert!(v[0]["value"].as_str().unwrap().parse::<u64>().unwrap() > 20);

    let v = get(&s, "/ws/statistics/domains").await.json();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"pride") && names.contains(&"biostudies-literature"),
        "{names:?}"
    );

    let v = get(&s, "/ws/statistics/omics").await.json();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["label"] == "Proteomics"));

    let v = get(&s, "/ws/database/all").await.json();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["source"] == "pride" && d["databaseName"] == "PRIDE"));

    let r = get(&s, "/ws/seo/schema/biostudies-literature/S-EPMC7912947").await;
    assert_eq!(r.content_type, "application/ld+json");
    let v = r.json();
    assert_eq!(v["@context"], "https://schema.org");
    assert_eq!(v["@type"], "Dataset");
}

#[tokio::test]
async fn similar_by_pubmed_batch_and_publications() {
    let Some(s) = state() else { return };
    let v = get(&s, "/ws/dataset/getSimilarByPubmed?pubmed=23692960")
        .await
        .json();
    let list = v.as_array().unwrap();
    assert!(
        list.iter()
            .any(|d| d["accession"] == "PXD000001" && d["database"] == "PRIDE"),
        "{v}"
    );
    let v = get(&s, "/ws/dataset/getSimilarByPubmed?pubmed=1")
        .await
        .json();
    assert_eq!(v, serde_json::json!([]));
    let r = get(&s, "/ws/dataset/getSimilarByPubmed?pubmed=abc").await;
    assert_eq!(r.status, 400);

    let v = get(
        &s,
        "/ws/dataset/batch?accession=PXD000001&accession=NOPE1&database=pride&database=pride",
    )
    .await
    .json();
    assert_eq!(v["datasets"].as_array().unwrap().len(), 1);
    assert_eq!(v["datasets"][0]["accession"], "PXD000001");
    assert_eq!(
        v["failure"],
        serde_json::json!([{ "database": "pride", "accession": "NOPE1" }])
    );
    // Comma-separated lists work too; lengths must match.
    let v = get(
        &s,
        "/ws/dataset/batch?accession=PXD000001,PXD000005&database=pride,pride",
    )
    .await
    .json();
    assert_eq!(v["datasets"].as_array().unwrap().len(), 2);
    let r = get(
        &s,
        "/ws/dataset/batch?accession=PXD000001,PXD000005&database=pride",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "bad_request");

    // Publications known only as a record's reference (no PubMed record ingested) are not
    // listed; `tests/ways_out.rs` lists one that is.
    let v = get(&s, "/ws/publication/list?acc=99999999999").await.json();
    assert_eq!(v, serde_json::json!({ "count": 0, "publications": [] }));
    let r = get(&s, "/ws/publication/list").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn most_accessed_follows_page_views() {
    let Some(s) = state() else { return };
    // Views are counted by the dataset page.
    for _ in 0..3 {
        assert_eq!(get(&s, "/dataset/pride/PXD000005").await.status, 200);
    }
    let v = get(&s, "/ws/dataset/mostAccessed?size=100").await.json();
    let list = v["datasets"].as_array().unwrap();
    let views: Vec<u64> = list
        .iter()
        .map(|d| d["viewsCount"].as_u64().unwrap())
        .collect();
    assert!(views.windows(2).all(|w| w[0] >= w[1]), "{views:?}");
    let px5 = list.iter().find(|d| d["id"] == "PXD000005").unwrap();
    assert!(px5["viewsCount"].as_u64().unwrap() >= 3);
    assert_eq!(px5["source"], "pride");
}

#[tokio::test]
async fn statistics_per_facet_and_year() {
    let Some(s) = state() else { return };
    let v = get(&s, "/ws/statistics/organisms?size=3").await.json();
    let list = v.as_array().unwrap();
    assert!(!list.is_empty() && list.len() <= 3, "{v}");
    let counts: Vec<u64> = list
        .iter()
        .map(|o| o["value"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    for facet in ["tissues", "diseases"] {
        let r = get(&s, &format!("/ws/statistics/{facet}")).await;
        assert_eq!(r.status, 200);
        assert!(r.json().is_array());
    }
    let v = get(&s, "/ws/statistics/omicsByYear").await.json();
    let rows = v.as_array().unwrap();
    assert!(!rows.is_empty());
    let years: Vec<&str> = rows.iter().map(|r| r["year"].as_str().unwrap()).collect();
    let mut sorted = years.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(years, sorted);
    // Per year, the omics counts add up to at least the datasets of that year with a type.
    let total: u64 = rows
        .iter()
        .flat_map(|r| r.as_object().unwrap().iter())
        .filter(|(k, _)| *k != "year")
        .map(|(_, v)| v.as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(total > 20, "{total}");
    assert!(rows.iter().any(|r| r.get("metabolomics").is_some()));
}

#[tokio::test]
async fn terms_by_pattern_and_frequency() {
    let Some(s) = state() else { return };
    let v = get(&s, "/ws/term/getTermByPattern?q=hom&size=5")
        .await
        .json();
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Homo sapiens"), "{names:?}");
    assert_eq!(v["total_count"].as_u64().unwrap() as usize, names.len());
    // Two characters are too few to suggest anything (as in OmicsDI).
    let v = get(&s, "/ws/term/getTermByPattern?q=ho").await.json();
    assert_eq!(v["total_count"], 0);

    let v = get(
        &s,
        "/ws/term/frequentlyTerm/list?domain=metabolights_dataset&field=description&size=10",
    )
    .await
    .json();
    let terms = v.as_array().unwrap();
    assert_eq!(terms.len(), 10, "{v}");
    let counts: Vec<u64> = terms
        .iter()
        .map(|t| t["frequent"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert!(terms
        .iter()
        .all(|t| t["label"] != "the" && t["label"] != "and"));
    let r = get(&s, "/ws/term/frequentlyTerm/list?field=colour").await;
    assert_eq!(r.status, 400);
}
