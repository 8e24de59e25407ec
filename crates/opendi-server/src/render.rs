//! Rendering helpers: the template environment (templates embedded, autoescape on), the record
//! HTML sanitizer, URL encoding, display dates and inline SVG bar charts.

use minijinja::{AutoEscape, Environment, Value};
use opendi_model::PartialDate;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::HashSet;
use std::sync::LazyLock;

/// Characters kept as they are in a path segment or a query value.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub fn path_segment(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Encodes a query-string value (spaces as `%20`, as the issue's example links show).
pub fn query_value(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

const TEMPLATES: [(&str, &str); 7] = [
    ("result-item", include_str!("templates/result-item.html")),
    ("base.html", include_str!("templates/base.html")),
    ("home.html", include_str!("templates/home.html")),
    ("search.html", include_str!("templates/search.html")),
    ("dataset.html", include_str!("templates/dataset.html")),
    ("stats.html", include_str!("templates/stats.html")),
    ("error.html", include_str!("templates/error.html")),
];

/// The templates, parsed once. Autoescape is on for every template (they all end in `.html`);
/// the only values marked safe are built by [`sanitize`], [`bar_chart`] and the JSON-LD
/// serializer, each of which escapes what it embeds.
pub static TEMPLATES_ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_filter("urlq", |s: String| query_value(&s));
    env.add_filter("thousands", |n: i64| thousands(n.max(0) as u64));
    for (name, src) in TEMPLATES {
        env.add_template(name, src)
            .expect("embedded templates are valid");
    }
    env
});

pub fn render(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    TEMPLATES_ENV.get_template(name)?.render(ctx)
}

/// `12345` -> `12,345`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.add_tags([
        "h1", "h2", "h3", "h4", "h5", "h6", "p", "i", "b", "em", "strong", "sup", "sub", "a", "ul",
        "ol", "li", "br",
    ])
    .add_tag_attributes("a", ["href"])
    .url_schemes(HashSet::from(["http", "https", "mailto"]))
    .link_rel(Some("noopener noreferrer nofollow"));
    b
});

/// Record HTML (abstracts carry `<h4>`, `<sup>` …) reduced to a safe subset: headings,
/// paragraphs, emphasis, sub/superscripts, lists, line breaks and http(s)/mailto links.
/// Everything else is dropped, its text kept (escaped).
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// Links the trial registrations (`NCT` and eight digits) named in sanitized record HTML to
/// ClinicalTrials.gov: abstracts name their trial in prose ("identifier: NCT02218437").
/// Text inside tags or inside an existing link is left alone.
pub fn link_trials(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let (mut in_tag, mut in_link) = (false, false);
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let Some(c) = rest.chars().next() else { break };
        if in_tag {
            in_tag = c != '>';
        } else if c == '<' {
            in_tag = true;
            let lower = rest.get(..3).unwrap_or("").to_ascii_lowercase();
            if lower.starts_with("<a ") || lower == "<a>" {
                in_link = true;
            } else if lower == "</a" {
                in_link = false;
            }
        } else if !in_link
            && rest.starts_with("NCT")
            && rest.len() >= 11
            && rest.as_bytes()[3..11].iter().all(u8::is_ascii_digit)
            && !rest
                .as_bytes()
                .get(11)
                .is_some_and(u8::is_ascii_alphanumeric)
            && !out.chars().last().is_some_and(char::is_alphanumeric)
        {
            let id = &rest[..11];
            out.push_str(&format!(
                r#"<a href="https://clinicaltrials.gov/study/{id}" rel="noopener">{id}</a>"#
            ));
            i += 11;
            continue;
        }
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Record HTML as plain text for meta tags, JSON-LD and snippets: inline markup (`10<sup>6</sup>`)
/// is dropped without a space, block markup (`<h4>`) becomes one, white space is folded.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    if html.contains('<') || html.contains('&') {
        let stripped = opendi_engine::text::strip_tags(&drop_inline_tags(html));
        fold_spaces(&stripped, &mut out);
    } else {
        fold_spaces(html, &mut out);
    }
    out
}

/// Inline markup whose tags join the text around them rather than separate words.
const INLINE_TAGS: [&str; 8] = ["sup", "sub", "i", "b", "em", "strong", "a", "span"];

