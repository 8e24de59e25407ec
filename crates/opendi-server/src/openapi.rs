//! `/openapi.json`: an OpenAPI 3.1 document of the JSON API, written by hand with serde_json.
//!
//! Why not utoipa: the public shapes are OmicsDI's (mixed camelCase and snake_case, counts as
//! strings) and few; deriving them would add a proc-macro stack to a 2-core build and annotate
//! every DTO for a dozen endpoints. Instead the document is one function beside the routes,
//! and a test (`tests/api.rs`) fails when a route of `router` other than the HTML pages is
//! missing from it.

use axum::Json;
use serde_json::{json, Value};

fn param(name: &str, location: &str, required: bool, schema: Value, description: &str) -> Value {
    json!({ "name": name, "in": location, "required": required, "schema": schema, "description": description })
}

fn path_params() -> Vec<Value> {
    vec![
        param(
            "database",
            "path",
            true,
            json!({"type": "string"}),
            "repository key, e.g. pride, biostudies-literature",
        ),
        param(
            "accession",
            "path",
            true,
            json!({"type": "string"}),
            "dataset accession",
        ),
    ]
}

fn query_key() -> Vec<Value> {
    vec![
        param(
            "accession",
            "query",
            true,
            json!({"type": "string"}),
            "dataset accession",
        ),
        param(
            "database",
            "query",
            true,
            json!({"type": "string"}),
            "repository key",
        ),
    ]
}

