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
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("port").port()
        };
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
