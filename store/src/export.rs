//! Export and import.
//!
//! `msgpack`: one header map `{"vigil_export": 2, "keyed": bool, "first_seq": uint,
//! "anchor": bin(32)}`, then one map per record `{"seq": uint, "prev": bin(32), "hash": bin(32),
//! "bytes": bin}`, then the trailer map `{"vigil_export_end": uint (the record count),
//! "last_seq": uint, "head": bin(32)}` and nothing after it; `anchor` is the `prev` of the
//! first record, `head` the hash of the last one (the anchor when there is none). The trailer
//! makes a cut file detectable, also one cut at a record boundary. Version 1 (no trailer) is
//! still read, and said to be unchecked for such cuts. `jsonl`: one decoded event per line,
//! for people.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use vigil_events::{Envelope, Hash, RecordHeader};

use crate::chain::{chain_hash, Key, ZERO_HASH};
use crate::store::{Pending, MAX_RECORD};
use crate::{Store, StoreError, StoreOptions};

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The verifiable machine format (see the module docs).
    Msgpack,
    /// One decoded event per line, for people.
    Jsonl,
}

/// What an export or import covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    /// First seq written (or the header's `first_seq` when empty).
    pub first_seq: u64,
    /// Last seq written (`first_seq - 1` when empty).
    pub last_seq: u64,
    /// Records written.
    pub count: u64,
    /// Hash before the first record.
    pub anchor: Hash,
    /// Hash of the last record (the anchor when empty).
    pub head: Hash,
    /// True when a trailer confirmed the count and the head (always for what this vigil
    /// writes; false for a version 1 export read back, whose end cannot be checked).
    pub trailer: bool,
}

/// Current export format version (2: with a trailer).
pub const EXPORT_VERSION: u64 = 2;
/// The first version, without a trailer; still read.
pub const EXPORT_VERSION_1: u64 = 1;

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::io(path, e)
}

fn rmp_err(path: &Path) -> impl Fn(rmp::encode::ValueWriteError) -> StoreError + '_ {
    move |e| StoreError::io(path, std::io::Error::other(e.to_string()))
}

/// Write the msgpack export header.
pub fn write_header<W: Write>(
    w: &mut W,
    keyed: bool,
    first_seq: u64,
    anchor: &Hash,
) -> Result<(), rmp::encode::ValueWriteError> {
    write_map(
        w,
        &[
            ("vigil_export", Field::Uint(EXPORT_VERSION)),
            ("keyed", Field::Bool(keyed)),
            ("first_seq", Field::Uint(first_seq)),
            ("anchor", Field::Bin(anchor)),
        ],
    )
}

/// Write the msgpack export trailer: the record count, the last seq and the last hash.
pub fn write_trailer<W: Write>(
    w: &mut W,
    count: u64,
    last_seq: u64,
    head: &Hash,
) -> Result<(), rmp::encode::ValueWriteError> {
    write_map(
        w,
        &[
            ("vigil_export_end", Field::Uint(count)),
            ("last_seq", Field::Uint(last_seq)),
            ("head", Field::Bin(head)),
        ],
    )
}

/// Write one msgpack export record.
pub fn write_record<W: Write>(
    w: &mut W,
    seq: u64,
    prev: &Hash,
    hash: &Hash,
    bytes: &[u8],
) -> Result<(), rmp::encode::ValueWriteError> {
    write_map(
        w,
        &[
            ("seq", Field::Uint(seq)),
            ("prev", Field::Bin(prev)),
            ("hash", Field::Bin(hash)),
            ("bytes", Field::Bin(bytes)),
        ],
    )
}

/// Write one msgpack export record for a redaction (a record purged by retention):
/// `{"seq", "prev", "hash", "redacted": true}`, no bytes. A verifier carries the chain on with
/// the stored hash; only the purged record's own content cannot be checked.
pub fn write_redacted<W: Write>(
    w: &mut W,
    seq: u64,
    prev: &Hash,
    hash: &Hash,
) -> Result<(), rmp::encode::ValueWriteError> {
    write_map(
        w,
        &[
            ("seq", Field::Uint(seq)),
            ("prev", Field::Bin(prev)),
            ("hash", Field::Bin(hash)),
            ("redacted", Field::Bool(true)),
        ],
    )
}

