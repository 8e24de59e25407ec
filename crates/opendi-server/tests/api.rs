//! The JSON API on real records: OmicsDI-compatible shapes, status codes, the error table,
//! and an OpenAPI document that lists every `/ws/` route.

mod common;

use common::{get, state};
use serde_json::Value;

/// Every `/ws/` endpoint, with a request that must succeed.
const ENDPOINTS: [(&str, &str); 10] = [
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
    ("/ws/statistics/general", "/ws/statistics/general"),
    ("/ws/statistics/domains", "/ws/statistics/domains"),
    ("/ws/statistics/omics", "/ws/statistics/omics"),
    ("/ws/database/all", "/ws/database/all"),
    (
        "/ws/seo/schema/{database}/{accession}",
        "/ws/seo/schema/pride/PXD000001",
    ),
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
    assert_eq!(paths.len(), ENDPOINTS.len());
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
    assert!(list
        .iter()
        .all(|d| d["reason"] == "similar text" && d["id"] != "PXD000001"));

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