/// Removes bare inline tags (`<sup>`, `</EM>`; not ones with attributes) in one pass: search
/// results render this for every hit, so it must not rescan the text once per tag.
fn drop_inline_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tag = &rest[at..];
        let inline = tag.find('>').filter(|&end| end <= 9).is_some_and(|end| {
            let name = tag[1..end].strip_prefix('/').unwrap_or(&tag[1..end]);
            INLINE_TAGS.iter().any(|t| t.eq_ignore_ascii_case(name))
        });
        if inline {
            let end = tag.find('>').unwrap_or(0);
            rest = &tag[end + 1..];
        } else {
            out.push('<');
            rest = &tag[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Appends `s` with runs of white space folded to one space and none at either end.
fn fold_spaces(s: &str, out: &mut String) {
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2021 Feb`, `2021 Feb 27` or `2021`: the reference pages' display form.
pub fn display_date(d: &PartialDate, with_day: bool) -> String {
    let mut s = d.year.to_string();
    if let Some(m) = d.month.filter(|m| (1..=12).contains(m)) {
        s.push(' ');
        s.push_str(MONTHS[m as usize - 1]);
        if let (true, Some(day)) = (with_day, d.day) {
            s.push_str(&format!(" {day}"));
        }
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A horizontal bar chart as inline SVG (no script, no external asset). Each bar links to
/// `href(label)` when given, so the chart is also a way into the search. Labels are escaped.
pub fn bar_chart(
    title: &str,
    rows: &[(String, u64)],
    href: impl Fn(&str) -> Option<String>,
) -> String {
    const ROW: u32 = 26;
    const LABEL_W: u32 = 210;
    const BAR_W: u32 = 300;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    let height = ROW * rows.len() as u32 + 8;
    let width = LABEL_W + BAR_W + 80;
    let mut s = format!(
        r#"<svg class="chart" role="img" aria-label="{t}" viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    for (i, (label, count)) in rows.iter().enumerate() {
        let y = i as u32 * ROW + 4;
        let w = ((*count as f64 / max as f64) * BAR_W as f64)
            .round()
            .max(2.0) as u32;
        // About 30 characters fit the label column at the chart's font size.
        let shown: String = if label.chars().count() > 28 {
            label.chars().take(27).chain(['…']).collect()
        } else {
            label.clone()
        };
        let row = format!(
            r#"<text x="{lx}" y="{ty}" text-anchor="end" class="label">{l}</text><rect x="{bx}" y="{y}" width="{w}" height="{h}" class="bar"><title>{full}: {c}</title></rect><text x="{cx}" y="{ty}" class="val">{c}</text>"#,
            lx = LABEL_W - 8,
            ty = y + 15,
            l = esc(&shown),
            bx = LABEL_W,
            h = ROW - 8,
            full = esc(label),
            c = thousands(*count),
            cx = LABEL_W + w + 6,
        );
        match href(label) {
            Some(h) => s.push_str(&format!(r#"<a href="{}">{row}</a>"#, esc(&h))),
            None => s.push_str(&row),
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_joins_inline_markup_and_separates_blocks() {
        assert_eq!(plain_text("10<sup>6</sup> cells"), "106 cells");
        assert_eq!(
            plain_text("<h4>Background</h4>Defects  in\n<EM>B</EM>"),
            "Background Defects in B"
        );
        assert_eq!(
            plain_text("a <a href=\"x\">link</a> &amp; 1 < 2"),
            "a link & 1"
        );
        assert_eq!(plain_text("  plain\ttext  "), "plain text");
        assert_eq!(plain_text("x<sub"), "x");
    }

    #[test]
    fn sanitize_keeps_headings_drops_scripts() {
        let s = sanitize(
            "<h4>Background</h4>x<script>alert(1)</script><img src=x onerror=alert(1)><a href=\"javascript:alert(1)\">j</a><a href=\"https://e.org\">ok</a>",
        );
        assert!(s.contains("<h4>Background</h4>"), "{s}");
        assert!(!s.contains("<script") && !s.contains("<img") && !s.contains("javascript:"));
        assert!(s.contains(r#"href="https://e.org""#), "{s}");
    }

    #[test]
    fn trials_become_links_outside_tags_and_links() {
        let html = sanitize(
            "<h4>x</h4>registered: NCT02218437 (2013); <a href=\"https://e.org/NCT00000001\">NCT00000001</a> xNCT12345678 NCT1234",
        );
        let l = link_trials(&html);
        assert!(
            l.contains(r#"<a href="https://clinicaltrials.gov/study/NCT02218437" rel="noopener">NCT02218437</a> (2013)"#),
            "{l}"
        );
        assert_eq!(l.matches("clinicaltrials.gov").count(), 1, "{l}");
        assert!(l.contains("xNCT12345678 NCT1234"));
    }

    #[test]
    fn chart_escapes_labels() {
        let svg = bar_chart("t", &[("<b>".into(), 3)], |_| None);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
    }

    #[test]
    fn thousands_groups() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
