//! Issue 19, item 1: one event too large for a record, from any source, must not kill the
//! journal. That append is refused with an error to its sender; appends that share its group
//! commit, and everything sent after it, are recorded as usual.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use vigil_actors::journal::{Append, Flush, GroupCommit, Journal, JournalError};
use vigil_events::kinds::{LoadGenerated, SupervisorStopped};
use vigil_events::{ClassPolicy, Event, NewEvent, Source};
use vigil_store::{Query, Store, StoreOptions, MAX_RECORD};

fn oversized(source: Source, n: u64) -> NewEvent {
    NewEvent::new(
        1_780_286_400_000_000,
        source,
        LoadGenerated {
            n,
            filler: vec![0x5a; MAX_RECORD + 100],
        },
    )
}

fn small(source: Source, n: u64) -> NewEvent {
    NewEvent::new(
        1_780_286_400_000_000,
        source,
        LoadGenerated {
            n,
            filler: vec![0x5a; 16],
        },
    )
}

#[test]
fn an_oversized_event_from_any_source_is_refused_alone_and_the_journal_goes_on() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store =
        Arc::new(Store::open(&tmp.path().join("log"), StoreOptions::default()).expect("store"));
    // A long group delay, so each oversized append shares its commit with a good one.
    let group = GroupCommit {
        max_batch: 1024,
        max_delay: Duration::from_millis(40),
    };
    let st = store.clone();
    System::new().block_on(async move {
        let journal = Journal::new(st, ClassPolicy::default(), group).start();
        for (i, source) in Source::ALL.into_iter().enumerate() {
            let n = i as u64;
            let before = journal.send(Append(vec![small(source, 100 + n)]));
            let big = journal.send(Append(vec![small(source, 200 + n), oversized(source, n)]));
            let after = journal.send(Append(vec![small(Source::Ops, 300 + n)]));
            assert_eq!(before.await.expect("mailbox"), Ok(()), "{source}");
            let err = big.await.expect("mailbox").expect_err("oversized refused");
            assert!(
                matches!(err, JournalError::TooLarge { from: s, kind: "LoadGenerated", .. } if s == source),
                "{source}: {err:?}"
            );
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!(
                    "append refused: an event from {source} (LoadGenerated) encodes to "
                )) && msg.ends_with(&format!("bytes; a record holds at most {MAX_RECORD}")),
                "{msg}"
            );
            assert_eq!(after.await.expect("mailbox"), Ok(()), "{source}");
        }
        // The journal still takes appends and flushes.
        let stop = NewEvent::new(
            1_780_286_400_000_001,
            Source::Ops,
            SupervisorStopped {
                reason: "test".into(),
                uptime_s: 0,
            },
        );
        assert_eq!(journal.send(Append(vec![stop])).await.expect("mailbox"), Ok(()));
        let last = journal.send(Flush).await.expect("mailbox").expect("flush");
        assert_eq!(last, 2 * Source::ALL.len() as u64 + 1);
    });

    let page = store
        .query(&Query {
            limit: 1000,
            ..Query::default()
        })
        .expect("query");
    let ns: Vec<u64> = page
        .items
        .iter()
        .filter_map(|e| match &e.payload {
            Event::LoadGenerated(l) => Some(l.n),
            _ => None,
        })
        .collect();
    // Every good append is there, nothing of a refused one (not even its small event).
    assert_eq!(ns.len(), 2 * Source::ALL.len());
    assert!(
        ns.iter().all(|n| *n >= 100 && !(200..300).contains(n)),
        "{ns:?}"
    );
}