fn ok(schema: &str, description: &str) -> Value {
    json!({
        "200": { "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } },
        "400": { "$ref": "#/components/responses/Error" },
        "404": { "$ref": "#/components/responses/Error" },
        "500": { "$ref": "#/components/responses/Error" },
    })
}

fn op(summary: &str, params: Vec<Value>, responses: Value) -> Value {
    json!({ "get": { "summary": summary, "parameters": params, "responses": responses } })
}

/// A non-JSON endpoint: (summary, parameters, content type of its 200 answer).
fn xml_op(summary: &str, params: Vec<Value>, content_type: &str) -> Value {
    json!({ "get": { "summary": summary, "parameters": params, "responses": {
        "200": { "description": summary, "content": { content_type: { "schema": { "type": "string" } } } },
        "400": { "$ref": "#/components/responses/Error" },
    } } })
}

fn feed_params(with_size: bool) -> Vec<Value> {
    let mut v = vec![
        param("q", "query", false, json!({"type": "string"}), "query"),
        param(
            "expand",
            "query",
            false,
            json!({"type": "string", "enum": ["on", "off"], "default": "on"}),
            "also search for synonyms",
        ),
        param(
            "filter",
            "query",
            false,
            json!({"type": "array", "items": {"type": "string"}}),
            "FACET:VALUE, repeatable",
        ),
        param(
            "sort",
            "query",
            false,
            json!({"type": "string", "enum": ["relevance", "date_desc", "date_asc"]}),
            "order",
        ),
    ];
    if with_size {
        v.push(param(
            "size",
            "query",
            false,
            json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
            "entries",
        ));
    }
    v
}

pub fn document() -> Value {
    let search_params = vec![
        param("query", "query", false, json!({"type": "string"}), "query: terms, \"phrases\", field:value, AND/OR/NOT, +/-, wildcards, fuzzy~, ranges (docs/search.md); empty for all"),
        param("expand", "query", false, json!({"type": "string", "enum": ["on", "off"], "default": "on"}), "opendi extension: also search for synonyms of the query's words (alsoSearchedFor lists them)"),
        param("sortfield", "query", false, json!({"type": "string", "enum": ["relevance", "publication_date"]}), "sort field"),
        param("order", "query", false, json!({"type": "string", "enum": ["ascending", "descending"]}), "sort order (date sort)"),
        param("start", "query", false, json!({"type": "integer", "minimum": 0, "maximum": crate::api::MAX_START, "default": 0}), "offset of the first result"),
        param("size", "query", false, json!({"type": "integer", "minimum": 0, "maximum": crate::api::MAX_SIZE, "default": 20}), "page size"),
        param("faceCount", "query", false, json!({"type": "integer", "minimum": 0, "maximum": 1000, "default": 20}), "values per facet"),
        param("filter", "query", false, json!({"type": "array", "items": {"type": "string"}}), "opendi extension: FACET:VALUE, repeatable (repository, omics_type, organism, disease, tissue, cell_type, year)"),
    ];
    let list = json!({"type": "array", "items": {"type": "string"}});
    let size_param = param(
        "size",
        "query",
        false,
        json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}),
        "how many",
    );
    let stat_item = json!({"type": "object", "properties": {"label": {"type": "string"}, "value": {"type": "string"}}});
    let paths = json!({
        "/ws/dataset/search": op("Search datasets", search_params, ok("SearchResponse", "matching datasets, with facets")),
        "/ws/dataset/get": op("One dataset by accession and repository", query_key(), ok("DatasetDetail", "the dataset")),
        "/ws/dataset/{database}/{accession}": op("One dataset", path_params(), ok("DatasetDetail", "the dataset")),
        "/ws/dataset/getSimilar": op("Datasets similar to one dataset",
            [query_key(), vec![param("size", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 10}), "how many")]].concat(),
            ok("DatasetList", "similar datasets, each with a reason")),
        "/ws/dataset/latest": op("Latest datasets (by publication date)",
            vec![param("size", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}), "how many")],
            ok("DatasetList", "the newest datasets")),
        "/ws/statistics/general": op("General counts", vec![], ok("StatisticsItems", "label/value pairs")),
        "/ws/statistics/domains": op("Datasets per repository", vec![], ok("DomainStatistics", "one entry per repository")),
        "/ws/statistics/omics": op("Datasets per omics type", vec![], ok("StatisticsItems", "label/value pairs")),
        "/ws/database/all": op("Repositories", vec![], ok("Databases", "the repositories with dataset counts")),
        "/ws/dataset/getSimilarByPubmed": op("Datasets citing a PubMed article",
            vec![param("pubmed", "query", true, json!({"type": "string", "pattern": "^[0-9]+$"}), "PubMed id, e.g. 16585740")],
            ok("PubmedDatasets", "the datasets whose publications include it")),
        "/ws/dataset/mostAccessed": op("Most viewed datasets",
            vec![param("size", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}), "how many")],
            ok("DatasetList", "datasets with viewsCount, most viewed first")),
        "/ws/dataset/batch": op("Several datasets at once",
            vec![param("accession", "query", true, list.clone(), "accessions (repeated or comma-separated)"),
                 param("database", "query", true, list.clone(), "repositories, matched to accessions by position")],
            ok("Batch", "found datasets and the keys not found")),
        "/ws/publication/list": op("Publications by PubMed id, DOI or PMCID",
            vec![param("acc", "query", true, list.clone(), "identifiers (repeated or comma-separated)")],
            ok("Publications", "the publications known")),
        "/ws/statistics/organisms": op("Top organisms", vec![size_param.clone()], ok("StatisticsItems", "label/value/id")),
        "/ws/statistics/tissues": op("Top tissues", vec![size_param.clone()], ok("StatisticsItems", "label/value/id")),
        "/ws/statistics/diseases": op("Top diseases", vec![size_param.clone()], ok("StatisticsItems", "label/value/id")),
        "/ws/statistics/omicsByYear": op("Datasets per year and omics type", vec![], ok("OmicsByYear", "one object per year, newest first")),
        "/ws/term/getTermByPattern": op("Term suggestions for a typed pattern",
            vec![param("q", "query", false, json!({"type": "string", "minLength": 3}), "pattern (at least 3 characters)"),
                 param("size", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 10}), "how many")],
            ok("DictWords", "organism, disease, tissue, cell type and omics labels, then vocabulary names datasets hold")),
        "/ws/term/frequentlyTerm/list": op("Most frequent words of a field",
            vec![param("domain", "query", false, json!({"type": "string"}), "repository key; omics or absent for all"),
                 param("field", "query", false, json!({"type": "string", "enum": ["description", "name", "title", "keywords"], "default": "description"}), "field"),
                 param("size", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}), "how many")],
            ok("Terms", "words with the number of datasets holding them (newest 5,000 of the domain)")),
        "/api/v1/search": op("Search with cursor paging (keeps query, filters and order)",
            vec![param("q", "query", false, json!({"type": "string"}), "query (as /ws/dataset/search)"),
                 param("filter", "query", false, list.clone(), "FACET:VALUE, repeatable"),
                 param("sort", "query", false, json!({"type": "string", "enum": ["relevance", "date_desc", "date_asc"]}), "order"),
                 param("expand", "query", false, json!({"type": "string", "enum": ["on", "off"], "default": "on"}), "also search for synonyms of the query's words (also_searched_for lists them)"),
                 param("size", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}), "page size"),
                 param("facets", "query", false, json!({"type": "integer", "minimum": 0, "maximum": 1000, "default": 10}), "values per facet (0: none)"),
                 param("cursor", "query", false, json!({"type": "string"}), "the next value of the previous page; alone, without q/filter/sort/expand")],
            ok("V1Search", "a page of results")),
        "/api/v1/suggest": op("Completions for the search box: the last word of q completed from the index (title words, accessions, facet values) and from vocabulary names datasets hold",
            vec![param("q", "query", false, json!({"type": "string", "maxLength": 200}), "what is typed; the last word (2+ characters) is completed"),
                 param("size", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 20, "default": 8}), "how many")],
            ok("Suggestions", "each with the whole query it makes (value), the completed text, its kind and a dataset count")),
        "/api/v1/similar": op("A dataset's precomputed similar datasets, each with its reasons",
            vec![param("accession", "query", true, json!({"type": "string"}), "the dataset's accession"),
                 param("database", "query", false, json!({"type": "string"}), "its repository, when the accession is ambiguous"),
                 param("size", "query", false, json!({"type": "integer", "minimum": 1, "default": 20}), "how many")],
            ok("V1Similar", "similar datasets, most similar first, each with reasons and also_in")),
        "/api/v1/changes": op("The change log: every record change after a sequence number, deletions included",
            vec![param("since", "query", false, json!({"type": "integer", "minimum": 0, "default": 0}), "last seq already seen"),
                 param("limit", "query", false, json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}), "how many")],
            ok("Changes", "changes in seq order; pass next as since to continue")),
        "/oai": {
            "get": { "summary": "OAI-PMH 2.0 (Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords, GetRecord; oai_dc, oai_datacite)",
                "parameters": [param("verb", "query", true, json!({"type": "string"}), "OAI-PMH verb; other arguments as the protocol defines")],
                "responses": { "200": { "description": "an OAI-PMH document (protocol errors included)", "content": { "text/xml": { "schema": { "type": "string" } } } } } },
            "post": { "summary": "OAI-PMH 2.0 with arguments in a form body",
                "requestBody": { "content": { "application/x-www-form-urlencoded": { "schema": { "type": "object" } } } },
                "responses": { "200": { "description": "an OAI-PMH document", "content": { "text/xml": { "schema": { "type": "string" } } } } } }
        },
        "/sitemap.xml": xml_op("Sitemap index", vec![], "application/xml"),
        "/sitemap/{file}": xml_op("One sitemap file (N.xml, at most 50,000 URLs)",
            vec![param("file", "path", true, json!({"type": "string", "pattern": "^[1-9][0-9]*\\.xml$"}), "N.xml")], "application/xml"),
        "/search.atom": xml_op("A search as an Atom feed, newest datasets first", feed_params(true), "application/atom+xml"),
        "/search.csv": xml_op("Every dataset a search matches, as CSV (streamed)", feed_params(false), "text/csv"),
        "/search.jsonl": xml_op("Every dataset a search matches, as JSON lines of DatasetDetail (streamed)", feed_params(false), "application/x-ndjson"),
        "/export.jsonl": xml_op("Every public dataset, as JSON lines of DatasetDetail (streamed); header X-Opendi-Seq is the change-log position of the dump", vec![], "application/x-ndjson"),
        "/ws/seo/schema/{database}/{accession}": {
            "get": {
                "summary": "schema.org Dataset (JSON-LD) of one dataset",
                "parameters": path_params(),
                "responses": {
                    "200": { "description": "JSON-LD", "content": { "application/ld+json": { "schema": { "type": "object" } } } },
                    "404": { "$ref": "#/components/responses/Error" },
                }
            }
        },
    });
    let schemas = json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string", "enum": ["not_found", "bad_request", "busy", "internal"] },
            "message": { "type": "string" } } } } },
        "Organism": { "type": "object", "properties": { "acc": { "type": ["string", "null"] }, "name": { "type": "string" } } },
        "DatasetSummary": { "type": "object", "required": ["id", "source", "title"], "properties": {
            "id": { "type": "string" }, "source": { "type": "string" }, "title": { "type": "string" },
            "description": { "type": "string" }, "keywords": list, "organisms": { "type": "array", "items": { "$ref": "#/components/schemas/Organism" } },
            "publicationDate": { "type": ["string", "null"], "description": "YYYYMMDD, YYYYMM or YYYY" },
            "omicsType": list, "score": { "type": "number" }, "reason": { "type": "string" }, "reasons": list, "viewsCount": { "type": "integer" }, "url": { "type": "string" } } },
        "SearchResponse": { "type": "object", "properties": {
            "count": { "type": "integer" },
            "datasets": { "type": "array", "items": { "$ref": "#/components/schemas/DatasetSummary" } },
            "facets": { "type": "array", "items": { "type": "object", "properties": {
                "id": { "type": "string" }, "label": { "type": "string" }, "total": { "type": "integer" },
                "facetValues": { "type": "array", "items": { "type": "object", "properties": {
                    "value": { "type": "string" }, "count": { "type": "string" }, "label": { "type": "string" } } } } } } },
            "warnings": list,
            "alsoSearchedFor": list } },
        "DatasetList": { "type": "object", "properties": { "count": { "type": "integer" },
            "datasets": { "type": "array", "items": { "$ref": "#/components/schemas/DatasetSummary" } } } },
        "DatasetDetail": { "type": "object", "required": ["id", "source", "name"], "properties": {
            "id": { "type": "string" }, "accession": { "type": "string" }, "source": { "type": "string" }, "database": { "type": "string" },
            "name": { "type": "string" }, "description": { "type": "string", "description": "as the source wrote it; may hold HTML" },
            "keywords": list, "organisms": { "type": "array", "items": { "$ref": "#/components/schemas/Organism" } },
            "publicationDate": { "type": ["string", "null"] }, "omics_type": list,
            "dates": { "type": "object", "additionalProperties": list }, "submitter": list,
            "labMembers": { "type": "array", "items": { "type": "object" } },
            "diseases": { "type": "array", "items": { "type": "object" } }, "tissues": { "type": "array", "items": { "type": "object" } },
            "cell_types": { "type": "array", "items": { "type": "object" } }, "instruments": list, "protocols": list,
            "publicationIds": list, "publications": { "type": "array", "items": { "type": "object" } },
            "cross_references": { "type": "object", "additionalProperties": list },
            "full_dataset_link": { "type": ["string", "null"] }, "files": list, "license": { "type": ["string", "null"] },
            "counters": { "type": "object", "properties": { "views": { "type": "integer" }, "downloads": { "type": "integer" },
                "citations": { "type": "integer" }, "reanalyses": { "type": "integer" }, "connections": { "type": "integer" } } },
            "url": { "type": "string" } } },
        "StatisticsItems": { "type": "array", "items": stat_item },
        "DomainStatistics": { "type": "array", "items": { "type": "object", "properties": {
            "domain": { "type": "object", "properties": { "name": { "type": "string" }, "label": { "type": "string" }, "value": { "type": "string" } } },
            "subdomains": { "type": "array" } } } },
        "PubmedDatasets": { "type": "array", "items": { "type": "object", "properties": {
            "accession": { "type": "string" }, "database": { "type": "string" }, "source": { "type": "string" },
            "name": { "type": "string" }, "description": { "type": "string" }, "url": { "type": "string" } } } },
        "Batch": { "type": "object", "properties": {
            "datasets": { "type": "array", "items": { "$ref": "#/components/schemas/DatasetDetail" } },
            "failure": { "type": "array", "items": { "type": "object", "properties": { "database": { "type": "string" }, "accession": { "type": "string" } } } } } },
        "Publications": { "type": "object", "properties": { "count": { "type": "integer" },
            "publications": { "type": "array", "items": { "type": "object", "properties": {
                "id": { "type": "string" }, "source": { "type": "string" }, "title": { "type": "string" }, "authors": list,
                "pubAbstract": list, "journal": { "type": ["string", "null"] }, "date": { "type": ["string", "null"] },
                "keywords": list, "affiliation": list } } } } },
        "OmicsByYear": { "type": "array", "items": { "type": "object", "properties": { "year": { "type": "string" } },
            "additionalProperties": { "type": "string" } } },
        "DictWords": { "type": "object", "properties": { "total_count": { "type": "integer" },
            "items": { "type": "array", "items": { "type": "object", "properties": { "name": { "type": "string" } } } } } },
        "Terms": { "type": "array", "items": { "type": "object", "properties": { "label": { "type": "string" }, "frequent": { "type": "string" } } } },
        "Suggestions": { "type": "object", "properties": {
            "query": { "type": "string" },
            "suggestions": { "type": "array", "items": { "type": "object", "properties": {
                "value": { "type": "string" }, "text": { "type": "string" },
                "kind": { "type": "string", "description": "term, accession, omics_type, organism, disease or tissue" },
                "count": { "type": "integer" } } } } } },
        "V1Search": { "type": "object", "properties": {
            "count": { "type": "integer" },
            "results": { "type": "array", "items": { "$ref": "#/components/schemas/DatasetSummary" } },
            "facets": { "type": "object", "additionalProperties": { "type": "array", "items": { "type": "object", "properties": {
                "value": { "type": "string" }, "count": { "type": "integer" } } } } },
            "next": { "type": ["string", "null"], "description": "cursor of the next page; null on the last" },
            "warnings": list,
            "also_searched_for": list } },
        "V1Similar": { "type": "object", "properties": {
            "accession": { "type": "string" }, "count": { "type": "integer" },
            "similar": { "type": "array", "items": { "type": "object", "properties": {
                "accession": { "type": "string" }, "repository": { "type": "string" },
                "title": { "type": "string" }, "score": { "type": "number" }, "url": { "type": "string" },
                "reasons": list,
                "also_in": { "type": "array", "items": { "type": "object" } } } } } } },
        "Changes": { "type": "object", "properties": {
            "changes": { "type": "array", "items": { "type": "object", "properties": {
                "seq": { "type": "integer" }, "repository": { "type": "string" }, "accession": { "type": "string" },
                "deleted": { "type": "boolean" }, "datestamp": { "type": "string", "format": "date-time" },
                "dataset": { "$ref": "#/components/schemas/DatasetDetail" } } } },
            "next": { "type": "integer" }, "more": { "type": "boolean" }, "last_seq": { "type": "integer" } } },
        "Databases": { "type": "array", "items": { "type": "object", "properties": {
            "source": { "type": "string" }, "databaseName": { "type": "string" }, "datasetCount": { "type": "integer" }, "url": { "type": "string" } } } },
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "opendi API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Search and read biomedical dataset records. Endpoints under /ws/ follow the Omics Discovery Index (OmicsDI) web service: same paths, parameters and response shapes.",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        },
        "paths": paths,
        "components": {
            "responses": {
                "Error": { "description": "an error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            },
            "schemas": schemas,
        }
    })
}

pub async fn openapi() -> Json<Value> {
    Json(document())
}