/// One value of a map in the msgpack export framing.
enum Field<'a> {
    Uint(u64),
    Bool(bool),
    Bin(&'a [u8]),
}

/// Write `fields` as one msgpack map with string keys, in order.
fn write_map<W: Write>(
    w: &mut W,
    fields: &[(&str, Field)],
) -> Result<(), rmp::encode::ValueWriteError> {
    use rmp::encode as e;
    e::write_map_len(w, fields.len() as u32)?;
    for (key, value) in fields {
        e::write_str(w, key)?;
        match value {
            Field::Uint(n) => {
                e::write_uint(w, *n)?;
            }
            Field::Bool(b) => {
                e::write_bool(w, *b).map_err(rmp::encode::ValueWriteError::InvalidDataWrite)?;
            }
            Field::Bin(bytes) => e::write_bin(w, bytes)?,
        }
    }
    Ok(())
}

/// A timestamp (UTC µs) as the JSON renderings of events write it: RFC 3339 in UTC with `Z`
/// and always six fractional digits (`2026-06-01T07:30:00.000000Z`), so it is lossless, has
/// one width and sorts as text. A value outside chrono's range (never written by vigil) is
/// rendered as `<µs>µs`.
pub fn ts_json(ts: vigil_events::UtcMicros) -> String {
    match chrono::DateTime::from_timestamp_micros(ts) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        None => format!("{ts}µs"),
    }
}

/// One event as a JSON object: the one JSON rendering of an envelope, used by the jsonl export,
/// `vigil audit --format json|jsonl` and the local API.
///
/// Fields: `seq`, `ts` ([`ts_json`]), `source`, `kind`, `class`, `schema`, `origin` (`null`,
/// or the board's `device`, `boot`, `seq` and `device_ts`, rendered like `ts`), `payload`
/// (the typed payload's fields), `prev` and `hash` (hex).
pub fn envelope_json(env: &Envelope) -> serde_json::Value {
    let origin = env.origin.map(|o| {
        serde_json::json!({
            "device": o.device,
            "boot": o.boot,
            "seq": o.seq,
            "device_ts": ts_json(o.device_ts),
        })
    });
    serde_json::json!({
        "seq": env.seq,
        "ts": ts_json(env.ts),
        "source": env.source.as_str(),
        "kind": env.kind.name(),
        "class": env.class.as_str(),
        "schema": env.schema,
        "origin": origin,
        "payload": serde_json::to_value(&env.payload).unwrap_or(serde_json::Value::Null),
        "prev": hex::encode(env.prev),
        "hash": hex::encode(env.hash),
    })
}

impl Store {
    /// Export records from `from_seq` (or the first held) to the head into `out`, written to a
    /// temporary file first and renamed, so a failed export leaves no partial file. Every hash
    /// is recomputed on the way: a corrupt store fails the export naming the seq.
    pub fn export(
        &self,
        format: ExportFormat,
        out: &Path,
        from_seq: u64,
    ) -> Result<ExportSummary, StoreError> {
        let tmp: PathBuf = {
            let mut name = out.file_name().unwrap_or_default().to_os_string();
            name.push(".partial");
            out.with_file_name(name)
        };
        let file = File::create(&tmp).map_err(write_err(&tmp))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let result = match format {
            ExportFormat::Msgpack => self.export_msgpack(&mut w, &tmp, from_seq),
            ExportFormat::Jsonl => self.export_jsonl(&mut w, &tmp, from_seq),
        };
        let finish = result.and_then(|summary| {
            let file = w
                .into_inner()
                .map_err(|e| StoreError::io(&tmp, e.into_error()))?;
            file.sync_all().map_err(write_err(&tmp))?;
            fs::rename(&tmp, out).map_err(write_err(out))?;
            Ok(summary)
        });
        if finish.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        finish
    }

    fn start_of(&self, from_seq: u64) -> Result<(u64, Hash), StoreError> {
        let st = self.state();
        let first = from_seq.max(st.base_seq);
        if first > st.last_seq {
            return Ok((
                first,
                if first == st.last_seq + 1 {
                    st.head
                } else {
                    ZERO_HASH
                },
            ));
        }
        // Read the link from the segment: the first record may be a redaction.
        Ok((first, self.prev_of(first)?))
    }

