//! How the store compresses its blobs (a record's normalized JSON, its raw source, a shared
//! publication): zstd with a dictionary trained on the store's own records, one dictionary
//! per kind of blob (`record <format>` for each source format, `dataset`, `publication`,
//! `similar`; stores written before format 6 also hold `raw <format>`).
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
//! A record's JSON and its raw source are packed together, in one frame of kind
//! `record <format>` ([`Packer::pack_record`]): the raw source repeats the JSON's text (title,
//! description, names), which the frame then holds once. The JSON is its first blocks, flushed
//! on their own, so that reading the JSON (a page, a list of neighbours) decodes only them.
//! The store of 100,000 generated OmicsDI records went from 221 to 154 MB, PubMed's records'
//! blobs from 37.8 to 30.7 MB, and packing takes less time (fewer bytes to encode).
//!
//! A record that is a publication (a PubMed article, a PMC paper) carries the publication's
//! JSON too, which the shared `publications` table serves to the records citing it. It goes in
//! the same frame, between the JSON and the raw source and flushed as blocks of its own
//! ([`RECORD_TRIPLE`]), and the table's row names the record ([`publication_ref`]): the
//! publication repeats the record's title, abstract and authors, which the frame then holds
//! once more at the cost of what it adds (MeSH ids, journal, pages). On PubMed's 30,000
//! articles, the `publications` rows went from 14.1 to 0.6 MB and the records' blobs from 30.1
//! to 36.3 MB: the store from 68.1 to 62.4 MB.
//!
//! A blob says how to read it: a zstd frame (magic number first) names its dictionary's id in
//! its header; a record's pair starts with [`RECORD_PAIR`], a triple with [`RECORD_TRIPLE`]
//! (and its `raw` column is that marker alone); anything else is lz4 as written before
//! dictionaries existed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, RwLock};

use zstd::zstd_safe::zstd_sys::ZSTD_EndDirective;
use zstd::zstd_safe::{self, CCtx, CDict, DCtx, DDict, InBuffer, OutBuffer, ResetDirective};

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
/// The first bytes of a record's packed pair (`dataset` column), then the JSON's length and
/// the length of the frame's part that holds it (both u32, little-endian), then the frame; and
/// the whole `raw` column of such a record. An lz4 blob starts with its length, never this.
pub const RECORD_PAIR: [u8; 4] = [0xfd; 4];
/// The first bytes of a record's packed triple (JSON, its own publication's JSON, raw source):
/// the JSON's length and the end of its blocks in the frame, the publication's length and the
/// end of its blocks (four u32, little-endian), then the frame. Its `raw` column is this
/// marker alone.
pub const RECORD_TRIPLE: [u8; 4] = [0xfc; 4];
/// The first bytes of a shared publication's row whose JSON is in a record's triple: the
/// record's id follows (i64, little-endian).
pub const PUBLICATION_IN_RECORD: [u8; 4] = [0xfb; 4];

/// The `publications` row of a publication kept in record `id`'s triple.
pub fn publication_ref(id: i64) -> Vec<u8> {
    [&PUBLICATION_IN_RECORD[..], &id.to_le_bytes()].concat()
}

/// The record holding a publication's JSON, when its row is a [`publication_ref`].
pub fn publication_ref_id(data: &[u8]) -> Option<i64> {
    let id = data.strip_prefix(&PUBLICATION_IN_RECORD)?;
    Some(i64::from_le_bytes(id.try_into().ok()?))
}

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
    Ready(&'static CDict<'static>),
    /// Training failed (too little data to learn from): this process packs the kind alone.
    Off,
}

