//! Damaged inputs read through `source` (issue 6): gzip streams cut short or corrupted, zip
//! archives truncated or with a corrupt member, and a file that shrinks or grows while it is
//! read. Each gives a diagnostic naming the file and where the damage is; the records before it
//! come through; nothing panics.

use opendi_ingest::source::{self, FileReport, Input, ReadOptions};
use opendi_model::{Item, PartialDate, Severity};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::AtomicU64;

/// Records (accessions) and error diagnostics (file, record, message) of one input.
struct Outcome {
    records: Vec<String>,
    errors: Vec<(String, Option<String>, String)>,
    reports: Vec<FileReport>,
}

fn read_with(path: &Path, mut on_record: impl FnMut(usize)) -> Outcome {
    let opts = ReadOptions {
        format: None,
        today: PartialDate::ymd(2026, 1, 1).unwrap(),
    };
    let progress = AtomicU64::new(0);
    let mut out = Outcome {
        records: Vec::new(),
        errors: Vec::new(),
        reports: Vec::new(),
    };
    let mut sink = |item: Item| match item {
        Item::Record(r) => {
            for d in r
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
            {
                out.errors.push((
                    d.location.file.clone(),
                    d.location.record.clone(),
                    d.message.clone(),
                ));
            }
            out.records.push(r.dataset.accession.clone());
            on_record(out.records.len());
        }
        Item::Diagnostic(d) if d.severity == Severity::Error => out.errors.push((
            d.location.file.clone(),
            d.location.record.clone(),
            d.message,
        )),
        _ => {}
    };
    let reports = source::read(
        &Input::Path(path.to_path_buf()),
        &opts,
        &progress,
        &mut sink,
    );
    out.reports = reports;
    out
}