    /// Write the msgpack export to `w` (`label` names it in errors).
    pub fn export_msgpack<W: Write>(
        &self,
        w: &mut W,
        label: &Path,
        from_seq: u64,
    ) -> Result<ExportSummary, StoreError> {
        let (first, anchor) = self.start_of(from_seq)?;
        write_header(w, self.is_keyed(), first, &anchor).map_err(rmp_err(label))?;
        let mut head = anchor;
        let mut last = first - 1;
        let count = self
            .scan_raw(first)
            .for_each_stored(|seq, prev, hash, bytes| {
                match bytes {
                    Some(bytes) => write_record(w, seq, prev, hash, bytes),
                    None => write_redacted(w, seq, prev, hash),
                }
                .map_err(rmp_err(label))?;
                head = *hash;
                last = seq;
                Ok(())
            })?;
        write_trailer(w, count, last, &head).map_err(rmp_err(label))?;
        Ok(ExportSummary {
            first_seq: first,
            last_seq: last,
            count,
            anchor,
            head,
            trailer: true,
        })
    }

    /// Write the jsonl export to `w` (`label` names it in errors).
    pub fn export_jsonl<W: Write>(
        &self,
        w: &mut W,
        label: &Path,
        from_seq: u64,
    ) -> Result<ExportSummary, StoreError> {
        let (first, anchor) = self.start_of(from_seq)?;
        let mut summary = ExportSummary {
            first_seq: first,
            last_seq: first - 1,
            count: 0,
            anchor,
            head: anchor,
            trailer: false,
        };
        for env in self.scan(first) {
            let env = env?;
            serde_json::to_writer(&mut *w, &envelope_json(&env))
                .map_err(|e| StoreError::io(label, e.into()))?;
            w.write_all(b"\n").map_err(write_err(label))?;
            summary.last_seq = env.seq;
            summary.head = env.hash;
            summary.count += 1;
        }
        Ok(summary)
    }

    /// Import a msgpack export into this store, which must be empty. The whole file is checked
    /// first (format, density, every hash with this store's key, every record decodes); only
    /// then is anything written, in large durable batches. `label` names the file in errors.
    pub fn import_msgpack<R: Read + Seek>(
        &self,
        mut r: R,
        label: &Path,
    ) -> Result<ExportSummary, StoreError> {
        let mut writer = self.lock_writer();
        let st = self.check_writable(&writer)?;
        if st.last_seq != 0 || st.base_seq != 1 {
            return Err(StoreError::NotEmpty {
                path: self.dir.clone(),
                last_seq: st.last_seq,
            });
        }
        // Pass 1: check everything, write nothing.
        let summary = {
            let mut reader = ExportReader::new(
                BufReader::with_capacity(1 << 20, &mut r),
                label,
                self.key.as_ref(),
            )?;
            while reader.next_record()?.is_some() {}
            reader.summary()
        };
        if summary.count == 0 {
            return Ok(summary);
        }
        // Pass 2: the same records, committed in batches.
        r.seek(SeekFrom::Start(0)).map_err(write_err(label))?;
        let mut reader = ExportReader::new(
            BufReader::with_capacity(1 << 20, &mut r),
            label,
            self.key.as_ref(),
        )?;
        let mut st = st;
        let mut base = (summary.first_seq != 1).then_some((summary.first_seq, summary.anchor));
        if let Some((b, a)) = base {
            st.base_seq = b;
            st.anchor = a;
            st.last_seq = b - 1;
            st.head = a;
        }
        loop {
            let mut pending = Vec::with_capacity(4096);
            while pending.len() < 4096 {
                match reader.next_record()? {
                    Some(p) => pending.push(p),
                    None => break,
                }
            }
            if pending.is_empty() {
                break;
            }
            let n = pending.len() as u64;
            let head = pending.last().map_or(st.head, |p| p.hash);
            self.commit(&mut writer, st, pending, base.take())?;
            st.last_seq += n;
            st.head = head;
        }
        if (st.last_seq, st.head) != (summary.last_seq, summary.head) {
            return Err(StoreError::BadExport {
                path: label.to_path_buf(),
                seq: None,
                what: "the file changed while it was being imported".into(),
            });
        }
        Ok(summary)
    }
}

