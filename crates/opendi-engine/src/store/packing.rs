//! How the store compresses its blobs (a record's normalized JSON, its raw source, a shared
//! publication): zstd with a dictionary trained on the store's own records, one dictionary
//! per kind of blob (`dataset`, `publication`, and `raw <format>` for each source format).
//!
//! A record compressed alone repeats what every record of its kind holds (tag and key names,
//! boilerplate, the common words of its field); a dictionary holds that once. On PubMed's
//! 30,000 articles, the store's blobs went from 110 MB (lz4, the raw source against its
//! JSON) to about 50 MB.
//!
//! The first [`SAMPLES`] blobs of a kind a process writes, while no dictionary of that kind
//! exists, are compressed as before (lz4) and kept as samples; the dictionary is trained from
//! them (a few tens of milliseconds) and used from then on. The store saves a new dictionary
//! in the transaction that writes the first blob packed with it (or before), so a blob never
//! names a dictionary the store does not hold. Dictionaries are never replaced: a kind keeps
//! its first one, and every process that opens the store uses it.
//!
//! A blob says how to read it: a zstd frame (magic number first) names its dictionary's id in
//! its header; anything else is lz4 as written before dictionaries existed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use zstd::zstd_safe::{self, CCtx, CDict, DCtx, DDict};

use crate::{EngineError, Result};

/// Blobs of a kind sampled before its dictionary is trained. 300 PubMed articles trained a
/// dictionary as good as 1,000 did (raw sources 24.2 against 23.9 MB), in 0.05 s against 0.18.
pub const SAMPLES: usize = 300;
/// The most of one blob a sample keeps (its beginning).
const SAMPLE_PREFIX: usize = 16 << 10;
/// A dictionary's size. 32 and 110 KB compressed PubMed's records equally well.
const DICTIONARY_BYTES: usize = 32 << 10;
/// zstd's level. Level 3 made PubMed's blobs 5% smaller for 30% more compression time; level
/// -1 made its store 18% larger (91.9 against 77.6 MB) for 3% less ingest CPU (alternated).
const LEVEL: i32 = 1;
/// The first bytes of every zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A trained dictionary, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dictionary {
    /// zstd's id of the dictionary (in its header, and in every frame packed with it).
    pub id: u32,
    /// What it compresses: `dataset`, `publication` or `raw <format>`.
    pub kind: String,
    pub data: Vec<u8>,
}

