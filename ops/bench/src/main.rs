//! vigil's benchmark harness. Prints tables comparing the vigil store with peers measured in
//! the same run on the same synthetic ~150-byte events (see docs/performance.md):
//!
//! - `append`: durable append throughput of the vigil store vs raw sled inserts (no chain, no
//!   index, `flush()` per batch) vs SQLite in WAL mode with `synchronous=FULL` and the same two
//!   indexes, at several batch sizes; plus bytes on disk per encoded byte;
//! - `replay`: scan + decode + chain check vs raw sled iteration;
//! - `query`: one-hour range queries in a store of N events spread over D days vs SQLite with a
//!   `ts` index: first page of 100 and the whole hour, p50 and p99.
//!
//! `vigil-bench all` runs everything (about 10 minutes with the default 10 M events on two
//! cores); scratch stores go to `--dir` (a temporary directory by default).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use vigil_events::{ClassPolicy, DataClass, Envelope, NewEvent, RecordHeader};
use vigil_store::{chain_hash, synthetic_event, Query, Store, StoreOptions};

#[derive(Debug, Parser)]
#[command(
    name = "vigil-bench",
    about = "vigil store benchmarks (tables vs peers)"
)]
struct Cli {
    /// Scratch directory (default: a new temporary directory).
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Durable append: vigil vs raw sled vs SQLite WAL FULL.
    Append(AppendArgs),
    /// Replay: vigil scan (decode + chain check) vs raw sled iteration.
    Replay(ReplayArgs),
    /// One-hour queries in a large store: vigil vs SQLite.
    Query(QueryArgs),
    /// A retention pass purging every other event (50 %): events/s and the longest step
    /// (how long an append could be held back).
    Retention(RetentionArgs),
    /// All of the above with their defaults.
    All,
}

#[derive(Debug, Clone, clap::Args)]
struct RetentionArgs {
    /// Events in the store.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Segments per purge step.
    #[arg(long, default_value_t = 64)]
    step_segments: usize,
}

fn bench_retention(base: &Path, a: &RetentionArgs) {
    use vigil_events::kinds::SeqRange;
    let n = a.events;
    let (store, _, _) = build_vigil(&base.join("retention-vigil"), n, 64 << 20, |k| {
        T0 + k as i64 * 1000
    });
    // Every odd seq: the worst case for redaction (no whole segment can go).
    let ranges: Vec<SeqRange> = (1..=n)
        .step_by(2)
        .map(|s| SeqRange { from: s, to: s })
        .collect();
    let t = Instant::now();
    let mut from = 1;
    let mut longest = Duration::ZERO;
    let mut purged = 0;
    let mut steps = 0u64;
    loop {
        let st = Instant::now();
        let step = store
            .purge_step(&ranges, 1, n + 1, from, a.step_segments)
            .unwrap_or_else(|e| fail("purge step", e));
        longest = longest.max(st.elapsed());
        purged += step.redacted;
        steps += 1;
        match step.next {
            Some(next) => from = next,
            None => break,
        }
    }
    let took = t.elapsed();
    assert_eq!(purged, n.div_ceil(2), "purged {purged}");
    println!(
        "retention: {n} events, {purged} purged (50 %) in {:.2} s = {:.0} events/s; {steps} steps of \
         {} segments, longest step (appends held back at most) {:.1} ms (the last step includes \
         the checkpoint)",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        a.step_segments,
        longest.as_secs_f64() * 1000.0
    );
}

#[derive(Debug, Clone, clap::Args)]
struct AppendArgs {
    /// Batch sizes to measure.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 10, 100, 1000])]
    batches: Vec<usize>,
    /// At most this many events per run.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// At most this many batches per run (bounds the fsync-bound small-batch runs).
    #[arg(long, default_value_t = 1000)]
    max_batches: u64,
    /// Rounds per batch size, each measuring all three in turn; the best rate of each counts
    /// (the disk is shared, so single runs are noisy).
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Measure vigil only (for profiling); the peers' columns stay empty.
    #[arg(long)]
    vigil_only: bool,
}

#[derive(Debug, Clone, clap::Args)]
struct ReplayArgs {
    /// Events in the replayed stores.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
}

#[derive(Debug, Clone, clap::Args)]
struct QueryArgs {
    /// Events in the queried stores.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Days the events are spread over.
    #[arg(long, default_value_t = 180)]
    days: i64,
    /// Random one-hour queries per measurement.
    #[arg(long, default_value_t = 300)]
    queries: usize,
    /// sled cache of the queried vigil store, MiB (`StoreOptions::cache_bytes`).
    #[arg(long, default_value_t = 64)]
    cache_mib: u64,
}