/// Streaming reader of a msgpack export that checks each record as it goes.
pub(crate) struct ExportReader<'a, R: BufRead> {
    r: R,
    path: &'a Path,
    /// The chain key the records must hash with (`None`: unkeyed BLAKE3).
    key: Option<&'a Key>,
    first_seq: u64,
    anchor: Hash,
    next_seq: u64,
    prev: Hash,
    count: u64,
    version: u64,
    trailer: bool,
    /// Reading the trailer (errors then name the last record's seq).
    in_trailer: bool,
}

impl<'a, R: BufRead> ExportReader<'a, R> {
    /// True when the file has no more bytes.
    fn at_eof(&mut self) -> bool {
        self.r.fill_buf().map(|b| b.is_empty()).unwrap_or(false)
    }

    /// A read error at `seq`: the file ending there is a cut, said so; else `what`.
    fn read_bad(&mut self, seq: Option<u64>, what: String) -> StoreError {
        let seq = if self.in_trailer {
            Some(self.next_seq - 1)
        } else {
            seq
        };
        if self.at_eof() {
            let at = match seq {
                _ if self.in_trailer => "in its trailer".to_string(),
                None => "in its header".to_string(),
                Some(s) => format!("in the middle of the record at seq {s}"),
            };
            return self.bad(
                seq,
                format!("the export is cut {at} (the file ends there; it is incomplete)"),
            );
        }
        self.bad(seq, what)
    }
    fn bad(&self, seq: Option<u64>, what: impl Into<String>) -> StoreError {
        StoreError::BadExport {
            path: self.path.to_path_buf(),
            seq,
            what: what.into(),
        }
    }

    pub(crate) fn new(r: R, path: &'a Path, key: Option<&'a Key>) -> Result<Self, StoreError> {
        let mut me = ExportReader {
            r,
            path,
            key,
            first_seq: 1,
            anchor: ZERO_HASH,
            next_seq: 1,
            prev: ZERO_HASH,
            count: 0,
            version: EXPORT_VERSION,
            trailer: false,
            in_trailer: false,
        };
        if me.at_eof() {
            return Err(me.bad(None, "empty file, not a vigil export"));
        }
        let n = rmp::decode::read_map_len(&mut me.r)
            .map_err(|e| me.bad(None, format!("not a vigil export (header: {e})")))?;
        let (mut version, mut keyed, mut first, mut anchor) = (None, None, None, None);
        for _ in 0..n {
            let key = me.read_str(None)?;
            match key.as_str() {
                "vigil_export" => version = Some(me.read_uint(None, "vigil_export")?),
                "keyed" => {
                    let k = rmp::decode::read_bool(&mut me.r);
                    keyed = Some(k.map_err(|e| me.read_bad(None, format!("keyed: {e}")))?)
                }
                "first_seq" => first = Some(me.read_uint(None, "first_seq")?),
                "anchor" => anchor = Some(me.read_hash(None, "anchor")?),
                other => return Err(me.bad(None, format!("unknown header field `{other}`"))),
            }
        }
        match version {
            Some(v @ (EXPORT_VERSION | EXPORT_VERSION_1)) => me.version = v,
            Some(v) => {
                return Err(me.bad(
                    None,
                    format!(
                        "export version {v}; this vigil reads versions {EXPORT_VERSION_1} and \
                         {EXPORT_VERSION}"
                    ),
                ))
            }
            None => return Err(me.bad(None, "not a vigil export (no `vigil_export` field)")),
        }
        let keyed = keyed.ok_or_else(|| me.bad(None, "header lacks `keyed`"))?;
        let first = first
            .filter(|&f| f >= 1)
            .ok_or_else(|| me.bad(None, "header lacks a `first_seq` ≥ 1"))?;
        let anchor = anchor.ok_or_else(|| me.bad(None, "header lacks `anchor`"))?;
        if keyed != key.is_some() {
            return Err(me.bad(
                None,
                if keyed {
                    "the export is keyed but the store has no key; open the store with the export's key file"
                } else {
                    "the export is not keyed but the store is"
                },
            ));
        }
        if first == 1 && anchor != ZERO_HASH {
            return Err(me.bad(Some(1), "an export from seq 1 must have an all-zero anchor"));
        }
        me.first_seq = first;
        me.anchor = anchor;
        me.next_seq = first;
        me.prev = anchor;
        Ok(me)
    }