/// A store's dictionaries: those it holds, those trained since it was opened and not yet
/// saved, and the samples of kinds without one.
pub struct Packer {
    train: bool,
    samples: usize,
    slots: Mutex<HashMap<String, Slot>>,
    decoders: RwLock<HashMap<u32, &'static DDict<'static>>>,
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
        match self.dictionary_for(kind, &[bytes]) {
            Some(dict) => compress(dict, bytes).unwrap_or_else(alone),
            None => alone(),
        }
    }

    /// Packs a record's JSON, its own publication's JSON if it is one, and its raw source
    /// together (see the module's header) with the dictionary of `kind`: a pair
    /// ([`RECORD_PAIR`]) or a triple ([`RECORD_TRIPLE`]), whose marker is the record's `raw`
    /// column. `None` while the kind has none (the caller packs them apart).
    pub fn pack_record(
        &self,
        kind: &str,
        json: &[u8],
        publication: Option<&[u8]>,
        raw: &[u8],
    ) -> Option<Vec<u8>> {
        let mut parts = vec![json];
        parts.extend(publication);
        let (marker, sizes) = match publication {
            None => (RECORD_PAIR, vec![json.len()]),
            Some(p) => (RECORD_TRIPLE, vec![json.len(), p.len()]),
        };
        for size in sizes.iter().chain([&raw.len()]) {
            u32::try_from(*size).ok()?;
        }
        let mut sampled = parts.clone();
        sampled.push(raw);
        let dict = self.dictionary_for(kind, &sampled)?;
        compress_parts(dict, &parts, raw).map(|(frame, ends)| {
            let mut out = Vec::with_capacity(4 + 8 * sizes.len() + frame.len());
            out.extend_from_slice(&marker);
            for (size, end) in sizes.iter().zip(ends) {
                out.extend_from_slice(&(*size as u32).to_le_bytes());
                out.extend_from_slice(&(end as u32).to_le_bytes());
            }
            out.extend_from_slice(&frame);
            out
        })
    }

    /// The dictionary of `kind`, or `None` while it has none: then the start of `parts`
    /// (one blob, in pieces) is kept as a sample.
    fn dictionary_for(&self, kind: &str, parts: &[&[u8]]) -> Option<&'static CDict<'static>> {
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
            Slot::Ready(dict) => return Some(*dict),
            Slot::Off => return None,
            Slot::Sampling { data, sizes } => (data, sizes),
        };
        let mut room = SAMPLE_PREFIX;
        for part in parts {
            let sample = &part[..part.len().min(room)];
            data.extend_from_slice(sample);
            room -= sample.len();
        }
        sizes.push(SAMPLE_PREFIX - room);
        if sizes.len() < self.samples {
            return None;
        }
        *slot = match self.train_one(kind, data, sizes) {
            Some(dict) => Slot::Ready(dict),
            None => Slot::Off,
        };
        match slot {
            Slot::Ready(dict) => Some(*dict),
            _ => None,
        }
    }

    fn train_one(
        &self,
        kind: &str,
        data: &[u8],
        sizes: &[usize],
    ) -> Option<&'static CDict<'static>> {
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

    /// Decompresses a blob (of a record's pair, its JSON). `load` reads a dictionary this
    /// packer has not seen (saved by another process since this one opened the store).
    pub fn unpack(
        &self,
        blob: &[u8],
        load: impl FnOnce(u32) -> Result<Option<Dictionary>>,
    ) -> Result<Vec<u8>> {
        if let Some(record) = split_record(blob) {
            let record = record?;
            let dict = self.decoder(record.frame, load)?;
            return decompress_prefix(dict, record.through(0)?, record.sizes[0]);
        }
        if !blob.starts_with(&ZSTD_MAGIC) {
            return super::sqlite::unpack(blob);
        }
        let dict = self.decoder(blob, load)?;
        decompress(dict, blob)
    }

    /// The dictionary a frame names: known, or loaded by `load`.
    fn decoder(
        &self,
        frame: &[u8],
        load: impl FnOnce(u32) -> Result<Option<Dictionary>>,
    ) -> Result<&'static DDict<'static>> {
        let id = zstd_safe::get_dict_id_from_frame(frame)
            .ok_or_else(|| corrupt("no dictionary id"))?
            .get();
        let known = self
            .decoders
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .copied();
        if let Some(d) = known {
            return Ok(d);
        }
        let d =
            load(id)?.ok_or_else(|| corrupt(&format!("dictionary {id} is not in the store")))?;
        let (_, dict) =
            prepare(&d).ok_or_else(|| corrupt(&format!("dictionary {id} is damaged")))?;
        self.decoders
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, dict);
        Ok(dict)
    }

    /// The JSON of the publication a record's triple holds (its `dataset` column), decoding
    /// only the blocks up to the publication's end.
    pub fn unpack_publication(
        &self,
        dataset: &[u8],
        load: impl FnOnce(u32) -> Result<Option<Dictionary>>,
    ) -> Result<Vec<u8>> {
        let record = match split_record(dataset) {
            Some(Ok(r)) if r.sizes.len() == 2 => r,
            Some(Err(e)) => return Err(e),
            _ => return Err(corrupt("the record holds no publication")),
        };
        let dict = self.decoder(record.frame, load)?;
        let before = record.sizes[0];
        let mut both = decompress_prefix(dict, record.through(1)?, before + record.sizes[1])?;
        Ok(both.split_off(before))
    }

    /// The raw source of a record from its `raw` and `dataset` columns (see
    /// `sqlite::unpack_raw` for the blobs written before dictionaries).
    pub fn unpack_raw(
        &self,
        raw: &[u8],
        dataset: &[u8],
        mut load: impl FnMut(u32) -> Result<Option<Dictionary>>,
    ) -> Result<Vec<u8>> {
        if raw == RECORD_PAIR || raw == RECORD_TRIPLE {
            let record = match split_record(dataset) {
                Some(r) if dataset.starts_with(raw) => r?,
                _ => return Err(corrupt("the raw source is not beside the record's JSON")),
            };
            let before: usize = record.sizes.iter().sum();
            let mut all = decompress(self.decoder(record.frame, load)?, record.frame)?;
            if all.len() < before {
                return Err(corrupt("a record's frame is shorter than its JSON"));
            }
            return Ok(all.split_off(before));
        }
        match raw.strip_prefix(&super::sqlite::RAW_AGAINST_DATASET) {
            Some(_) => {
                let json = self.unpack(dataset, &mut load)?;
                super::sqlite::unpack_raw_with(raw, &json)
            }
            None => self.unpack(raw, load),
        }
    }
}