const T0: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3_600_000_000;

/// Deterministic xorshift.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn dir_bytes(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Read every file under `p` once, so that both sides of a query comparison start with their
/// files in the OS page cache (a just-built store may have pushed the other one out).
fn warm_os_cache(p: &Path) {
    let Ok(m) = std::fs::metadata(p) else {
        return;
    };
    if m.is_dir() {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            warm_os_cache(&e.path());
        }
    } else if let Ok(mut f) = std::fs::File::open(p) {
        let _ = std::io::copy(&mut f, &mut std::io::sink());
    }
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("vigil-bench: {what}: {e}");
    std::process::exit(1)
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn sqlite_open(path: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap_or_else(|e| fail("sqlite open", e));
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE events(seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, source INTEGER NOT NULL,
                             kind INTEGER NOT NULL, class INTEGER NOT NULL, hash BLOB NOT NULL,
                             bytes BLOB NOT NULL);",
    )
    .unwrap_or_else(|e| fail("sqlite schema", e));
    c
}

fn sqlite_indexes(c: &rusqlite::Connection) {
    c.execute_batch(
        "CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
         CREATE INDEX IF NOT EXISTS events_sk ON events(source, kind);",
    )
    .unwrap_or_else(|e| fail("sqlite index", e));
}

/// One pre-encoded event for the peers (they get encoding and hashing for free).
struct Row {
    seq: u64,
    ts: i64,
    source: u8,
    kind: u16,
    hash: [u8; 32],
    bytes: Vec<u8>,
}

fn rows(events: &[NewEvent], first_seq: u64) -> Vec<Row> {
    let mut prev = [0u8; 32];
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let seq = first_seq + i as u64;
            let bytes = e.encode(seq, DataClass::General);
            let hash = chain_hash(None, &prev, seq, &bytes);
            prev = hash;
            Row {
                seq,
                ts: e.ts,
                source: e.source.code(),
                kind: e.kind().code(),
                hash,
                bytes,
            }
        })
        .collect()
}

fn sqlite_insert(c: &mut rusqlite::Connection, batch: &[Row]) {
    let tx = c.transaction().unwrap_or_else(|e| fail("sqlite begin", e));
    {
        let mut st = tx
            .prepare_cached(
                "INSERT INTO events(seq, ts, source, kind, class, hash, bytes) VALUES (?1,?2,?3,?4,0,?5,?6)",
            )
            .unwrap_or_else(|e| fail("sqlite prepare", e));
        for r in batch {
            st.execute(rusqlite::params![
                r.seq as i64,
                r.ts,
                r.source,
                r.kind,
                &r.hash[..],
                &r.bytes
            ])
            .unwrap_or_else(|e| fail("sqlite insert", e));
        }
    }
    tx.commit().unwrap_or_else(|e| fail("sqlite commit", e));
}

fn sled_open(path: &Path) -> sled::Db {
    sled::Config::new()
        .path(path)
        .cache_capacity(64 << 20)
        .open()
        .unwrap_or_else(|e| fail("sled open", e))
}