    fn read_str(&mut self, seq: Option<u64>) -> Result<String, StoreError> {
        let len = rmp::decode::read_str_len(&mut self.r);
        let len = len.map_err(|e| self.read_bad(seq, format!("field name: {e}")))?;
        if len > 64 {
            return Err(self.bad(seq, "field name too long"));
        }
        let mut buf = vec![0; len as usize];
        let read = self.r.read_exact(&mut buf);
        read.map_err(|e| self.read_bad(seq, format!("truncated: {e}")))?;
        String::from_utf8(buf).map_err(|_| self.bad(seq, "field name is not UTF-8"))
    }

    fn read_uint(&mut self, seq: Option<u64>, what: &str) -> Result<u64, StoreError> {
        let v = rmp::decode::read_int(&mut self.r);
        v.map_err(|e| self.read_bad(seq, format!("{what}: {e}")))
    }

    fn read_bin(
        &mut self,
        seq: Option<u64>,
        what: &str,
        max: usize,
    ) -> Result<Vec<u8>, StoreError> {
        let len = rmp::decode::read_bin_len(&mut self.r);
        let len = len.map_err(|e| self.read_bad(seq, format!("{what}: {e}")))? as usize;
        if len > max {
            return Err(self.bad(seq, format!("{what} is {len} bytes, at most {max} allowed")));
        }
        let mut buf = Vec::with_capacity(len);
        let got = (&mut self.r).take(len as u64).read_to_end(&mut buf);
        let got = got.map_err(|e| self.read_bad(seq, format!("{what}: {e}")))?;
        if got != len {
            return Err(self.read_bad(seq, format!("{what} truncated")));
        }
        Ok(buf)
    }

    fn read_hash(&mut self, seq: Option<u64>, what: &str) -> Result<Hash, StoreError> {
        let b = self.read_bin(seq, what, 32)?;
        b.as_slice()
            .try_into()
            .map_err(|_| self.bad(seq, format!("{what} is {} bytes, not 32", b.len())))
    }

    pub(crate) fn next_record(&mut self) -> Result<Option<Pending>, StoreError> {
        let at = Some(self.next_seq);
        let at_end = match self.r.fill_buf() {
            Ok(buf) => buf.is_empty(),
            Err(e) => return Err(self.bad(at, e.to_string())),
        };
        if at_end {
            if self.version >= EXPORT_VERSION && !self.trailer {
                return Err(self.bad(
                    None,
                    format!(
                        "the export ends after seq {} without its trailer: it was cut (at a \
                         record boundary) and is incomplete",
                        self.next_seq - 1
                    ),
                ));
            }
            return Ok(None);
        }
        if self.trailer {
            return Err(self.bad(None, "bytes after the trailer"));
        }
        let n = rmp::decode::read_map_len(&mut self.r);
        let n = n.map_err(|e| self.read_bad(at, format!("record: {e}")))?;
        let (mut seq, mut prev, mut hash, mut bytes) = (None, None, None, None);
        for i in 0..n {
            let field = self.read_str(at)?;
            if i == 0 && field == "vigil_export_end" && self.version >= EXPORT_VERSION {
                self.read_trailer(n)?;
                return self.next_record();
            }
            match field.as_str() {
                "seq" => seq = Some(self.read_uint(at, "seq")?),
                "prev" => prev = Some(self.read_hash(at, "prev")?),
                "hash" => hash = Some(self.read_hash(at, "hash")?),
                "bytes" => bytes = Some(self.read_bin(at, "bytes", MAX_RECORD)?),
                "redacted" => {
                    return Err(self.bad(
                        at,
                        "the export holds a redaction (a record purged by retention); import \
                         rebuilds a store from whole records only: import an export taken \
                         before the purge, or keep this one as the verifiable copy",
                    ))
                }
                other => return Err(self.bad(at, format!("unknown record field `{other}`"))),
            }
        }
        let (Some(seq), Some(prev), Some(hash), Some(bytes)) = (seq, prev, hash, bytes) else {
            return Err(self.bad(at, "record lacks one of seq, prev, hash, bytes"));
        };
        if seq != self.next_seq {
            return Err(self.bad(at, format!("gap: found seq {seq}")));
        }
        if prev != self.prev {
            return Err(self.bad(at, "hash mismatch: prev is not the previous record's hash"));
        }
        if chain_hash(self.key, &prev, seq, &bytes) != hash {
            return Err(self.bad(
                at,
                if self.key.is_some() {
                    "hash mismatch: hash is not keyed BLAKE3 of the record (altered, or another key)"
                } else {
                    "hash mismatch: hash is not BLAKE3 of the record"
                },
            ));
        }
        let env = Envelope::decode(&bytes, prev, hash)
            .map_err(|e| self.bad(at, format!("undecodable record: {e}")))?;
        if env.seq != seq {
            return Err(self.bad(at, format!("record bytes say seq {}", env.seq)));
        }
        let h = RecordHeader::decode(&bytes).map_err(|e| self.bad(at, e.to_string()))?;
        let pending = Pending {
            ts: h.ts,
            source: h.source,
            kind: h.kind,
            hash,
            bytes,
        };
        self.prev = hash;
        self.next_seq += 1;
        self.count += 1;
        Ok(Some(pending))
    }