fn corrupt(what: &str) -> EngineError {
    EngineError::Corrupt(format!("zstd: {what}"))
}

/// A record's pair or triple, read from its header.
struct RecordFrame<'a> {
    /// The lengths of the parts flushed before the raw source (the JSON, the publication).
    sizes: Vec<usize>,
    /// Where each of those parts' blocks end in the frame.
    ends: Vec<usize>,
    frame: &'a [u8],
}

impl<'a> RecordFrame<'a> {
    /// The frame up to the end of the blocks of part `k` and the parts before it.
    fn through(&self, k: usize) -> Result<&'a [u8]> {
        self.frame
            .get(..self.ends[k])
            .ok_or_else(|| corrupt("a record's frame is damaged"))
    }
}

/// The header of a record's pair or triple; `None` when `blob` is neither.
fn split_record(blob: &[u8]) -> Option<Result<RecordFrame<'_>>> {
    let (parts, header) = if let Some(h) = blob.strip_prefix(&RECORD_PAIR) {
        (1, h)
    } else {
        (2, blob.strip_prefix(&RECORD_TRIPLE)?)
    };
    let word = |at: usize| {
        header
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let mut sizes = Vec::with_capacity(parts);
    let mut ends = Vec::with_capacity(parts);
    for i in 0..parts {
        let (Some(size), Some(end)) = (word(8 * i), word(8 * i + 4)) else {
            return Some(Err(corrupt("a record's frame is cut short")));
        };
        sizes.push(size);
        ends.push(end);
    }
    let frame = &header[8 * parts..];
    // The parts are the frame's content, whose size its header gives, and end in order.
    let content = zstd_safe::get_frame_content_size(frame).ok().flatten();
    let total: u64 = sizes.iter().map(|&s| s as u64).sum();
    if ends.windows(2).any(|w| w[0] > w[1]) || content.is_none_or(|size| total > size) {
        return Some(Err(corrupt("a record's frame is damaged")));
    }
    Some(Ok(RecordFrame { sizes, ends, frame }))
}

/// Every dictionary this process has made ready, by its bytes, kept for the life of the
/// process: a context streaming a frame holds a reference to its dictionary, which must
/// outlive the (thread-local) context. A process meets a few (a kind keeps its first).
#[allow(clippy::type_complexity)]
static READY: LazyLock<
    Mutex<HashMap<Vec<u8>, Option<(&'static CDict<'static>, &'static DDict<'static>)>>>,
> = LazyLock::new(Default::default);