fn bench_append(base: &Path, a: &AppendArgs) {
    println!("## Durable append (events/s; each batch acknowledged only once durable)\n");
    println!("| batch | events | vigil | raw sled insert+flush | SQLite WAL FULL | vigil / SQLite | vigil / raw sled |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let policy = ClassPolicy::default();
    let mut disk = None;
    for &b in &a.batches {
        let n = a.events.min(b as u64 * a.max_batches);
        let evs: Vec<NewEvent> = (1..=n)
            .map(|i| synthetic_event(i, T0 + i as i64 * 1000))
            .collect();
        let rws = rows(&evs, 1);
        let encoded: u64 = rws.iter().map(|r| r.bytes.len() as u64).sum();
        let dir = base.join(format!("append-{b}"));
        let vdir = dir.join("vigil");
        let sdir = dir.join("sled");
        let (mut v, mut s, mut q) = (0f64, 0f64, 0f64);
        for _ in 0..a.rounds.max(1) {
            let _ = std::fs::remove_dir_all(&dir);
            // vigil
            let store =
                Store::open(&vdir, StoreOptions::default()).unwrap_or_else(|e| fail("open", e));
            let t = Instant::now();
            for chunk in evs.chunks(b) {
                store
                    .append(chunk, &policy)
                    .unwrap_or_else(|e| fail("append", e));
            }
            v = v.max(rate(n, t.elapsed()));
            drop(store);
            if a.vigil_only {
                continue;
            }
            // raw sled
            let db = sled_open(&sdir);
            let t = Instant::now();
            for chunk in rws.chunks(b) {
                for r in chunk {
                    db.insert(r.seq.to_be_bytes(), r.bytes.as_slice())
                        .unwrap_or_else(|e| fail("sled insert", e));
                }
                db.flush().unwrap_or_else(|e| fail("sled flush", e));
            }
            s = s.max(rate(n, t.elapsed()));
            drop(db);
            // SQLite
            let qpath = dir.join("sqlite.db");
            let mut c = sqlite_open(&qpath);
            sqlite_indexes(&c);
            let t = Instant::now();
            for chunk in rws.chunks(b) {
                sqlite_insert(&mut c, chunk);
            }
            q = q.max(rate(n, t.elapsed()));
            drop(c);
        }
        println!(
            "| {b} | {n} | {v:.0} | {s:.0} | {q:.0} | {:.2}× | {:.2}× |",
            v / q,
            v / s
        );
        if n == a.events {
            disk = Some((
                n,
                encoded,
                dir_bytes(&vdir),
                dir_bytes(&sdir),
                dir_bytes(&dir.join("sqlite.db")) + dir_bytes(&dir)
                    - dir_bytes(&vdir)
                    - dir_bytes(&sdir),
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Some((n, enc, v, s, q)) = disk {
        println!(
            "\nOn disk after {n} events ({enc} encoded bytes, {:.1} per event):\n",
            enc as f64 / n as f64
        );
        println!("| store | bytes | × encoded |\n|---|---:|---:|");
        for (name, bytes) in [("vigil", v), ("raw sled", s), ("SQLite (db + wal)", q)] {
            println!("| {name} | {bytes} | {:.2}× |", bytes as f64 / enc as f64);
        }
    }
    println!();
}

fn build_vigil(
    dir: &Path,
    n: u64,
    cache_bytes: u64,
    ts_of: impl Fn(u64) -> i64,
) -> (Store, Duration, u64) {
    let opts = StoreOptions {
        cache_bytes,
        ..StoreOptions::default()
    };
    let store = Store::open(dir, opts).unwrap_or_else(|e| fail("open", e));
    let policy = ClassPolicy::default();
    let t = Instant::now();
    // A store an earlier run left in `--dir` is continued, not rebuilt.
    let mut i = store.last_seq() + 1;
    let first = i;
    if i > n + 1 {
        fail(
            "scratch store",
            format!("{} holds more than {n} events", dir.display()),
        );
    }
    while i <= n {
        let end = (i + 10_000).min(n + 1);
        let batch: Vec<_> = (i..end).map(|k| synthetic_event(k, ts_of(k))).collect();
        store
            .append(&batch, &policy)
            .unwrap_or_else(|e| fail("append", e));
        i = end;
    }
    let built = store.last_seq() - first + 1;
    (store, t.elapsed(), built)
}

fn bench_replay(base: &Path, a: &ReplayArgs) {
    let n = a.events;
    let (store, _, _) = build_vigil(&base.join("replay-vigil"), n, 64 << 20, |k| {
        T0 + k as i64 * 1000
    });
    let sdir = base.join("replay-sled");
    let db = sled_open(&sdir);
    let mut i = db.len() as u64 + 1;
    while i <= n {
        let end = (i + 10_000).min(n + 1);
        let mut b = sled::Batch::default();
        for k in i..end {
            b.insert(
                &k.to_be_bytes(),
                synthetic_event(k, T0 + k as i64 * 1000).encode(k, DataClass::General),
            );
        }
        db.apply_batch(b).unwrap_or_else(|e| fail("sled batch", e));
        i = end;
    }
    db.flush().unwrap_or_else(|e| fail("sled flush", e));
    let best = |f: &dyn Fn() -> u64| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let got = f();
                assert_eq!(got, n, "replay saw {got} of {n}");
                t.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let full = best(&|| {
        let mut c = 0;
        for e in store.scan(1) {
            let e: Envelope = e.unwrap_or_else(|e| fail("scan", e));
            c += u64::from(e.seq > 0);
        }
        c
    });
    let header = best(&|| {
        store
            .scan_raw(1)
            .for_each_ref(|_, _, _, bytes| {
                RecordHeader::decode(bytes)
                    .map(|_| ())
                    .map_err(|e| fail("decode", e))
            })
            .unwrap_or_else(|e| fail("scan", e))
    });
    let raw = best(&|| {
        let mut c = 0;
        for kv in db.iter() {
            let (_, v) = kv.unwrap_or_else(|e| fail("sled iter", e));
            c += u64::from(!v.is_empty());
        }
        c
    });
    println!("## Replay of {n} events (best of 3)\n");
    println!("| what | events/s | × raw sled |\n|---|---:|---:|");
    for (name, d) in [
        (
            "vigil scan: iterate + verify chain + full decode (Envelope)",
            full,
        ),
        (
            "vigil scan_raw: iterate + verify chain + header decode",
            header,
        ),
        ("raw sled iteration (no decode, no chain)", raw),
    ] {
        println!(
            "| {name} | {:.0} | {:.2}× |",
            rate(n, d),
            raw.as_secs_f64() / d.as_secs_f64()
        );
    }
    println!();
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn bench_query(base: &Path, a: &QueryArgs) {
    let n = a.events;
    let span = a.days * 24 * HOUR;
    let step = span / n as i64;
    let ts_of = move |k: u64| T0 + k as i64 * step;
    let vdir = base.join("query-vigil");
    let (store, vbuild, vbuilt) = build_vigil(&vdir, n, a.cache_mib << 20, ts_of);
    let encoded = n * synthetic_event(1, T0).encode(n, DataClass::General).len() as u64;
    let vbytes = dir_bytes(&vdir);
    let qpath = base.join("query-sqlite.db");
    let reuse = qpath.exists();
    let mut c = if reuse {
        rusqlite::Connection::open(&qpath).unwrap_or_else(|e| fail("sqlite open", e))
    } else {
        sqlite_open(&qpath)
    };
    let t = Instant::now();
    let mut i: u64 = if reuse {
        c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))
            .unwrap_or_else(|e| fail("sqlite count", e)) as u64
            + 1
    } else {
        1
    };
    while i <= n {
        let end = (i + 100_000).min(n + 1);
        let evs: Vec<_> = (i..end).map(|k| synthetic_event(k, ts_of(k))).collect();
        sqlite_insert(&mut c, &rows(&evs, i));
        i = end;
    }
    sqlite_indexes(&c);
    let qbuild = t.elapsed();
    let _ = c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    let qbytes = dir_bytes(base)
        - dir_bytes(&vdir)
        - dir_bytes(&base.join("replay-vigil"))
        - dir_bytes(&base.join("replay-sled"));
    warm_os_cache(&vdir);
    warm_os_cache(&qpath);
    let mut rng = Rng(0x5eed);
    let windows: Vec<i64> = (0..a.queries)
        .map(|_| T0 + (rng.next() % (span - HOUR) as u64) as i64)
        .collect();
    let vigil_q = |since: i64, limit: usize| {
        let q = Query {
            since: Some(since),
            until: Some(since + HOUR),
            limit,
            ..Query::default()
        };
        store
            .query(&q)
            .unwrap_or_else(|e| fail("query", e))
            .items
            .len()
    };
    let mut st_first = c
        .prepare(
            "SELECT seq, hash, bytes FROM events WHERE ts >= ?1 AND ts < ?2 ORDER BY ts LIMIT 100",
        )
        .unwrap_or_else(|e| fail("prepare", e));
    let mut st_all = c
        .prepare("SELECT seq, hash, bytes FROM events WHERE ts >= ?1 AND ts < ?2 ORDER BY ts")
        .unwrap_or_else(|e| fail("prepare", e));
    let sqlite_q = |st: &mut rusqlite::Statement<'_>, since: i64| {
        let mut rows = st
            .query(rusqlite::params![since, since + HOUR])
            .unwrap_or_else(|e| fail("query", e));
        let mut c = 0;
        while let Some(r) = rows.next().unwrap_or_else(|e| fail("row", e)) {
            let hash: Vec<u8> = r.get(1).unwrap_or_else(|e| fail("col", e));
            let bytes: Vec<u8> = r.get(2).unwrap_or_else(|e| fail("col", e));
            let mut h = [0u8; 32];
            h.copy_from_slice(&hash);
            let env = Envelope::decode(&bytes, [0; 32], h).unwrap_or_else(|e| fail("decode", e));
            c += usize::from(env.seq > 0);
        }
        c
    };
    let measure = |f: &mut dyn FnMut(i64) -> usize| {
        for &w in windows.iter().take(20) {
            f(w); // warm up
        }
        let mut lat = Vec::with_capacity(windows.len());
        let mut count = 0;
        for &w in &windows {
            let t = Instant::now();
            count += f(w);
            lat.push(t.elapsed());
        }
        (
            pct(&mut lat, 0.5),
            pct(&mut lat, 0.99),
            count / windows.len(),
        )
    };
    let vf = measure(&mut |w| vigil_q(w, 100));
    let va = measure(&mut |w| vigil_q(w, 1_000_000));
    let sf = measure(&mut |w| sqlite_q(&mut st_first, w));
    let sa = measure(&mut |w| sqlite_q(&mut st_all, w));
    // The floor both sides pay: decoding one hour's records into envelopes, from memory.
    let hour_rows = |st: &mut rusqlite::Statement<'_>, since: i64| -> Vec<Vec<u8>> {
        let mut rows = st
            .query(rusqlite::params![since, since + HOUR])
            .unwrap_or_else(|e| fail("query", e));
        let mut out = Vec::new();
        while let Some(r) = rows.next().unwrap_or_else(|e| fail("row", e)) {
            out.push(r.get(2).unwrap_or_else(|e| fail("col", e)));
        }
        out
    };
    let mut held: std::collections::HashMap<i64, Vec<Vec<u8>>> = Default::default();
    for &w in &windows {
        held.insert(w, hour_rows(&mut st_all, w));
    }
    let da = measure(&mut |w| {
        held.get(&w).map_or(0, |rs| {
            rs.iter()
                .map(|b| {
                    let env =
                        Envelope::decode(b, [0; 32], [0; 32]).unwrap_or_else(|e| fail("decode", e));
                    usize::from(env.seq > 0)
                })
                .sum()
        })
    });
    println!(
        "## One-hour queries in {n} events over {} days ({} queries, ms; vigil sled cache {} MiB)\n",
        a.days, a.queries, a.cache_mib
    );
    if vbuilt == n && !reuse {
        println!(
            "Built vigil in {:.1} s ({:.0} events/s, batches of 10 000), SQLite in {:.1} s.",
            vbuild.as_secs_f64(),
            rate(n, vbuild),
            qbuild.as_secs_f64()
        );
    } else {
        println!("Stores reused from an earlier run in the scratch directory.");
    }
    println!("On disk: vigil {vbytes} bytes ({:.2}× the {encoded} encoded bytes), SQLite {qbytes} bytes ({:.2}×).\n", vbytes as f64 / encoded as f64, qbytes as f64 / encoded as f64);
    println!("| query | events | vigil p50 | vigil p99 | SQLite p50 | SQLite p99 | vigil / SQLite (p50) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    println!(
        "| first page of 100 | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2}× |",
        vf.2,
        vf.0,
        vf.1,
        sf.0,
        sf.1,
        vf.0 / sf.0
    );
    println!(
        "| whole hour: decoding its records only (from memory; both sides pay this) | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2}× |",
        da.2,
        da.0,
        da.1,
        da.0,
        da.1,
        1.0
    );
    println!(
        "| whole hour | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2}× |",
        va.2,
        va.0,
        va.1,
        sa.0,
        sa.1,
        va.0 / sa.0
    );
    println!();
}

fn main() {
    let cli = Cli::parse();
    let tmp;
    let base = match &cli.dir {
        Some(d) => {
            std::fs::create_dir_all(d).unwrap_or_else(|e| fail("scratch dir", e));
            d.clone()
        }
        None => {
            tmp = tempfile::Builder::new()
                .prefix("vigil-bench")
                .tempdir_in(".")
                .unwrap_or_else(|e| fail("scratch dir", e));
            tmp.path().to_path_buf()
        }
    };
    println!(
        "vigil-bench: synthetic LoadGenerated events of {} encoded bytes, scratch {}\n",
        synthetic_event(1, T0).encode(1, DataClass::General).len(),
        base.display()
    );
    match cli.what {
        What::Append(a) => bench_append(&base, &a),
        What::Replay(a) => bench_replay(&base, &a),
        What::Query(a) => bench_query(&base, &a),
        What::Retention(a) => bench_retention(&base, &a),
        What::All => {
            bench_append(
                &base,
                &AppendArgs {
                    batches: vec![1, 10, 100, 1000],
                    events: 200_000,
                    max_batches: 1000,
                    rounds: 3,
                    vigil_only: false,
                },
            );
            bench_replay(&base, &ReplayArgs { events: 1_000_000 });
            bench_query(
                &base,
                &QueryArgs {
                    events: 10_000_000,
                    days: 180,
                    queries: 300,
                    cache_mib: 64,
                },
            );
        }
    }
}