    /// The rest of the trailer map of `n` fields (its first key read): it must agree with the
    /// records read.
    fn read_trailer(&mut self, n: u32) -> Result<(), StoreError> {
        self.in_trailer = true;
        let last = Some(self.next_seq - 1);
        let count = self.read_uint(None, "trailer count")?;
        let (mut last_seq, mut head) = (None, None);
        for _ in 1..n {
            match self.read_str(None)?.as_str() {
                "last_seq" => last_seq = Some(self.read_uint(None, "trailer last_seq")?),
                "head" => head = Some(self.read_hash(None, "trailer head")?),
                other => return Err(self.bad(last, format!("unknown trailer field `{other}`"))),
            }
        }
        let (Some(last_seq), Some(head)) = (last_seq, head) else {
            return Err(self.bad(last, "the trailer lacks last_seq or head"));
        };
        if count != self.count || last_seq != self.next_seq - 1 {
            return Err(self.bad(
                last,
                format!(
                    "the trailer says {count} records up to seq {last_seq} but the file holds {} \
                     up to seq {}: records are missing",
                    self.count,
                    self.next_seq - 1
                ),
            ));
        }
        if head != self.prev {
            return Err(self.bad(
                last,
                "the trailer's head is not the hash of the last record",
            ));
        }
        self.in_trailer = false;
        self.trailer = true;
        Ok(())
    }

    pub(crate) fn summary(&self) -> ExportSummary {
        ExportSummary {
            first_seq: self.first_seq,
            last_seq: self.next_seq - 1,
            count: self.count,
            anchor: self.anchor,
            head: self.prev,
            trailer: self.trailer,
        }
    }
}

/// Removes a directory on drop unless disarmed.
struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(&p);
        }
    }
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(dir.file_name().unwrap_or_default());
    name.push(suffix);
    dir.with_file_name(name)
}

/// A leftover of an earlier, interrupted import or replace: ours to remove when it is empty
/// or a vigil store; anything else is refused.
fn clear_leftover(p: &Path) -> Result<(), StoreError> {
    match fs::read_dir(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(p, e)),
        Ok(mut rd) => {
            if rd.next().is_none() || p.join(crate::MARKER).exists() {
                fs::remove_dir_all(p).map_err(|e| StoreError::io(p, e))
            } else {
                Err(StoreError::Foreign {
                    path: p.to_path_buf(),
                })
            }
        }
    }
}

