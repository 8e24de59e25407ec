//! The portal in a real browser: headless Chromium driven over W3C WebDriver (chromedriver),
//! against the real server on a loopback port over an engine built from real records.
//!
//! Why WebDriver through chromedriver, spoken with a small blocking client here: chromedriver
//! owns Chromium's lifecycle (start, profile, waiting for page loads), WebDriver is a stable
//! standard, and the few commands needed are plain JSON over HTTP, so no async browser crate
//! is pulled in. Full-page and phone-width screenshots use the DevTools protocol through
//! chromedriver's `goog/cdp/execute` passthrough.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `.ci/run` installs them). Missing: the test prints why and passes, unless
//! `OPENDI_REQUIRE_CORPORA=1`. Screenshots go to `$OPENDI_SCREENSHOTS`, by default
//! `screenshots/` at the workspace root (git-ignored).

use base64::Engine as _;
use opendi_engine::{Change, Engine, EngineConfig, NewRecord};
use opendi_ingest::{read_all, source::expand};
use opendi_model::{Item, PartialDate};
use opendi_server::AppState;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long to wait for something to appear before failing (not a timing assertion: a
/// ceiling for a condition that holds as soon as the page has done its work).
const PATIENCE: Duration = Duration::from_secs(10);

fn required() -> bool {
    std::env::var("OPENDI_REQUIRE_CORPORA").is_ok_and(|v| v == "1")
}

fn skip(why: &str) {
    assert!(!required(), "browser test cannot run: {why}");
    eprintln!("skipping the browser test: {why}");
}

fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A WebDriver session on a chromedriver this test started (killed on drop).
struct Browser {
    agent: ureq::Agent,
    session: String,
    driver: Child,
}

impl Browser {
    fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let port = opendi_corpora::free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let root = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = agent
                .get(format!("{root}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|v| v["value"]["ready"] == json!(true));
            if ready {
                break;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            // The browser console, for Content-Security-Policy violations (see `csp_violations`).
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         "--hide-scrollbars", "--force-device-scale-factor=1"]
            }
        }}});
        let mut resp = agent
            .post(format!("{root}/session"))
            .header("content-type", "application/json")
            .send(caps.to_string())
            .expect("create a WebDriver session");
        let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().expect("session"))
            .expect("session JSON");
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Browser {
            agent,
            session: format!("{root}/session/{id}"),
            driver,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, b) => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(b.unwrap_or(json!({})).to_string()),
        };
        let mut resp = resp.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let v: Value = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            .unwrap_or_else(|e| panic!("{method} {path}: unreadable answer: {e}"));
        v["value"].clone()
    }

    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = self.cmd(method, path, body);
        if let Some(err) = v.get("error") {
            panic!("{method} {path}: {err}: {}", v["message"]);
        }
        v
    }

    fn goto(&self, url: &str) {
        self.ok("POST", "/url", Some(json!({ "url": url })));
    }

    fn js(&self, script: &str, args: Value) -> Value {
        self.ok(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    fn all(&self, css: &str) -> Vec<String> {
        self.ok(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e[ELEMENT_KEY].as_str().map(str::to_string))
        .collect()
    }

    fn one(&self, css: &str) -> String {
        self.all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css:?} on {}", self.url()))
    }

    fn wait_for(&self, css: &str) -> Vec<String> {
        let started = Instant::now();
        loop {
            let found = self.all(css);
            if !found.is_empty() {
                return found;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css:?} did not appear on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn text(&self, el: &str) -> String {
        self.ok("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn texts(&self, css: &str) -> Vec<String> {
        self.all(css).iter().map(|e| self.text(e)).collect()
    }

    fn attr(&self, el: &str, name: &str) -> Option<String> {
        self.ok("GET", &format!("/element/{el}/attribute/{name}"), None)
            .as_str()
            .map(str::to_string)
    }

    fn click(&self, el: &str) {
        self.ok("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    fn type_keys(&self, el: &str, keys: &str) {
        self.ok(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": keys })),
        );
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.ok(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
    }

    /// The console messages logged since the last call (chromedriver's browser log).
    fn console(&self) -> Vec<String> {
        self.ok("POST", "/se/log", Some(json!({"type": "browser"})))
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e["message"].as_str().map(str::to_string))
            .collect()
    }

    /// The Content-Security-Policy violations the console reported since the last call.
    fn csp_violations(&self) -> Vec<String> {
        self.console()
            .into_iter()
            .filter(|m| m.contains("Content Security Policy") || m.contains("Refused to"))
            .collect()
    }

    /// Fails on any CSP violation since the last check: the portal must work under its policy.
    fn assert_no_csp_violation(&self, what: &str) {
        let v = self.csp_violations();
        assert!(v.is_empty(), "{what}: CSP violations: {v:#?}");
    }

    /// Emulates a viewport `width` wide (`mobile`: a phone's viewport and touch metrics).
    fn viewport(&self, width: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": if mobile { 844 } else { 900 },
                   "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// The whole page (not only the viewport) as a PNG.
    fn screenshot(&self, path: &Path) {
        let shot = self.cdp(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let data = shot["data"].as_str().expect("screenshot data");
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("screenshot base64");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Fails when the page is wider than its viewport (a phone would scroll sideways).
    fn assert_no_sideways_scroll(&self, what: &str) {
        let v = self.js(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            json!([]),
        );
        let (scroll, inner) = (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0));
        assert!(
            scroll <= inner,
            "{what}: page is {scroll}px wide in a {inner}px viewport"
        );
    }

    /// Every visible form control has a label (a `<label>`, `aria-label` or `aria-labelledby`).
    fn assert_controls_labelled(&self, what: &str) {
        let unlabelled = self.js(
            "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                            && !e.getAttribute('aria-labelledby'))
               .map(e => e.outerHTML);",
            json!([]),
        );
        assert_eq!(unlabelled, json!([]), "{what}: controls without a label");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.cmd("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn changes(paths: &[PathBuf]) -> Vec<Change> {
    let sources: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let (items, _) = read_all(
        &expand(&sources).expect("expand sources"),
        PartialDate::ymd(2026, 1, 1).expect("date"),
    );
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(Change::Upsert(Box::new(NewRecord::from_source(*r)))),
            _ => None,
        })
        .collect()
}

/// Starts the real server on a loopback port (it lives until the test process ends).
fn start_server(state: AppState) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = opendi_server::serve(state, "127.0.0.1:0", |addr| {
            let _ = tx.send(addr);
        });
        if let Err(e) = r {
            eprintln!("server stopped: {e}");
        }
    });
    let addr = rx.recv_timeout(PATIENCE).expect("the server did not start");
    format!("http://{addr}")
}

fn number(s: &str) -> u64 {
    s.chars()
        .take_while(|c| !c.is_alphabetic())
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number at the start of {s:?}"))
}

#[test]
fn portal_in_headless_chromium() {
    let (Some(chromium), Some(chromedriver)) = (
        which(&["chromium", "chromium-browser", "google-chrome"]),
        which(&["chromedriver"]),
    ) else {
        return skip(
            "chromium or chromedriver not found on PATH (apt-get install chromium chromium-driver)",
        );
    };
    let (Some(seed), Some(ddi), Some(pubmed), Some(geo)) = (
        opendi_corpora::seed("S-EPMC7912947.omicsdi.xml"),
        opendi_corpora::corpus("omicsdi-xml/ddi-annotation"),
        opendi_corpora::corpus("pubmed/pubmed-29768149.xml"),
        opendi_corpora::corpus("geo"),
    ) else {
        return skip("the shared corpora are absent");
    };

    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("open engine");
    let batch = changes(&[seed, ddi, pubmed, geo]);
    assert!(batch.len() > 40, "too few records to page: {}", batch.len());
    engine.apply(&batch, 1_700_000_000).expect("apply");
    engine.commit().expect("commit");
    let base = start_server(AppState::new(engine));

    let shots = std::env::var_os("OPENDI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../screenshots"));
    std::fs::create_dir_all(&shots).expect("screenshot dir");

    let b = Browser::start(&chromium, &chromedriver);
    b.viewport(1280, false);

    // Home: search box, counts per repository and omics type, latest datasets.
    b.goto(&format!("{base}/"));
    assert_eq!(b.texts("main h1"), vec!["Find biomedical datasets"]);
    assert!(
        b.all("#h-repos + ul.counts li a").len() >= 2,
        "repository counts"
    );
    assert!(
        !b.all("#h-omics + ul.counts li a").is_empty(),
        "omics counts"
    );
    assert!(
        !b.all("#h-latest + ol li.result").is_empty(),
        "latest datasets"
    );
    b.assert_controls_labelled("home");
    b.assert_no_csp_violation("home");

    // Autocomplete: typing part of a word offers completions in a listbox; the arrow key
    // and Enter take one into the box.
    let q = b.one("#q");
    b.click(&q);
    b.type_keys(&q, "aplas");
    let options = b.wait_for("ul.suggestions[role=listbox] li[role=option]");
    let labels = b.texts("ul.suggestions li .s-text");
    assert!(
        labels.iter().any(|l| l.to_lowercase().starts_with("aplas")),
        "suggestions for 'aplas': {labels:?}"
    );
    assert_eq!(b.attr(&q, "aria-expanded").as_deref(), Some("true"));
    b.type_keys(&q, "\u{E015}"); // ArrowDown
    assert_eq!(
        b.attr(&q, "aria-activedescendant"),
        b.attr(&options[0], "id"),
        "ArrowDown selects the first suggestion"
    );
    b.type_keys(&q, "\u{E007}"); // Enter: take the suggestion
    let taken = b.js("return document.getElementById('q').value;", json!([]));
    assert_eq!(
        taken.as_str().map(str::to_lowercase).as_deref(),
        Some("aplastic")
    );
    assert!(
        b.all("ul.suggestions li").is_empty(),
        "list closes after choosing"
    );
    b.type_keys(&q, " anemia\u{E007}"); // submit
    b.wait_for("h1#h-count");
    assert!(b.url().contains("/search?q=aplastic"), "{}", b.url());
    b.assert_no_csp_violation("autocomplete and search");

    // Search: result count, highlighted words, the seed record found.
    let count = b.text(&b.one("h1#h-count"));
    assert!(number(&count) >= 1, "{count}");
    assert!(
        !b.all("ol.results mark").is_empty(),
        "highlighted query words"
    );
    let titles = b.texts("ol.results .title");
    assert!(
        titles.iter().any(|t| t.contains("severe aplastic anemia")),
        "seed among {titles:?}"
    );
    b.assert_controls_labelled("search");

    // Facets: browse all, take a value of one facet, then of another; each count in the
    // sidebar is the number of results the filter leads to, and both filters show as chips.
    b.goto(&format!("{base}/search?q="));
    let total = number(&b.text(&b.one("h1#h-count")));
    assert!(total > 40, "all datasets: {total}");
    let first_facet = b.one("section.facet[aria-labelledby=facet-repository] li a");
    let expected_1 =
        number(&b.text(&b.one("section.facet[aria-labelledby=facet-repository] li .n")));
    b.click(&first_facet);
    b.wait_for(".chips .chip");
    let after_1 = number(&b.text(&b.one("h1#h-count")));
    assert_eq!(after_1, expected_1, "repository filter count");
    assert!(
        !b.all("section.facet[aria-labelledby=facet-year] li")
            .is_empty(),
        "a year facet value under the repository filter"
    );
    let expected_2 = number(&b.text(&b.all(".facet[aria-labelledby=facet-year] li .n")[0]));
    let link = b.all("section.facet[aria-labelledby=facet-year] li a")[0].clone();
    b.click(&link);
    let chips = b.wait_for(".chips .chip");
    assert_eq!(chips.len(), 2, "two filters as chips");
    let after_2 = number(&b.text(&b.one("h1#h-count")));
    assert_eq!(after_2, expected_2, "repository AND year count");
    assert!(after_2 <= after_1 && after_1 <= total);
    // Removing one chip keeps the other.
    b.click(&chips[1]);
    let chips = b.wait_for(".chips .chip");
    assert_eq!(chips.len(), 1);
    assert_eq!(number(&b.text(&b.one("h1#h-count"))), after_1);

    // Paging: the second page starts at 21 and says so.
    b.goto(&format!("{base}/search?q="));
    let next = b.one(".pager a[rel=next]");
    b.click(&next);
    b.wait_for(".pager span[aria-current=page]");
    assert_eq!(b.texts(".pager span[aria-current=page]"), vec!["2"]);
    b.assert_no_csp_violation("facets and paging");
    let ol = b.one("ol.results");
    assert_eq!(b.attr(&ol, "start").as_deref(), Some("21"));
    // Sorting by date through the select (the script submits on change).
    b.goto(&format!("{base}/search?q=aplastic"));
    b.js(
        "const s = document.getElementById('sort'); s.value = 'date_desc'; s.dispatchEvent(new Event('change'));",
        json!([]),
    );
    let started = Instant::now();
    while !b.url().contains("sort=date_desc") {
        assert!(started.elapsed() < PATIENCE, "sort select did not submit");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Nothing matches: help instead of an empty list.
    b.goto(&format!("{base}/search?q=zzqxv%20nonexistentword"));
    assert!(b
        .text(&b.one("h1#h-count"))
        .starts_with("No datasets match"));
    assert!(!b.all(".help li").is_empty());

    // The seed record's page, opened from the search results.
    b.goto(&format!("{base}/search?q=%22severe%20aplastic%20anemia%22"));
    let link = b
        .all("ol.results .title")
        .into_iter()
        .find(|e| {
            b.attr(e, "href")
                .is_some_and(|h| h.ends_with("/dataset/biostudies-literature/S-EPMC7912947"))
        })
        .expect("a result links to the seed page");
    b.click(&link);
    b.wait_for("article.dataset");
    assert_eq!(
        b.texts("article.dataset h1"),
        vec!["Combination of umbilical cord mesenchymal stem cells and standard immunosuppressive regimen for pediatric patients with severe aplastic anemia."]
    );
    assert_eq!(
        b.texts(".provider"),
        vec!["S-EPMC7912947 | biostudies-literature | 2021 Feb"]
    );
    let headings = b.texts("section[aria-labelledby=h-abstract] .abstract h4");
    assert_eq!(
        headings,
        vec!["Background", "Methods", "Results", "Conclusions"]
    );
    let nct: Vec<String> = b
        .all("a")
        .into_iter()
        .filter(|a| b.text(a).contains("NCT02218437"))
        .filter_map(|a| b.attr(&a, "href"))
        .collect();
    assert!(
        nct.iter()
            .any(|h| h.contains("clinicaltrials.gov") && h.contains("NCT02218437")),
        "NCT02218437 as a link: {nct:?}"
    );
    assert_eq!(
        b.texts("section[aria-labelledby=h-abstract] .abstract a[href*=NCT02218437]"),
        vec!["NCT02218437"],
        "the trial named in the abstract is a link"
    );
    assert_eq!(
        b.texts(".facts dt")
            .first()
            .map(|s| s.to_lowercase())
            .as_deref(),
        Some("submitter")
    );
    assert!(b.texts(".facts dd").iter().any(|d| d == "Lan Y"));
    let pubs = b.texts("section[aria-labelledby=h-pubs] .publication h3");
    assert!(
        pubs.iter()
            .any(|t| t.contains("umbilical cord mesenchymal stem cells")),
        "publications: {pubs:?}"
    );
    assert!(
        !b.all(".publication details summary").is_empty(),
        "collapsible abstract"
    );
    let similar = b.all("section.similar li a");
    assert!(!similar.is_empty(), "similar datasets");
    assert!(
        number(&b.text(&b.one(".metrics dd"))) >= 1,
        "the view was counted"
    );
    let exports = b.texts(".exports a");
    assert_eq!(exports, vec!["JSON", "JSON-LD", "BibTeX", "RIS"]);
    let omics = b.texts("p.omics .badge");
    assert_eq!(omics, vec!["Unknown"]);

    // Statistics: SVG charts and the term cloud, no script needed.
    b.goto(&format!("{base}/stats"));
    assert!(b.all("svg.chart").len() >= 4, "charts");
    assert!(b.all("ul.cloud li a").len() >= 10, "term cloud");
    b.assert_no_csp_violation("dataset page, sorting and statistics");

    // The check above can fail: script injected inline is refused, and the console says so.
    b.js(
        "const s = document.createElement('script'); s.textContent = 'window.__inline = 1';
         document.head.appendChild(s);
         const d = document.createElement('div'); d.setAttribute('style', 'color: red');
         document.body.appendChild(d);",
        json!([]),
    );
    assert_eq!(
        b.js("return window.__inline === undefined;", json!([])),
        json!(true),
        "the policy stopped an inline script"
    );
    let refused = b.csp_violations();
    assert!(
        refused.iter().any(|m| m.contains("script")),
        "the console reports the refused inline script: {refused:?}"
    );

    // Screenshots of the four pages, desktop and phone; no page scrolls sideways on a phone.
    let pages = [
        ("home", format!("{base}/")),
        ("search", format!("{base}/search?q=plasma%20metabolomics")),
        (
            "dataset",
            format!("{base}/dataset/biostudies-literature/S-EPMC7912947"),
        ),
        ("stats", format!("{base}/stats")),
    ];
    for (width, mobile, tag) in [(1280, false, "desktop"), (390, true, "phone")] {
        b.viewport(width, mobile);
        for (name, url) in &pages {
            b.goto(url);
            if mobile {
                b.assert_no_sideways_scroll(&format!("{name} at {width}px"));
            }
            b.screenshot(&shots.join(format!("{name}-{tag}.png")));
        }
    }
    eprintln!("screenshots in {}", shots.display());
}

/// Each payload, if it ever ran, would set `window.__xss`, set the title to `PWNED` or open
/// an alert. Script tags, event-handler attributes, `javascript:` and `data:` URLs, CSS
/// expressions, SVG and MathML tricks, broken markup, entities, and breakouts from attribute
/// values, `<title>`, JSON-LD and `<noscript>`.
const XSS_PAYLOADS: [&str; 30] = [
    "<script>window.__xss=1;document.title='PWNED'</script>",
    "<script src=\"data:text/javascript,window.__xss=1\"></script>",
    "<img src=x onerror=\"window.__xss=1;alert(1)\">",
    "<svg onload=\"window.__xss=1\"></svg>",
    "<svg><script>window.__xss=1</script></svg>",
    "<svg><a xlink:href=\"javascript:window.__xss=1\"><text x=\"20\" y=\"20\">x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__xss=1\">",
    "<math href=\"javascript:window.__xss=1\">m</math>",
    "javascript:window.__xss=1//",
    "\"><script>window.__xss=1</script>",
    "'><img src=x onerror=window.__xss=1>",
    "\" onmouseover=\"window.__xss=1\" autofocus onfocus=\"window.__xss=1\" x=\"",
    "<a href=\"javascript:window.__xss=1\">click</a>",
    "<a href=\"jAvAsCrIpT&colon;window.__xss=1\">entity scheme</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:window.__xss=1\">x</a>",
    "<iframe src=\"javascript:window.__xss=1\"></iframe>",
    "<iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>",
    "<div style=\"background:url(javascript:window.__xss=1)\">css url</div>",
    "<div style=\"width:expression(window.__xss=1)\">css expression</div>",
    "<style>@import 'javascript:window.__xss=1';</style>",
    "<body onload=window.__xss=1>",
    "<details open ontoggle=\"window.__xss=1\">d</details>",
    "<object data=\"javascript:window.__xss=1\"></object><embed src=\"javascript:window.__xss=1\">",
    "<form action=\"javascript:window.__xss=1\"><button>go</button></form>",
    "&lt;script&gt;window.__xss=1&lt;/script&gt; &#x3C;img src=x onerror=window.__xss=1&#x3E;",
    "<scr<script>ipt>window.__xss=1</scr</script>ipt>",
    "<!--<img src=\"--><img src=x onerror=window.__xss=1//\">",
    "</script><script>window.__xss=1</script>",
    "</title><script>window.__xss=1</script>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=1>\">",
];

/// The hostile record: every payload in every field a page shows, and a literature record
/// whose publication (title, authors, journal, abstract) is hostile too.
fn hostile_records() -> Vec<Change> {
    use opendi_model::{
        CrossRef, Dataset, DateKind, DatedValue, Evidence, Organism, Person, PersonRole,
        Publication, PublicationRef, Term,
    };
    let p: Vec<String> = XSS_PAYLOADS.iter().map(|s| s.to_string()).collect();
    let all = p.join(" ");
    let mut d = Dataset::new("pride", "XSS0002");
    d.secondary_accessions = p.clone();
    d.title = format!("Hostile xssrecord {all}");
    d.description = format!("<h4>Intro</h4>xssrecord {all}");
    d.omics_types = p.clone();
    d.dates = vec![DatedValue {
        kind: DateKind::Publication,
        value: PartialDate::parse("2031-01-01"),
        raw: "2031-01-01".into(),
    }];
    for (i, x) in p.iter().enumerate() {
        let role = if i % 2 == 0 {
            PersonRole::Submitter
        } else {
            PersonRole::LabHead
        };
        let mut person = Person::new(x.clone(), role);
        person.email = Some(x.clone());
        person.affiliation = Some(x.clone());
        d.people.push(person);
        d.organisms.push(Organism {
            taxon_id: Some(x.clone()),
            name: x.clone(),
            evidence: Evidence::Declared,
        });
        for terms in [&mut d.diseases, &mut d.tissues, &mut d.cell_types] {
            let mut t = Term::label(x.clone());
            t.id = Some(x.clone());
            terms.push(t);
        }
        for db in [x.as_str(), "pubmed", "doi", "geo", "pride", "url"] {
            d.cross_refs.push(CrossRef {
                database: db.to_string(),
                key: x.clone(),
                evidence: Evidence::Declared,
            });
        }
        d.publications.push(PublicationRef {
            pmid: Some(x.clone()),
            doi: Some(x.clone()),
            pmcid: Some(x.clone()),
            citation: Some(x.clone()),
        });
        d.files.push(x.clone());
    }
    d.files.push("javascript:window.__xss=1".into());
    d.files
        .push("data:text/html,<script>window.__xss=1</script>".into());
    d.submitter_keywords = p.clone();
    d.curator_keywords = p.clone();
    d.instruments = p.clone();
    d.data_protocols = p.clone();
    d.sample_protocols = p.clone();
    d.modifications = p.clone();
    d.software = p.clone();
    d.full_dataset_link = Some("javascript:window.__xss=1".into());
    d.license = Some(all.clone());
    for x in &p {
        d.additional.insert(x.clone(), p.clone());
    }
    d.additional.insert("submitter".into(), p.clone());
    d.publications.push(PublicationRef {
        pmid: Some("99999991".into()),
        ..Default::default()
    });

    let mut lit = Dataset::new("pubmed", "99999991");
    lit.title = format!("xssrecord publication {all}");
    lit.description = all.clone();
    lit.cross_refs.push(CrossRef {
        database: "pride".into(),
        key: "XSS0002".into(),
        evidence: Evidence::Declared,
    });
    let publication = Publication {
        pmid: Some("99999991".into()),
        title: format!("xssrecord publication {all}"),
        authors: p.clone(),
        journal: Some(all.clone()),
        volume: Some(p[0].clone()),
        issue: Some(p[1].clone()),
        pages: Some(p[2].clone()),
        abstract_text: all.clone(),
        ..Default::default()
    };
    let record = |d: Dataset, publication: Option<Publication>| {
        Change::Upsert(Box::new(NewRecord::new(
            d,
            String::new(),
            "test".into(),
            "test".into(),
            vec![],
            publication,
        )))
    };
    vec![record(lit, Some(publication)), record(d, None)]
}

/// Whether the page shows any sign of a payload having run or entered the DOM as markup.
const XSS_PROBE: &str = r#"
const bad = [];
if (window.__xss !== undefined) bad.push('window.__xss was set');
if (document.title === 'PWNED') bad.push('the title was changed');
for (const el of document.querySelectorAll('*')) {
  const tag = el.tagName.toLowerCase();
  for (const a of el.attributes) {
    const n = a.name.toLowerCase();
    const v = a.value.replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
    if (n.startsWith('on')) bad.push(tag + ' has ' + n);
    if (n === 'style' || n === 'srcdoc') bad.push(tag + ' has ' + n);
    if (['href', 'src', 'action', 'data', 'formaction', 'xlink:href'].includes(n)
        && (v.startsWith('javascript:') || v.startsWith('data:') || v.startsWith('vbscript:')))
      bad.push(tag + ' ' + n + '=' + a.value);
  }
  if (['iframe', 'object', 'embed', 'frame', 'img', 'style', 'math', 'base'].includes(tag))
    bad.push('element ' + tag);
  if (tag === 'svg' && !el.classList.contains('chart')) bad.push('svg outside a chart');
  if (tag === 'script' && el.getAttribute('src') !== '/static/app.js'
      && el.getAttribute('type') !== 'application/ld+json') bad.push('script ' + el.outerHTML.slice(0, 80));
}
return bad;
"#;

#[test]
fn xss_payloads_in_every_field_never_run() {
    let (Some(chromium), Some(chromedriver)) = (
        which(&["chromium", "chromium-browser", "google-chrome"]),
        which(&["chromedriver"]),
    ) else {
        return skip(
            "chromium or chromedriver not found on PATH (apt-get install chromium chromium-driver)",
        );
    };
    let (Some(seed), Some(ddi)) = (
        opendi_corpora::seed("S-EPMC7912947.omicsdi.xml"),
        opendi_corpora::corpus("omicsdi-xml/ddi-annotation"),
    ) else {
        return skip("the shared corpora are absent");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(dir.path())).expect("open engine");
    let mut batch = changes(&[seed, ddi]);
    batch.extend(hostile_records());
    engine.apply(&batch, 1_700_000_000).expect("apply");
    engine.commit().expect("commit");
    let base = start_server(AppState::new(engine));
    let b = Browser::start(&chromium, &chromedriver);

    // The probe can see a payload that ran: set the marker by hand on a page, probe, reload.
    b.goto(&format!("{base}/"));
    b.js("window.__xss = 1;", json!([]));
    assert_eq!(b.js(XSS_PROBE, json!([])), json!(["window.__xss was set"]));

    let q = |s: &str| {
        s.bytes()
            .map(|c| match c {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (c as char).to_string(),
                _ => format!("%{c:02X}"),
            })
            .collect::<String>()
    };
    let mut pages = vec![
        format!("{base}/dataset/pride/XSS0002"),
        format!("{base}/dataset/pubmed/99999991"),
        format!("{base}/search?q=xssrecord"),
        format!("{base}/search?q=XSS0002"),
        format!("{base}/search?q=&filter=repository:pride"),
        format!("{base}/"),
        format!("{base}/stats"),
    ];
    // The payloads as the query itself: reflected in the search box, the heading, the links.
    for p in XSS_PAYLOADS.iter().step_by(3) {
        pages.push(format!("{base}/search?q={}", q(p)));
    }
    for url in &pages {
        b.goto(url);
        let alert = b.cmd("GET", "/alert/text", None);
        assert!(
            alert.get("error").is_some(),
            "{url}: an alert opened: {alert}"
        );
        let found = b.js(XSS_PROBE, json!([]));
        assert_eq!(found, json!([]), "{url}: payload traces");
        let v = b.csp_violations();
        assert!(v.is_empty(), "{url}: something tried to run: {v:#?}");
    }
    // The hostile record is among the results, and its page shows the payloads as text
    // (so the pages above did render them): shown, not run.
    b.goto(&format!("{base}/search?q=xssrecord"));
    let hrefs: Vec<String> = b
        .all("ol.results .title")
        .iter()
        .filter_map(|e| b.attr(e, "href"))
        .collect();
    assert!(
        hrefs.iter().any(|h| h.ends_with("/dataset/pride/XSS0002")),
        "the hostile record is a result: {hrefs:?}"
    );
    b.goto(&format!("{base}/dataset/pride/XSS0002"));
    let shown = b.js(
        "return document.body.innerText.split('__xss=1').length - 1;",
        json!([]),
    );
    assert!(
        shown.as_u64().unwrap_or(0) >= 300,
        "payloads shown as text on the dataset page: {shown}"
    );
    let h1 = b.texts("article.dataset h1");
    assert!(
        h1.first()
            .is_some_and(|t| t.contains("<script>window.__xss=1;document.title='PWNED'</script>")),
        "the title shows the payload as text: {h1:?}"
    );
    eprintln!(
        "XSS: {} payloads in every field of a record, {} pages rendered in Chromium; none ran; {shown} payload texts shown on the dataset page",
        XSS_PAYLOADS.len(),
        pages.len()
    );
}
