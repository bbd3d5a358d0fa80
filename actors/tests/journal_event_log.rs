//! The journal talks to its log through the store's `EventLog` trait: a second backend (here
//! an in-memory chain) drives the same journal — appends are committed, fanned out and
//! flushed, and `ReadLog` queries are answered from that backend, not from sled.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use vigil_actors::journal::{Append, Flush, GroupCommit, Journal, ReadLog, Subscribe};
use vigil_actors::testing::Collector;
use vigil_events::kinds::SupervisorStarted;
use vigil_events::{ClassPolicy, Envelope, Hash, NewEvent, Source};
use vigil_store::{chain_hash, EventLog, Page, Query, StoreError, VerifyReport, ZERO_HASH};

/// A log kept in memory: the same seqs, classes and chain hashes as the sled store, no disk.
#[derive(Default)]
struct MemoryLog {
    events: Mutex<Vec<Envelope>>,
    appends: Mutex<usize>,
}

impl MemoryLog {
    fn all(&self) -> Vec<Envelope> {
        self.events.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl EventLog for MemoryLog {
    fn append(
        &self,
        batch: &[NewEvent],
        policy: &ClassPolicy,
    ) -> Result<Vec<Envelope>, StoreError> {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let mut prev = events.last().map_or(ZERO_HASH, |e| e.hash);
        let mut out = Vec::new();
        for ev in batch {
            let seq = events.len() as u64 + 1;
            let class = policy.class_for(ev.kind());
            let hash = chain_hash(None, &prev, seq, &ev.encode(seq, class));
            let env = Envelope::chained(seq, class, ev.clone(), prev, hash);
            prev = hash;
            events.push(env.clone());
            out.push(env);
        }
        *self.appends.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Ok(out)
    }
    fn last_seq(&self) -> u64 {
        self.all().len() as u64
    }
    fn head(&self) -> Hash {
        self.all().last().map_or(ZERO_HASH, |e| e.hash)
    }
    fn get(&self, seq: u64) -> Result<Option<Envelope>, StoreError> {
        Ok(self.all().into_iter().find(|e| e.seq == seq))
    }
    fn scan(
        &self,
        from_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<Envelope, StoreError>> + Send + 'static> {
        Box::new(
            self.all()
                .into_iter()
                .filter(move |e| e.seq >= from_seq)
                .map(Ok),
        )
    }
    fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let mut items: Vec<Envelope> = self
            .all()
            .into_iter()
            .filter(|e| q.source.is_none_or(|s| s == e.source))
            .filter(|e| q.kind.is_none_or(|k| k == e.kind))
            .collect();
        if q.backward {
            items.reverse();
        }
        items.truncate(q.limit.max(1));
        Ok(Page {
            items,
            next_cursor: None,
        })
    }
    fn verify(&self) -> VerifyReport {
        let all = self.all();
        VerifyReport {
            checked: all.len() as u64,
            first_seq: 1,
            last_seq: all.len() as u64,
            head: all.last().map_or(ZERO_HASH, |e| e.hash),
            keyed: false,
            redacted: 0,
            destroyed_by: Vec::new(),
            sealed: 0,
            problem: None,
        }
    }
}

fn started(ts: i64) -> NewEvent {
    NewEvent::new(
        ts,
        Source::Ops,
        SupervisorStarted {
            version: "test".into(),
            clock: "real".into(),
            pid: 1,
            host: "memory".into(),
        },
    )
}

#[test]
fn journal_drives_a_second_event_log_backend() {
    let log = Arc::new(MemoryLog::default());
    let backend: Arc<dyn EventLog> = log.clone();
    let seen = Collector::default();
    let (durable, page) = System::new().block_on({
        let seen = seen.clone();
        async move {
            let journal =
                Journal::new(backend, ClassPolicy::default(), GroupCommit::default()).start();
            journal.do_send(Subscribe {
                kinds: None,
                to: seen.start().recipient(),
            });
            journal.do_send(Append(vec![started(1_000), started(2_000)]));
            journal.do_send(Append(vec![started(3_000)]));
            let durable = journal.send(Flush).await.expect("mailbox");
            let page = journal
                .send(ReadLog(Query {
                    source: Some(Source::Ops),
                    limit: 2,
                    backward: true,
                    ..Query::default()
                }))
                .await
                .expect("mailbox");
            tokio::time::sleep(Duration::from_millis(50)).await;
            (durable, page)
        }
    });
    assert!(matches!(durable, Ok(3)), "{durable:?}");
    let page = page.expect("the query is answered from the memory log");
    let seqs: Vec<u64> = page.items.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![3, 2]);
    let all = log.all();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].prev, all[0].hash, "chained like the store");
    assert_eq!(
        seen.seen().iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(*log.appends.lock().expect("count") >= 1);
}
