//! `/openapi.json`: an OpenAPI 3.1 document of the JSON API, written by hand with serde_json.
//!
//! Why not utoipa: the public shapes are OmicsDI's (mixed camelCase and snake_case, counts as
//! strings) and few; deriving them would add a proc-macro stack to a 2-core build and annotate
//! every DTO for a dozen endpoints. Instead the document is one function beside the routes,
//! and a test (`tests/api.rs`) fails when a `/ws/` route is missing from it.

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

pub fn document() -> Value {
    let search_params = vec![
        param("query", "query", false, json!({"type": "string"}), "query: terms, \"phrases\", field:value, AND/OR/NOT; empty for all"),
        param("sortfield", "query", false, json!({"type": "string", "enum": ["relevance", "publication_date"]}), "sort field"),
        param("order", "query", false, json!({"type": "string", "enum": ["ascending", "descending"]}), "sort order (date sort)"),
        param("start", "query", false, json!({"type": "integer", "minimum": 0, "maximum": crate::api::MAX_START, "default": 0}), "offset of the first result"),
        param("size", "query", false, json!({"type": "integer", "minimum": 0, "maximum": crate::api::MAX_SIZE, "default": 20}), "page size"),
        param("faceCount", "query", false, json!({"type": "integer", "minimum": 0, "maximum": 1000, "default": 20}), "values per facet"),
        param("filter", "query", false, json!({"type": "array", "items": {"type": "string"}}), "opendi extension: FACET:VALUE, repeatable (repository, omics_type, organism, disease, tissue, cell_type, year)"),
    ];
    let list = json!({"type": "array", "items": {"type": "string"}});
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
            "omicsType": list, "score": { "type": "number" }, "reason": { "type": "string" }, "url": { "type": "string" } } },
        "SearchResponse": { "type": "object", "properties": {
            "count": { "type": "integer" },
            "datasets": { "type": "array", "items": { "$ref": "#/components/schemas/DatasetSummary" } },
            "facets": { "type": "array", "items": { "type": "object", "properties": {
                "id": { "type": "string" }, "label": { "type": "string" }, "total": { "type": "integer" },
                "facetValues": { "type": "array", "items": { "type": "object", "properties": {
                    "value": { "type": "string" }, "count": { "type": "string" }, "label": { "type": "string" } } } } } } },
            "warnings": list } },
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