impl Store {
    /// Import the msgpack export `r` into a new store at `dir`. The store is built in a
    /// temporary directory beside `dir` (`.NAME.importing`) and renamed into place only once
    /// every record checked and was committed; a refused import (wrong key, broken or cut
    /// file) leaves nothing behind, so a retry starts afresh. `dir` may be missing, an empty
    /// directory, or an empty store (replaced); a store holding records is refused
    /// ([`StoreError::NotEmpty`]). `opts.key_file` keys the new store.
    pub fn import_into<R: Read + Seek>(
        dir: &Path,
        opts: StoreOptions,
        r: R,
        label: &Path,
    ) -> Result<ExportSummary, StoreError> {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Refuse a store with records before building anything; keep an empty one locked.
        let is_empty = fs::read_dir(dir).map(|mut rd| rd.next().is_none());
        let existing = match is_empty {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(StoreError::io(dir, e)),
            Ok(true) => None,
            Ok(false) => {
                let ro = StoreOptions {
                    key_file: opts.key_file.clone(),
                    ..StoreOptions::existing()
                };
                let old = Store::open(dir, ro)?;
                let st = old.state();
                if st.last_seq != 0 || st.base_seq != 1 {
                    return Err(StoreError::NotEmpty {
                        path: dir.to_path_buf(),
                        last_seq: st.last_seq,
                    });
                }
                Some(old)
            }
        };
        let mut made_parent = Cleanup(None);
        if !parent.exists() {
            let top = parent
                .ancestors()
                .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
                .last()
                .map(Path::to_path_buf);
            fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
            made_parent.0 = top;
        }
        let tmp = sibling(dir, ".importing");
        clear_leftover(&tmp)?;
        let mut cleanup = Cleanup(Some(tmp.clone()));
        let build = StoreOptions {
            create: true,
            read_only: false,
            ..opts
        };
        let summary = {
            let store = Store::open(&tmp, build)?;
            let summary = store.import_msgpack(r, label)?;
            store.checkpoint()?;
            summary
        };
        let replaced = sibling(dir, ".replaced");
        if existing.is_some() || dir.exists() {
            drop(existing);
            clear_leftover(&replaced)?;
            fs::rename(dir, &replaced).map_err(|e| StoreError::io(dir, e))?;
        }
        fs::rename(&tmp, dir).map_err(|e| StoreError::io(dir, e))?;
        cleanup.0 = None;
        made_parent.0 = None;
        crate::open::sync_dir(parent)?;
        let _ = fs::remove_dir_all(&replaced);
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreOptions;
    use vigil_events::samples::sample;
    use vigil_events::{BoardOrigin, ClassPolicy, EventKind, NewEvent, Source};

    /// 2026-06-01T07:30:00Z in µs.
    const T: i64 = 1_780_299_000_000_000;

    #[test]
    fn one_json_rendering_writes_ts_and_board_time_as_rfc3339_with_microseconds() {
        let d = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&d.path().join("log"), StoreOptions::default()).expect("open");
        let ev = NewEvent::new(T + 1, Source::Esp32, sample(EventKind::PowerSwitched)).with_origin(
            BoardOrigin {
                device: 7,
                boot: 2,
                seq: 9,
                device_ts: T,
            },
        );
        let env = s
            .append(&[ev], &ClassPolicy::default())
            .expect("append")
            .remove(0);
        let j = envelope_json(&env);
        assert_eq!(j["ts"], "2026-06-01T07:30:00.000001Z");
        assert_eq!(j["origin"]["device_ts"], "2026-06-01T07:30:00.000000Z");
        assert_eq!(j["origin"]["device"], 7);
        assert!(j.get("time").is_none(), "one timestamp field: {j}");
        // The jsonl export writes exactly this object.
        let out = d.path().join("x.jsonl");
        s.export(ExportFormat::Jsonl, &out, 1).expect("export");
        let text = std::fs::read_to_string(&out).expect("read");
        let line: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("a line")).expect("json");
        assert_eq!(line, j);
    }

    #[test]
    fn ts_json_has_one_width_and_sorts_as_text() {
        let a = ts_json(T);
        let b = ts_json(T + 123_456);
        assert_eq!(a, "2026-06-01T07:30:00.000000Z");
        assert_eq!(b, "2026-06-01T07:30:00.123456Z");
        assert_eq!(a.len(), b.len());
        assert!(a < b);
    }
}