fn read(path: &Path) -> Outcome {
    read_with(path, |_| {})
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The real PubMed baseline file, decompressed, cut after its `keep`-th article and closed
/// again: a well-formed PubMed file of `keep` real articles.
fn pubmed_articles(keep: usize) -> Option<Vec<u8>> {
    let gz = std::fs::read(opendi_corpora::corpus("pubmed/pubmed20n0014.xml.gz")?).unwrap();
    let xml = gunzip(&gz);
    let end = b"</PubmedArticle>";
    let mut at = 0;
    for _ in 0..keep {
        at += memfind(&xml[at..], end).expect("enough articles") + end.len();
    }
    let mut out = xml[..at].to_vec();
    out.extend_from_slice(b"\n</PubmedArticleSet>\n");
    Some(out)
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The error names the file, the byte and the record where reading stopped, and says how many
/// records came through before; the records before the damage are exactly those.
fn assert_located(r: &Outcome, file: &str) {
    let failed: Vec<&FileReport> = r.reports.iter().filter(|f| f.error.is_some()).collect();
    assert_eq!(failed.len(), 1, "{:?}", r.reports);
    let msg = failed[0].error.as_deref().unwrap();
    assert!(failed[0].name.ends_with(file), "{}", failed[0].name);
    assert!(msg.contains("at byte "), "{msg}");
    let kept = format!("the {} records before it were kept", r.records.len());
    assert!(msg.contains(&kept), "{msg} (read {})", r.records.len());
    let (efile, erecord, _) = r
        .errors
        .iter()
        .find(|(_, _, m)| m == msg)
        .expect("the failure is a diagnostic too");
    assert!(efile.ends_with(file));
    assert_eq!(
        erecord.as_deref(),
        Some(format!("#{}", r.records.len() + 1).as_str())
    );
}

#[test]
fn truncated_and_corrupted_gzip() {
    let Some(xml) = pubmed_articles(3000) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let whole = gzip(&xml);
    let good = dir.path().join("good.xml.gz");
    std::fs::write(&good, &whole).unwrap();
    let all = read(&good);
    assert_eq!(all.records.len(), 3000);
    assert!(all.errors.is_empty(), "{:?}", all.errors);

    // Cut short (an interrupted download): the articles before the cut, then a located error.
    let cut = dir.path().join("cut.xml.gz");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 5]).unwrap();
    let r = read(&cut);
    assert!(
        r.records.len() > 500 && r.records.len() < 3000,
        "{}",
        r.records.len()
    );
    assert_eq!(r.records[..], all.records[..r.records.len()]);
    assert_located(&r, "cut.xml.gz");

    // Corrupted in the middle: the records up to there, then a located error (a bad deflate
    // code at once, or the checksum at the end); no panic.
    for (i, at) in [0.3, 0.5, 0.7].into_iter().enumerate() {
        let mut bad = whole.clone();
        let p = (bad.len() as f64 * at) as usize;
        for b in &mut bad[p..p + 16] {
            *b ^= 0x5a;
        }
        let name = format!("flipped{i}.xml.gz");
        let path = dir.path().join(&name);
        std::fs::write(&path, &bad).unwrap();
        let r = read(&path);
        assert_located(&r, &name);
        let before = (3000.0 * at * 0.8) as usize;
        assert!(r.records.len() >= before, "{} < {before}", r.records.len());
        assert_eq!(r.records[..before], all.records[..before]);
    }
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        w.start_file(
            *name,
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn truncated_zip_and_a_corrupt_member() {
    let (Some(a), Some(b), Some(pubmed)) = (
        opendi_corpora::corpus("omicsdi-xml/xml-validator/PRIDE_EBEYE_PXD007896.xml"),
        opendi_corpora::corpus("omicsdi-xml/xml-validator/PRIDE_EBEYE_PXD002837.xml"),
        pubmed_articles(600),
    ) else {
        return;
    };
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    let archive = zip_of(&[("1.xml", &a), ("2.xml", &b), ("3.xml", &pubmed)]);
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.zip");
    std::fs::write(&whole, &archive).unwrap();
    let all = read(&whole);
    assert_eq!(all.records.len(), 602);
    assert!(all.errors.is_empty(), "{:?}", all.errors);

    // Truncated: no central directory. The members before the cut are read from their local
    // headers, the one cut short as far as it goes.
    let third = memfind(&archive[30..], b"PK\x03\x04")
        .and_then(|i| memfind(&archive[30 + i + 4..], b"PK\x03\x04").map(|j| 30 + i + 4 + j))
        .expect("three local headers");
    let cut_at = third + (archive.len() - third) / 2;
    let cut = dir.path().join("cut.zip");
    std::fs::write(&cut, &archive[..cut_at]).unwrap();
    let r = read(&cut);
    let failed: Vec<&FileReport> = r.reports.iter().filter(|f| f.error.is_some()).collect();
    assert!(
        failed.iter().any(|f| f.name.ends_with("cut.zip")
            && f.error.as_deref().unwrap().contains("broken zip archive")
            && f.error
                .as_deref()
                .unwrap()
                .contains("members before the damage")),
        "{failed:?}"
    );
    assert!(
        r.records.len() > 2 + 100 && r.records.len() < 602,
        "{}",
        r.records.len()
    );
    assert_eq!(r.records[..], all.records[..r.records.len()]);
    // The archive's error names the member cut short.
    assert!(
        failed[0]
            .error
            .as_deref()
            .unwrap()
            .contains("then: member 3.xml: "),
        "{failed:?}"
    );

    // A corrupt member: that member fails with its name, the others go in whole.
    let second = memfind(&archive[30..], b"PK\x03\x04").unwrap() + 30;
    let mut bad = archive.clone();
    let p = second + (third - second) / 2;
    for x in &mut bad[p..p + 8] {
        *x ^= 0xff;
    }
    let flipped = dir.path().join("flipped.zip");
    std::fs::write(&flipped, &bad).unwrap();
    let r = read(&flipped);
    let failed: Vec<&FileReport> = r.reports.iter().filter(|f| f.error.is_some()).collect();
    assert_eq!(failed.len(), 1, "{:?}", r.reports);
    assert!(failed[0].name.ends_with("flipped.zip!2.xml"), "{failed:?}");
    assert_eq!(r.records.len(), 601);
    assert!(!r.records.contains(&all.records[1]));
}

/// A file cut short while it is read (another process truncating it): the records read before
/// and a diagnostic for the record cut in two; a file growing while read: no panic, nothing
/// already there lost.
#[test]
fn file_changing_while_read() {
    let Some(xml) = pubmed_articles(3000) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changing.xml");
    std::fs::write(&path, &xml).unwrap();
    let all = read(&path);
    assert_eq!(all.records.len(), 3000);

    // Shrinks to a third after the first record; reading goes on from where the buffers are.
    let third = (xml.len() / 3) as u64;
    let r = read_with(&path, |n| {
        if n == 1 {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(third))
                .unwrap();
        }
    });
    assert!(
        r.records.len() > 100 && r.records.len() < 3000,
        "{}",
        r.records.len()
    );
    // The articles read are the file's first ones, in order; the last one may be cut in two
    // and then carries an error of its own (pubmed parses it as far as it goes).
    let whole = r.records.len() - 1;
    assert_eq!(r.records[..whole], all.records[..whole]);
    assert!(
        r.errors
            .iter()
            .any(|(f, rec, _)| f.ends_with("changing.xml") && rec.is_some()),
        "the record cut in two is reported with its location: {:?}",
        r.errors
    );

    // The same, compressed: the gzip stream ends early, a located read error.
    let gz_path = dir.path().join("changing.xml.gz");
    let gz = gzip(&xml);
    std::fs::write(&gz_path, &gz).unwrap();
    let r = read_with(&gz_path, |n| {
        if n == 1 {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&gz_path)
                .and_then(|f| f.set_len(gz.len() as u64 / 3))
                .unwrap();
        }
    });
    assert_located(&r, "changing.xml.gz");
    assert_eq!(r.records[..], all.records[..r.records.len()]);

    // Grows while read: another copy of the articles appended after the first record.
    std::fs::write(&path, &xml).unwrap();
    let r = read_with(&path, |n| {
        if n == 1 {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(&xml).unwrap();
        }
    });
    assert!(r.records.len() >= 3000, "{}", r.records.len());
    assert_eq!(r.records[..3000], all.records[..]);
}
