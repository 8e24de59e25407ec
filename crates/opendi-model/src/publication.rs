use crate::date::PartialDate;
use serde::{Deserialize, Serialize};

/// A MeSH heading of a PubMed citation: the descriptor and whether it is a major topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshHeading {
    pub descriptor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor_id: Option<String>,
    pub major: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qualifiers: Vec<String>,
}

/// A publication as the literature databases describe it. Shared by every dataset that cites it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmcid: Option<String>,
    pub title: String,
    /// Display names, "Lan Yang" style (given names after the family name as PubMed lists them: "Lan Y").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub abstract_text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mesh: Vec<MeshHeading>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chemicals: Vec<String>,
}

impl Publication {
    /// The key the shared publication table uses: PMID, else DOI, else PMCID.
    pub fn key(&self) -> Option<String> {
        self.pmid
            .as_ref()
            .map(|p| format!("pmid:{p}"))
            .or_else(|| {
                self.doi
                    .as_ref()
                    .map(|d| format!("doi:{}", d.to_ascii_lowercase()))
            })
            .or_else(|| {
                self.pmcid
                    .as_ref()
                    .map(|p| format!("pmcid:{}", p.to_ascii_uppercase()))
            })
    }
}