/// A dictionary made ready to compress and to decompress with; `None` (logged) when zstd
/// cannot load it (a damaged row): its kind is packed alone, and blobs naming it fail to read
/// with an error.
fn prepare(d: &Dictionary) -> Option<(&'static CDict<'static>, &'static DDict<'static>)> {
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    *ready.entry(d.data.clone()).or_insert_with(|| {
        let loaded = CDict::try_create(&d.data, LEVEL).zip(DDict::try_create(&d.data));
        if loaded.is_none() {
            tracing::warn!(id = d.id, kind = %d.kind, "a stored dictionary cannot be loaded");
        }
        loaded.map(|(c, d)| (&*Box::leak(Box::new(c)), &*Box::leak(Box::new(d))))
    })
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

/// One frame holding `flushed` (each part flushed as block(s) of its own) then `last`; and
/// for each flushed part, the length of the frame's part up to the end of its blocks.
fn compress_parts(
    dict: &'static CDict<'static>,
    flushed: &[&[u8]],
    last: &[u8],
) -> Option<(Vec<u8>, Vec<usize>)> {
    CCTX.with(|cx| {
        let (cctx, out) = &mut *cx.borrow_mut();
        out.clear();
        let total: usize = flushed.iter().map(|p| p.len()).sum::<usize>() + last.len();
        out.reserve(
            flushed
                .iter()
                .chain([&last])
                .map(|p| zstd_safe::compress_bound(p.len()))
                .sum::<usize>()
                + 64,
        );
        let ends = (|| {
            cctx.reset(ResetDirective::SessionAndParameters).ok()?;
            cctx.ref_cdict(dict).ok()?;
            cctx.set_pledged_src_size(Some(total as u64)).ok()?;
            let mut output = OutBuffer::around(&mut *out);
            let mut ends = Vec::with_capacity(flushed.len());
            let parts = flushed
                .iter()
                .map(|p| (*p, ZSTD_EndDirective::ZSTD_e_flush))
                .chain([(last, ZSTD_EndDirective::ZSTD_e_end)]);
            for (input, end) in parts {
                let mut input = InBuffer::around(input);
                // The output holds the worst case: one call does it.
                let left = cctx.compress_stream2(&mut output, &mut input, end).ok()?;
                if left != 0 || input.pos() != input.src.len() {
                    return None;
                }
                if ends.len() < flushed.len() {
                    ends.push(output.pos());
                }
            }
            Some(ends)
        })();
        // The next frame starts afresh, without this dictionary.
        let _ = cctx.reset(ResetDirective::SessionAndParameters);
        ends.map(|ends| (out.to_vec(), ends))
    })
}

/// Decompresses a whole frame.
fn decompress(dict: &DDict<'static>, frame: &[u8]) -> Result<Vec<u8>> {
    let size = zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .ok_or_else(|| corrupt("no content size"))?;
    // A record is far smaller than this; a larger size is a damaged header.
    if size > (1 << 32) {
        return Err(corrupt("content size out of range"));
    }
    let mut out = Vec::with_capacity(size as usize);
    DCTX.with(|cx| {
        cx.borrow_mut()
            .decompress_using_ddict(&mut out, frame, dict)
    })
    .map_err(|code| corrupt(zstd_safe::get_error_name(code)))?;
    Ok(out)
}

/// The first `size` bytes of a frame, from `part`, its beginning up to the end of the blocks
/// that hold them.
fn decompress_prefix(dict: &'static DDict<'static>, part: &[u8], size: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(size);
    DCTX.with(|cx| {
        let dctx = &mut *cx.borrow_mut();
        let read = (|| {
            dctx.reset(ResetDirective::SessionAndParameters)?;
            dctx.ref_ddict(dict)?;
            let mut output = OutBuffer::around(&mut out);
            let mut input = InBuffer::around(part);
            while output.pos() < size {
                let before = (output.pos(), input.pos());
                dctx.decompress_stream(&mut output, &mut input)?;
                if (output.pos(), input.pos()) == before {
                    break;
                }
            }
            Ok(())
        })();
        let _ = dctx.reset(ResetDirective::SessionAndParameters);
        read.map_err(|code| corrupt(zstd_safe::get_error_name(code)))
    })?;
    if out.len() != size {
        return Err(corrupt("a record's frame is cut short"));
    }
    Ok(out)
}

/// The kind of a record's pair (JSON and raw source) in `format`.
pub fn record_kind(format: &str) -> String {
    format!("record {format}")
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

    /// A raw source that repeats its JSON's text, as sources do.
    fn source(i: usize) -> Vec<u8> {
        let json = String::from_utf8(record(i)).unwrap();
        format!(
            "<entry id=\"GSE{i}\"><data>{json}</data><note>{}</note></entry>",
            "n".repeat(i % 7)
        )
        .into_bytes()
    }

    #[test]
    fn a_record_pair_reads_its_json_from_its_first_blocks_and_its_raw_source_whole() {
        let p = Packer::with_samples(Vec::new(), true, 40);
        let kind = record_kind("omicsdi-xml");
        let pairs: Vec<Option<Vec<u8>>> = (0..120)
            .map(|i| p.pack_record(&kind, &record(i), None, &source(i)))
            .collect();
        assert!(
            pairs[..39].iter().all(Option::is_none),
            "packed apart until trained"
        );
        for (i, pair) in pairs.iter().enumerate().skip(39) {
            let pair = pair.as_ref().expect("packed together once trained");
            assert!(pair.starts_with(&RECORD_PAIR));
            assert_eq!(p.unpack(pair, |_| Ok(None)).unwrap(), record(i));
            assert_eq!(
                p.unpack_raw(&RECORD_PAIR, pair, |_| Ok(None)).unwrap(),
                source(i)
            );
            // The JSON reads from the frame's part before the raw source's blocks alone.
            let json_end = u32::from_le_bytes(pair[8..12].try_into().unwrap()) as usize;
            let (json_part, rest) = pair.split_at(12 + json_end);
            assert!(!rest.is_empty());
            assert_eq!(p.unpack(json_part, |_| Ok(None)).unwrap(), record(i));
            assert!(p.unpack_raw(&RECORD_PAIR, json_part, |_| Ok(None)).is_err());
        }
        assert_eq!(p.unsaved()[0].kind, kind);

        // An empty source, and one of several blocks.
        let big: Vec<u8> = (0..400_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for raw in [Vec::new(), big] {
            let pair = p.pack_record(&kind, &record(3), None, &raw).unwrap();
            assert_eq!(p.unpack(&pair, |_| Ok(None)).unwrap(), record(3));
            assert_eq!(
                p.unpack_raw(&RECORD_PAIR, &pair, |_| Ok(None)).unwrap(),
                raw
            );
        }
    }

    #[test]
    fn a_damaged_record_pair_is_an_error_not_a_panic() {
        let p = Packer::with_samples(Vec::new(), true, 10);
        let kind = record_kind("pubmed-xml");
        let pair = (0..20)
            .filter_map(|i| p.pack_record(&kind, &record(i), None, &source(i)))
            .last()
            .unwrap();
        for cut in [4, 8, 11, 12, 16, 20] {
            assert!(
                p.unpack(&pair[..cut], |_| Ok(None)).is_err(),
                "cut at {cut}"
            );
            assert!(p
                .unpack_raw(&RECORD_PAIR, &pair[..cut], |_| Ok(None))
                .is_err());
        }
        let mut lying = pair.clone();
        lying[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(p.unpack(&lying, |_| Ok(None)).is_err());
        let mut longer = pair.clone();
        longer[4..8].copy_from_slice(&(1u32 << 20).to_le_bytes());
        assert!(p.unpack(&longer, |_| Ok(None)).is_err());
        assert!(p.unpack_raw(&RECORD_PAIR, &longer, |_| Ok(None)).is_err());
        for at in [14, pair.len() / 2, pair.len() - 2] {
            let mut flipped = pair.clone();
            flipped[at] ^= 0xff;
            let _ = p.unpack(&flipped, |_| Ok(None));
            let _ = p.unpack_raw(&RECORD_PAIR, &flipped, |_| Ok(None));
        }
        let fresh = Packer::new(Vec::new(), false);
        let err = fresh.unpack(&pair, |_| Ok(None)).unwrap_err();
        assert!(err.to_string().contains("not in the store"), "{err}");
    }

    /// A record's own publication, which repeats its title as publications do.
    fn publication(i: usize) -> Vec<u8> {
        format!("{{\"pmid\":\"{}\",\"title\":\"Expression profiling of sample {i} in human liver tissue\",\"authors\":[\"Doe J\"]}}", 1000 + i).into_bytes()
    }

    #[test]
    fn a_record_triple_reads_its_json_and_its_publication_from_their_blocks_and_its_raw_source_whole(
    ) {
        let p = Packer::with_samples(Vec::new(), true, 40);
        let kind = record_kind("pubmed-xml");
        let triples: Vec<Option<Vec<u8>>> = (0..120)
            .map(|i| p.pack_record(&kind, &record(i), Some(&publication(i)), &source(i)))
            .collect();
        assert!(triples[..39].iter().all(Option::is_none));
        let word = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        for (i, triple) in triples.iter().enumerate().skip(39) {
            let triple = triple.as_ref().expect("packed together once trained");
            assert!(triple.starts_with(&RECORD_TRIPLE));
            assert_eq!(p.unpack(triple, |_| Ok(None)).unwrap(), record(i));
            assert_eq!(
                p.unpack_publication(triple, |_| Ok(None)).unwrap(),
                publication(i)
            );
            assert_eq!(
                p.unpack_raw(&RECORD_TRIPLE, triple, |_| Ok(None)).unwrap(),
                source(i)
            );
            // The JSON reads from its own blocks, the publication from the blocks up to its
            // end; neither needs the raw source's.
            let (json_end, pub_end) = (word(triple, 8) as usize, word(triple, 16) as usize);
            assert!(json_end < pub_end);
            let json_part = &triple[..20 + json_end];
            assert_eq!(p.unpack(json_part, |_| Ok(None)).unwrap(), record(i));
            assert!(p.unpack_publication(json_part, |_| Ok(None)).is_err());
            let pub_part = &triple[..20 + pub_end];
            assert!(pub_part.len() < triple.len());
            assert_eq!(
                p.unpack_publication(pub_part, |_| Ok(None)).unwrap(),
                publication(i)
            );
            assert!(p
                .unpack_raw(&RECORD_TRIPLE, pub_part, |_| Ok(None))
                .is_err());
            // A pair's marker in the raw column does not read a triple, nor the reverse.
            assert!(p.unpack_raw(&RECORD_PAIR, triple, |_| Ok(None)).is_err());
        }
        // A pair holds no publication.
        let pair = p.pack_record(&kind, &record(5), None, &source(5)).unwrap();
        let err = p.unpack_publication(&pair, |_| Ok(None)).unwrap_err();
        assert!(err.to_string().contains("no publication"), "{err}");
        assert!(p.unpack_raw(&RECORD_TRIPLE, &pair, |_| Ok(None)).is_err());
        // The publication costs the frame far less than packing it alone.
        let alone = zstd::bulk::compress(&publication(100), LEVEL)
            .unwrap()
            .len();
        let added = triples[100].as_ref().unwrap().len()
            - p.pack_record(&kind, &record(100), None, &source(100))
                .unwrap()
                .len();
        assert!(
            added * 3 < alone,
            "{added} bytes in the frame, {alone} alone"
        );

        let triple = triples[110].clone().unwrap();
        for cut in [4, 8, 12, 16, 19, 20, 24] {
            assert!(
                p.unpack(&triple[..cut], |_| Ok(None)).is_err(),
                "cut at {cut}"
            );
            assert!(p.unpack_publication(&triple[..cut], |_| Ok(None)).is_err());
        }
        let mut disordered = triple.clone();
        disordered[16..20].copy_from_slice(&0u32.to_le_bytes());
        assert!(p.unpack(&disordered, |_| Ok(None)).is_err());
        let mut longer = triple.clone();
        longer[12..16].copy_from_slice(&(1u32 << 20).to_le_bytes());
        assert!(p.unpack_publication(&longer, |_| Ok(None)).is_err());
        assert!(p.unpack_raw(&RECORD_TRIPLE, &longer, |_| Ok(None)).is_err());
        for at in [22, triple.len() / 2, triple.len() - 2] {
            let mut flipped = triple.clone();
            flipped[at] ^= 0xff;
            let _ = p.unpack_publication(&flipped, |_| Ok(None));
            let _ = p.unpack_raw(&RECORD_TRIPLE, &flipped, |_| Ok(None));
        }
    }

    #[test]
    fn a_publication_row_names_its_record() {
        for id in [1, 42, i64::MAX] {
            assert_eq!(publication_ref_id(&publication_ref(id)), Some(id));
        }
        assert_eq!(publication_ref_id(&PUBLICATION_IN_RECORD), None);
        assert_eq!(publication_ref_id(b"{\"pmid\":\"1\"}"), None);
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
            p.pack("raw geo-soft", &raw, Vec::new);
        }
        let kinds: Vec<String> = p.unsaved().into_iter().map(|d| d.kind).collect();
        assert_eq!(kinds, ["dataset", "raw geo-soft"]);
    }
}
