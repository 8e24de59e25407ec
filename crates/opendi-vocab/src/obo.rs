//! A small OBO 1.2/1.4 reader: `[Term]` stanzas with the tags opendi uses (id, name, synonym,
//! is_obsolete, is_a). Everything else (defs, xrefs, typedefs, header) is skipped.
//!
//! Hand-written because the tags needed are few and an ontology parser crate would bring in a
//! whole graph model; this one reads HPO's 10 MB in a single pass over lines, borrowing nothing.

/// How close a synonym is to the term's meaning, as the ontology declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynonymScope {
    Exact,
    Related,
    Broad,
    Narrow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synonym {
    pub text: String,
    pub scope: SynonymScope,
    /// The synonym type after the scope (`abbreviation`, `layperson`, `uk_spelling` …), if any.
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OboTerm {
    pub id: String,
    pub name: String,
    pub synonyms: Vec<Synonym>,
    pub is_a: Vec<String>,
    pub obsolete: bool,
}

/// The `[Term]` stanzas of an OBO document, obsolete ones included (callers decide), in file
/// order. Stanzas without an id are dropped: nothing could refer to them.
pub fn parse(text: &str) -> Vec<OboTerm> {
    let mut terms = Vec::new();
    let mut current: Option<OboTerm> = None;
    let flush = |t: Option<OboTerm>, terms: &mut Vec<OboTerm>| {
        if let Some(t) = t.filter(|t| !t.id.is_empty()) {
            terms.push(t);
        }
    };
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with('[') {
            flush(current.take(), &mut terms);
            if line == "[Term]" {
                current = Some(OboTerm::default());
            }
            continue;
        }
        let Some(term) = current.as_mut() else {
            continue;
        };
        let Some((tag, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim_start();
        match tag {
            "id" => term.id = strip_comment(value).to_string(),
            "name" => term.name = value.to_string(),
            "is_obsolete" => term.obsolete = value.trim() == "true",
            "is_a" => {
                let parent = strip_comment(value);
                // `is_a: X {source="…"}` qualifiers follow the id after a space.
                let parent = parent.split_whitespace().next().unwrap_or("");
                if !parent.is_empty() {
                    term.is_a.push(parent.to_string());
                }
            }
            "synonym" => {
                if let Some(s) = parse_synonym(value) {
                    term.synonyms.push(s);
                }
            }
            _ => {}
        }
    }
    flush(current.take(), &mut terms);
    terms
}

/// The value before a trailing ` ! comment`.
fn strip_comment(value: &str) -> &str {
    match value.find(" !") {
        Some(i) => value[..i].trim(),
        None => value.trim(),
    }
}

/// `"text" SCOPE [type] [xrefs]`; the quoted text may contain `\"` escapes. A synonym line
/// without a closing quote is malformed and skipped.
fn parse_synonym(value: &str) -> Option<Synonym> {
    let rest = value.strip_prefix('"')?;
    let mut text = String::new();
    let mut chars = rest.char_indices();
    let mut end = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    text.push(n);
                }
            }
            '"' => {
                end = Some(i + 1);
                break;
            }
            c => text.push(c),
        }
    }
    let after = &rest[end?..];
    let mut words = after.split_whitespace();
    let scope = match words.next() {
        Some("EXACT") => SynonymScope::Exact,
        Some("BROAD") => SynonymScope::Broad,
        Some("NARROW") => SynonymScope::Narrow,
        // OBO's default scope is RELATED, also when the scope is missing.
        _ => SynonymScope::Related,
    };
    let kind = words
        .next()
        .filter(|w| !w.starts_with('['))
        .map(str::to_string);
    Some(Synonym { text, scope, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"format-version: 1.2
synonymtypedef: layperson "layperson term"

[Term]
id: HP:0001915
name: Aplastic anemia
def: "Pancytopenia with a hypocellular marrow." [PMID:21239768]
synonym: "Aplastic anaemia" EXACT uk_spelling []
synonym: "say \"hi\"" RELATED []
synonym: "broken
synonym: "Bone marrow failure" BROAD [ORCID:1]
is_a: HP:0001876 ! Pancytopenia

[Term]
id: HP:0000000
name: gone
is_obsolete: true

[Typedef]
id: part_of
name: part of

[Term]
name: no id here
"#;

    #[test]
    fn reads_terms_synonyms_parents_and_obsolete_flags() {
        let terms = parse(DOC);
        assert_eq!(terms.len(), 2, "{terms:?}");
        let t = &terms[0];
        assert_eq!(t.id, "HP:0001915");
        assert_eq!(t.name, "Aplastic anemia");
        assert_eq!(t.is_a, ["HP:0001876"]);
        assert!(!t.obsolete);
        assert_eq!(
            t.synonyms,
            [
                Synonym {
                    text: "Aplastic anaemia".into(),
                    scope: SynonymScope::Exact,
                    kind: Some("uk_spelling".into())
                },
                Synonym {
                    text: "say \"hi\"".into(),
                    scope: SynonymScope::Related,
                    kind: None
                },
                Synonym {
                    text: "Bone marrow failure".into(),
                    scope: SynonymScope::Broad,
                    kind: None
                },
            ]
        );
        assert!(terms[1].obsolete);
        assert_eq!(terms[1].id, "HP:0000000");
    }
}