enum Slot {
    Sampling {
        data: Vec<u8>,
        sizes: Vec<usize>,
    },
    Ready(Arc<CDict<'static>>),
    /// Training failed (too little data to learn from): this process packs the kind alone.
    Off,
}

/// A store's dictionaries: those it holds, those trained since it was opened and not yet
/// saved, and the samples of kinds without one.
pub struct Packer {
    train: bool,
    samples: usize,
    slots: Mutex<HashMap<String, Slot>>,
    decoders: RwLock<HashMap<u32, Arc<DDict<'static>>>>,
    unsaved: Mutex<Vec<Dictionary>>,
}

thread_local! {
    /// A compression context and its output buffer, reused: the blob returned is a copy of
    /// its exact size (a buffer of the worst-case size per blob was several times the blob,
    /// held until the batch was written).
    static CCTX: RefCell<(CCtx<'static>, Vec<u8>)> = RefCell::new((CCtx::create(), Vec::new()));
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

impl Packer {
    /// A packer that knows `saved` (the store's dictionaries, oldest first: a kind packs with
    /// its first) and, when `train`, trains a dictionary for each kind that has none.
    pub fn new(saved: Vec<Dictionary>, train: bool) -> Packer {
        Packer::with_samples(saved, train, SAMPLES)
    }

    /// [`Packer::new`] with another number of samples before training (tests).
    pub fn with_samples(saved: Vec<Dictionary>, train: bool, samples: usize) -> Packer {
        let mut slots = HashMap::new();
        let mut decoders = HashMap::new();
        for d in saved {
            let Some((encoder, decoder)) = prepare(&d) else {
                continue;
            };
            slots.entry(d.kind).or_insert(Slot::Ready(encoder));
            decoders.insert(d.id, decoder);
        }
        Packer {
            train,
            samples: samples.max(1),
            slots: Mutex::new(slots),
            decoders: RwLock::new(decoders),
            unsaved: Mutex::new(Vec::new()),
        }
    }

    /// Compresses `bytes`, a blob of `kind`: with the kind's dictionary, or by `alone` while
    /// it has none.
    pub fn pack(&self, kind: &str, bytes: &[u8], alone: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
        match self.dictionary_for(kind, bytes) {
            Some(dict) => compress(&dict, bytes).unwrap_or_else(alone),
            None => alone(),
        }
    }

    fn dictionary_for(&self, kind: &str, bytes: &[u8]) -> Option<Arc<CDict<'static>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let slot = match slots.get_mut(kind) {
            Some(slot) => slot,
            None if self.train => slots.entry(kind.to_string()).or_insert(Slot::Sampling {
                data: Vec::new(),
                sizes: Vec::new(),
            }),
            None => return None,
        };
        let (data, sizes) = match slot {
            Slot::Ready(dict) => return Some(dict.clone()),
            Slot::Off => return None,
            Slot::Sampling { data, sizes } => (data, sizes),
        };
        let sample = &bytes[..bytes.len().min(SAMPLE_PREFIX)];
        data.extend_from_slice(sample);
        sizes.push(sample.len());
        if sizes.len() < self.samples {
            return None;
        }
        *slot = match self.train_one(kind, data, sizes) {
            Some(dict) => Slot::Ready(dict),
            None => Slot::Off,
        };
        match slot {
            Slot::Ready(dict) => Some(dict.clone()),
            _ => None,
        }
    }

    fn train_one(&self, kind: &str, data: &[u8], sizes: &[usize]) -> Option<Arc<CDict<'static>>> {
        let trained = zstd::dict::from_continuous(data, sizes, DICTIONARY_BYTES)
            .map_err(|e| tracing::debug!(kind, error = %e, "no dictionary trained"))
            .ok()?;
        let id = zstd_safe::get_dict_id_from_dict(&trained)?.get();
        let mut decoders = self.decoders.write().unwrap_or_else(|e| e.into_inner());
        if decoders.contains_key(&id) {
            // Another kind's dictionary has this id (one chance in 2^31): pack this kind alone.
            return None;
        }
        let d = Dictionary {
            id,
            kind: kind.to_string(),
            data: trained,
        };
        let (encoder, decoder) = prepare(&d)?;
        decoders.insert(id, decoder);
        tracing::debug!(kind, id, bytes = d.data.len(), "dictionary trained");
        self.unsaved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(d);
        Some(encoder)
    }

    /// Learns a dictionary saved in the store by other means (a migration): blobs naming it
    /// read with it, and its kind packs with it unless it has one.
    pub fn adopt(&self, d: &Dictionary) {
        let Some((encoder, decoder)) = prepare(d) else {
            return;
        };
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if !matches!(slots.get(&d.kind), Some(Slot::Ready(_))) {
            slots.insert(d.kind.clone(), Slot::Ready(encoder));
        }
        self.decoders
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(d.id, decoder);
    }

