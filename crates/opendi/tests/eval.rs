//! The evaluation program (`bench/eval.py`) runs end to end on a small sample of the PubMed
//! file: it strips MeSH, builds the ground truth, drives the opendi binary (and Lucene, when
//! Java and the Anserini jar are here) and writes well-formed figures. Their values are the
//! program's output to read, not something a test can hold fixed.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn required() -> bool {
    std::env::var("OPENDI_REQUIRE_CORPORA").is_ok_and(|v| v == "1" || v == "true")
}

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
        || Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

fn check_figure(v: &Value, what: &str) {
    let x = v
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"));
    assert!((0.0..=1.0).contains(&x), "{what} = {x} is not in [0, 1]");
}

#[test]
fn evaluation_program_computes_figures_on_a_sample() {
    if opendi_corpora::corpus("pubmed/pubmed20n0014.xml.gz").is_none() {
        return;
    }
    if !found("python3") {
        assert!(!required(), "python3 is missing (needed by bench/eval.py)");
        eprintln!("skipped: python3 not found");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let jar = root.join("bench/cache/anserini-0.22.1-fatjar.jar");
    // Lucene runs where Java is installed and the jar is cached (CI fetches it through the
    // program); elsewhere the program runs opendi alone and says why.
    let lucene = required() || (found("java") && found("javac") && jar.is_file());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("eval.json");
    let mut cmd = Command::new("python3");
    cmd.arg(root.join("bench/eval.py"))
        .args(["--records", "600", "--sample", "12", "--min-major", "2"])
        .args(["--max-major", "150", "--threads", "1"])
        .arg("--opendi")
        .arg(env!("CARGO_BIN_EXE_opendi"))
        .arg("--work")
        .arg(dir.path().join("work"))
        .arg("--out")
        .arg(&out);
    if !lucene {
        eprintln!(
            "lucene part skipped: java, javac or {} missing",
            jar.display()
        );
        cmd.arg("--no-lucene");
    }
    let run = cmd.output().expect("run bench/eval.py");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "eval.py failed: {}\n{}",
        stdout,
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("nDCG@10"), "{stdout}");
    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["articles"], 600);
    assert!(report["queries"].as_u64().unwrap() > 0);
    let systems = report["systems"].as_object().unwrap();
    let mut names = vec!["opendi"];
    if lucene {
        names.push("lucene");
    }
    for name in names {
        let s = &systems[name];
        for m in ["ndcg@10", "recall@100", "mrr"] {
            check_figure(&s["search"][m], &format!("{name} search {m}"));
        }
        for m in ["ndcg@10", "p@10"] {
            check_figure(&s["similar"][m], &format!("{name} similar {m}"));
        }
        assert!(s["similar_all_seconds"].as_f64().unwrap() >= 0.0);
        assert_eq!(s["similar"]["articles"], 12);
    }
    if lucene {
        assert_eq!(report["targets"].as_object().unwrap().len(), 3);
    }
}
