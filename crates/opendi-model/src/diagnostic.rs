use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a finding is. Errors flag a record (and drop it under `--strict`); warnings only inform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// Where a finding is: the file (or URL, or `zip!member`), the record in it and the line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    /// The record's id where known, otherwise its ordinal in the file (`#3`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// 1-based line of the record's start (or of the finding, where the parser knows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl Location {
    pub fn new(file: impl Into<String>) -> Self {
        Location {
            file: file.into(),
            record: None,
            line: None,
        }
    }
    pub fn with_record(mut self, record: impl Into<String>) -> Self {
        self.record = Some(record.into());
        self
    }
    pub fn with_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(record) = &self.record {
            write!(f, " [{record}]")?;
        }
        Ok(())
    }
}

/// A validation or parse finding. `code` is stable (scripts and tests match on it);
/// `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    pub location: Location,
}

impl Diagnostic {
    pub fn error(code: &str, message: impl Into<String>, location: Location) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: code.to_string(),
            message: message.into(),
            location,
        }
    }
    pub fn warning(code: &str, message: impl Into<String>, location: Location) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code: code.to_string(),
            message: message.into(),
            location,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}: {sev}[{}]: {}",
            self.location, self.code, self.message
        )
    }
}