    /// Writes the dictionaries trained and not yet saved, inside the transaction that writes
    /// blobs packed with them: `write(dictionary, created)` stores one unless its id is there
    /// and returns the bytes held under that id. The ids written, for [`Packer::saved`] once
    /// the transaction commits. Another dictionary under the same id is an error.
    pub fn save<E: From<EngineError>>(
        &self,
        mut write: impl FnMut(&Dictionary, i64) -> std::result::Result<Vec<u8>, E>,
    ) -> std::result::Result<Vec<u32>, E> {
        let unsaved = self.unsaved();
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.as_millis() as i64);
        for d in &unsaved {
            if write(d, created)? != d.data {
                return Err(EngineError::Corrupt(format!(
                    "another dictionary of id {} is in the store",
                    d.id
                ))
                .into());
            }
        }
        Ok(unsaved.into_iter().map(|d| d.id).collect())
    }

    /// The dictionaries trained and not yet saved (see [`Packer::save`]).
    pub fn unsaved(&self) -> Vec<Dictionary> {
        self.unsaved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Marks dictionaries as saved (their transaction committed).
    pub fn saved(&self, ids: &[u32]) {
        self.unsaved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|d| !ids.contains(&d.id));
    }

    /// Decompresses a blob. `load` reads a dictionary this packer has not seen (saved by
    /// another process since this one opened the store).
    pub fn unpack(
        &self,
        blob: &[u8],
        load: impl FnOnce(u32) -> Result<Option<Dictionary>>,
    ) -> Result<Vec<u8>> {
        if !blob.starts_with(&ZSTD_MAGIC) {
            return super::sqlite::unpack(blob);
        }
        let corrupt = |what: &str| EngineError::Corrupt(format!("zstd: {what}"));
        let size = zstd_safe::get_frame_content_size(blob)
            .ok()
            .flatten()
            .ok_or_else(|| corrupt("no content size"))?;
        let id = zstd_safe::get_dict_id_from_frame(blob)
            .ok_or_else(|| corrupt("no dictionary id"))?
            .get();
        let known = self
            .decoders
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned();
        let dict = match known {
            Some(d) => d,
            None => {
                let d = load(id)?
                    .ok_or_else(|| corrupt(&format!("dictionary {id} is not in the store")))?;
                let dict = DDict::try_create(&d.data)
                    .map(Arc::new)
                    .ok_or_else(|| corrupt(&format!("dictionary {id} is damaged")))?;
                self.decoders
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id, dict.clone());
                dict
            }
        };
        // A record is far smaller than this; a larger size is a damaged header.
        if size > (1 << 32) {
            return Err(corrupt("content size out of range"));
        }
        let mut out = Vec::with_capacity(size as usize);
        DCTX.with(|cx| {
            cx.borrow_mut()
                .decompress_using_ddict(&mut out, blob, &dict)
        })
        .map_err(|code| corrupt(zstd_safe::get_error_name(code)))?;
        Ok(out)
    }

    /// The raw source of a record from its `raw` and `dataset` columns (see
    /// `sqlite::unpack_raw` for the blobs written before dictionaries).
    pub fn unpack_raw(
        &self,
        raw: &[u8],
        dataset: &[u8],
        mut load: impl FnMut(u32) -> Result<Option<Dictionary>>,
    ) -> Result<Vec<u8>> {
        match raw.strip_prefix(&super::sqlite::RAW_AGAINST_DATASET) {
            Some(_) => {
                let json = self.unpack(dataset, &mut load)?;
                super::sqlite::unpack_raw_with(raw, &json)
            }
            None => self.unpack(raw, load),
        }
    }
}

/// A dictionary made ready to compress and to decompress with; `None` (logged) when zstd
/// cannot load it (a damaged row): its kind is packed alone, and blobs naming it fail to read
/// with an error.
fn prepare(d: &Dictionary) -> Option<(Arc<CDict<'static>>, Arc<DDict<'static>>)> {
    let loaded = CDict::try_create(&d.data, LEVEL).zip(DDict::try_create(&d.data));
    if loaded.is_none() {
        tracing::warn!(id = d.id, kind = %d.kind, "a stored dictionary cannot be loaded");
    }
    loaded.map(|(c, d)| (Arc::new(c), Arc::new(d)))
}

fn compress(dict: &CDict<'static>, bytes: &[u8]) -> Option<Vec<u8>> {
    CCTX.with(|cx| {
        let (cctx, out) = &mut *cx.borrow_mut();
        out.clear();
        out.reserve(zstd_safe::compress_bound(bytes.len()));
        cctx.compress_using_cdict(out, bytes, dict).ok()?;
        Some(out.to_vec())
    })
}

/// The kind of a record's raw source in `format`.
pub fn raw_kind(format: &str) -> String {
    format!("raw {format}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize) -> Vec<u8> {
        format!(
            "{{\"repository\":\"geo\",\"accession\":\"GSE{i}\",\"title\":\"Expression profiling of sample {i} in human liver tissue\",\"organisms\":[{{\"taxon\":\"9606\",\"name\":\"Homo sapiens\"}}],\"dates\":{{\"publication\":\"2019-0{}-1{}\"}}}}",
            i % 9 + 1,
            i % 10
        )
        .into_bytes()
    }

    fn lz4(b: &[u8]) -> Vec<u8> {
        super::super::sqlite::pack(b)
    }

    #[test]
    fn a_kind_is_packed_alone_until_its_samples_train_a_dictionary_and_every_blob_reads_back() {
        let p = Packer::with_samples(Vec::new(), true, 50);
        let blobs: Vec<Vec<u8>> = (0..200)
            .map(|i| p.pack("dataset", &record(i), || lz4(&record(i))))
            .collect();
        assert!(blobs[..49].iter().all(|b| !b.starts_with(&ZSTD_MAGIC)));
        assert!(blobs[50..].iter().all(|b| b.starts_with(&ZSTD_MAGIC)));
        assert!(
            blobs[150].len() < lz4(&record(150)).len() / 2,
            "{}",
            blobs[150].len()
        );
        for (i, b) in blobs.iter().enumerate() {
            assert_eq!(p.unpack(b, |_| Ok(None)).unwrap(), record(i));
        }
        let unsaved = p.unsaved();
        assert_eq!(unsaved.len(), 1);
        assert_eq!(unsaved[0].kind, "dataset");
        p.saved(&[unsaved[0].id]);
        assert!(p.unsaved().is_empty());

        // Another process reads the blobs with the saved dictionary, loaded when first named,
        // and packs with it without training again.
        let other = Packer::with_samples(Vec::new(), true, 50);
        let mut loads = 0;
        for (i, b) in blobs.iter().enumerate() {
            let got = other
                .unpack(b, |id| {
                    loads += 1;
                    assert_eq!(id, unsaved[0].id);
                    Ok(Some(unsaved[0].clone()))
                })
                .unwrap();
            assert_eq!(got, record(i));
        }
        assert_eq!(loads, 1);
        let reopened = Packer::with_samples(unsaved.clone(), true, 50);
        assert!(reopened
            .pack("dataset", &record(7), Vec::new)
            .starts_with(&ZSTD_MAGIC));
        assert!(reopened.unsaved().is_empty());
    }

    #[test]
    fn a_blob_naming_a_missing_dictionary_or_damaged_is_an_error_not_a_panic() {
        let p = Packer::with_samples(Vec::new(), true, 20);
        let blobs: Vec<Vec<u8>> = (0..40)
            .map(|i| p.pack("dataset", &record(i), || lz4(&record(i))))
            .collect();
        let fresh = Packer::new(Vec::new(), false);
        let err = fresh.unpack(&blobs[30], |_| Ok(None)).unwrap_err();
        assert!(err.to_string().contains("not in the store"), "{err}");
        for cut in [4, 8, blobs[30].len() / 2] {
            assert!(p.unpack(&blobs[30][..cut], |_| Ok(None)).is_err());
        }
        let mut flipped = blobs[30].clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0xff;
        let _ = p.unpack(&flipped, |_| Ok(None));
    }

    #[test]
    fn a_damaged_stored_dictionary_is_skipped_and_its_blobs_fail_to_read_with_an_error() {
        let p = Packer::with_samples(Vec::new(), true, 40);
        let blobs: Vec<Vec<u8>> = (0..60)
            .map(|i| p.pack("dataset", &record(i), || lz4(&record(i))))
            .collect();
        let mut damaged = p.unsaved().pop().unwrap();
        // A dictionary's entropy tables follow its magic number and id.
        damaged.data[8..64].fill(0xff);
        let reopened = Packer::with_samples(vec![damaged.clone()], true, 40);
        assert!(reopened
            .unpack(&blobs[50], |_| Ok(Some(damaged.clone())))
            .is_err());
        assert_eq!(reopened.unpack(&blobs[3], |_| Ok(None)).unwrap(), record(3));
        reopened.adopt(&damaged);
        let packed = reopened.pack("dataset", &record(1), || lz4(&record(1)));
        assert!(
            !packed.starts_with(&ZSTD_MAGIC),
            "the damaged dictionary was not used"
        );
        assert_eq!(reopened.unpack(&packed, |_| Ok(None)).unwrap(), record(1));
    }

    #[test]
    fn a_packer_that_does_not_train_packs_alone_and_kinds_have_their_own_dictionaries() {
        let p = Packer::new(Vec::new(), false);
        assert_eq!(
            p.pack("dataset", &record(1), || lz4(&record(1))),
            lz4(&record(1))
        );
        let p = Packer::with_samples(Vec::new(), true, 40);
        for i in 0..60 {
            p.pack("dataset", &record(i), Vec::new);
            let raw = [b"^SAMPLE = GSM".as_slice(), &record(i * 3)].concat();
            p.pack(&raw_kind("geo-soft"), &raw, Vec::new);
        }
        let kinds: Vec<String> = p.unsaved().into_iter().map(|d| d.kind).collect();
        assert_eq!(kinds, ["dataset", "raw geo-soft"]);
    }
}
