//! The board's own event buffer: a fixed-capacity ring of [`Entry`]s, each identified by
//! `(boot, seq)`, kept (and persisted) until the Pi acknowledges it.
//!
//! On overflow the oldest entry is dropped and the drop is itself an event: an
//! [`BoardEvent::EventsDropped`] marker that counts every dropped entry. While the marker has
//! not been sent to the Pi, later drops are added to it (so a long outage costs one marker,
//! not one per drop); a marker that is itself dropped passes its count, plus one for itself,
//! to the next marker. Every dropped event is therefore counted by some marker the Pi will
//! receive (a marker dropped after it was sent may be counted twice, never zero times).

use vigil_wire::{BoardTime, PowerReason};

use crate::store::{Reader, RecordError, Writer};

/// Most entries the ring can hold ([`EventRing::new`] may choose fewer).
pub const RING_CAPACITY: usize = 64;

/// Identity of a board event: the boot it happened in and its seq within that boot (the
/// header seq of the frame that carries it). Ordered lexicographically, as acks compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    /// Boot id of the board when the event happened.
    pub boot: u32,
    /// Seq within that boot.
    pub seq: u32,
}

/// What happened on the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoardEvent {
    /// The relay switched.
    PowerSwitched {
        /// New relay state.
        on: bool,
        /// Why.
        reason: PowerReason,
    },
    /// The heartbeat watchdog power-cycled a silent Pi.
    WatchdogTripped {
        /// Milliseconds since the last heartbeat (or since power-on when none came).
        silent_ms: u64,
    },
    /// The maintenance override input changed (after debouncing).
    OverrideChanged {
        /// True while maintenance keeps the power on.
        active: bool,
    },
    /// The clock was set or stepped from SNTP (routine small corrections are not events).
    SntpSynced {
        /// Correction applied, µs.
        offset_us: i64,
        /// Round-trip delay, µs.
        delay_us: i64,
        /// Server stratum.
        stratum: u8,
    },
    /// The ring overflowed: `count` older events were dropped unsent or unacked.
    EventsDropped {
        /// Events dropped.
        count: u32,
    },
}

impl BoardEvent {
    fn tag(&self) -> u8 {
        match self {
            BoardEvent::PowerSwitched { .. } => 1,
            BoardEvent::WatchdogTripped { .. } => 2,
            BoardEvent::OverrideChanged { .. } => 3,
            BoardEvent::SntpSynced { .. } => 4,
            BoardEvent::EventsDropped { .. } => 5,
        }
    }
}

/// One buffered event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its identity.
    pub id: EventId,
    /// Monotonic µs since the boot `id.boot` when it happened.
    pub mono_us: u64,
    /// Board clock when it happened.
    pub at: BoardTime,
    /// What happened.
    pub event: BoardEvent,
}

/// The ring. See the module docs for the overflow rule.
#[derive(Clone, Debug)]
pub struct EventRing {
    entries: heapless::Deque<Entry, RING_CAPACITY>,
    capacity: usize,
    open_marker: Option<EventId>,
    pending_drops: u32,
    evicted_total: u64,
}

impl EventRing {
    /// An empty ring holding at most `capacity` entries (clamped to 2..=[`RING_CAPACITY`]).
    pub fn new(capacity: usize) -> Self {
        EventRing {
            entries: heapless::Deque::new(),
            capacity: capacity.clamp(2, RING_CAPACITY),
            open_marker: None,
            pending_drops: 0,
            evicted_total: 0,
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The oldest entry (the next one to deliver).
    pub fn front(&self) -> Option<&Entry> {
        self.entries.front()
    }

    /// All entries, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Entry> + ExactSizeIterator {
        self.entries.iter()
    }

    /// Entries dropped by overflow since the ring was first created (persisted).
    pub fn evicted_total(&self) -> u64 {
        self.evicted_total
    }

    /// Adds an event; `alloc` hands out the next id (it is called once more when a drop
    /// marker has to be added first). Returns the new event's id.
    pub fn push(
        &mut self,
        alloc: &mut impl FnMut() -> EventId,
        mono_us: u64,
        at: BoardTime,
        event: BoardEvent,
    ) -> EventId {
        if self.entries.len() >= self.capacity {
            self.evict_oldest();
            let open = self
                .open_marker
                .and_then(|id| self.entries.iter_mut().find(|e| e.id == id));
            match open {
                Some(Entry {
                    event: BoardEvent::EventsDropped { count },
                    ..
                }) => {
                    *count = count.saturating_add(core::mem::take(&mut self.pending_drops));
                }
                _ => {
                    // Room for the marker and the event.
                    if self.entries.len() + 1 >= self.capacity {
                        self.evict_oldest();
                    }
                    let id = alloc();
                    let count = core::mem::take(&mut self.pending_drops);
                    self.push_back(Entry {
                        id,
                        mono_us,
                        at,
                        event: BoardEvent::EventsDropped { count },
                    });
                    self.open_marker = Some(id);
                }
            }
        }
        let id = alloc();
        self.push_back(Entry {
            id,
            mono_us,
            at,
            event,
        });
        id
    }

    fn push_back(&mut self, e: Entry) {
        // Capacity was made above; should the deque still be full, drop the oldest rather
        // than the new entry (and count it).
        if let Err(e) = self.entries.push_back(e) {
            self.evict_oldest();
            let _ = self.entries.push_back(e);
        }
    }

    fn evict_oldest(&mut self) {
        if let Some(old) = self.entries.pop_front() {
            self.evicted_total += 1;
            self.pending_drops = self.pending_drops.saturating_add(1);
            if let BoardEvent::EventsDropped { count } = old.event {
                self.pending_drops = self.pending_drops.saturating_add(count);
            }
            if self.open_marker == Some(old.id) {
                self.open_marker = None;
            }
        }
    }

    /// Records that the entry `id` went out on the wire: a drop marker stops growing then.
    pub fn mark_sent(&mut self, id: EventId) {
        if self.open_marker == Some(id) {
            self.open_marker = None;
        }
    }

    /// Deletes every entry up to and including `upto`; returns how many.
    pub fn ack(&mut self, upto: EventId) -> usize {
        let mut n = 0;
        while self.entries.front().is_some_and(|e| e.id <= upto) {
            if let Some(e) = self.entries.pop_front() {
                if self.open_marker == Some(e.id) {
                    self.open_marker = None;
                }
                n += 1;
            }
        }
        n
    }

    /// Gives UTC to the unsynchronised entries of boot `boot` newer than `after` (those not
    /// yet sent), now that the clock knows how monotonic time maps to UTC. Returns how many
    /// changed.
    pub fn backfill(
        &mut self,
        boot: u32,
        after: Option<EventId>,
        utc_of_mono: impl Fn(u64) -> i64,
    ) -> usize {
        let mut n = 0;
        for e in self.entries.iter_mut() {
            if e.id.boot == boot && !e.at.synced && after.is_none_or(|a| e.id > a) {
                e.at = BoardTime {
                    utc_us: utc_of_mono(e.mono_us),
                    synced: true,
                };
                n += 1;
            }
        }
        n
    }

    /// Serialises the ring as a storage record into `buf`; `None` if `buf` is too small.
    pub fn encode(&self, buf: &mut [u8]) -> Option<usize> {
        let mut w = Writer::record(buf);
        w.u64(self.evicted_total);
        w.u16(self.entries.len() as u16);
        for e in &self.entries {
            w.u32(e.id.boot);
            w.u32(e.id.seq);
            w.u64(e.mono_us);
            w.i64(e.at.utc_us);
            w.u8(e.at.synced as u8);
            w.u8(e.event.tag());
            match e.event {
                BoardEvent::PowerSwitched { on, reason } => {
                    w.u8(on as u8);
                    w.u8(reason.as_u8());
                }
                BoardEvent::WatchdogTripped { silent_ms } => w.u64(silent_ms),
                BoardEvent::OverrideChanged { active } => w.u8(active as u8),
                BoardEvent::SntpSynced {
                    offset_us,
                    delay_us,
                    stratum,
                } => {
                    w.i64(offset_us);
                    w.i64(delay_us);
                    w.u8(stratum);
                }
                BoardEvent::EventsDropped { count } => w.u32(count),
            }
        }
        w.finish()
    }

    /// Restores a ring from a storage record. Markers restored are closed (they may have been
    /// sent before the reboot).
    pub fn decode(rec: &[u8], capacity: usize) -> Result<Self, RecordError> {
        let mut r = Reader::record(rec)?;
        let mut ring = EventRing::new(capacity);
        ring.evicted_total = r.u64()?;
        let n = r.u16()?;
        for _ in 0..n {
            let id = EventId {
                boot: r.u32()?,
                seq: r.u32()?,
            };
            let mono_us = r.u64()?;
            let at = BoardTime {
                utc_us: r.i64()?,
                synced: r.bool()?,
            };
            let at_tag = r.pos();
            let event = match r.u8()? {
                1 => BoardEvent::PowerSwitched {
                    on: r.bool()?,
                    reason: PowerReason::from_u8(r.u8()?),
                },
                2 => BoardEvent::WatchdogTripped {
                    silent_ms: r.u64()?,
                },
                3 => BoardEvent::OverrideChanged { active: r.bool()? },
                4 => BoardEvent::SntpSynced {
                    offset_us: r.i64()?,
                    delay_us: r.i64()?,
                    stratum: r.u8()?,
                },
                5 => BoardEvent::EventsDropped { count: r.u32()? },
                _ => return Err(RecordError::Malformed { at: at_tag }),
            };
            if ring.entries.back().is_some_and(|b| b.id >= id) {
                return Err(RecordError::Malformed { at: at_tag });
            }
            // A record from a larger ring keeps its newest entries.
            if ring.entries.len() >= ring.capacity {
                ring.evict_oldest();
            }
            ring.push_back(Entry {
                id,
                mono_us,
                at,
                event,
            });
        }
        r.end()?;
        if ring.pending_drops > 0 {
            // Shrunk on restore: the drops still have to be counted by a marker, which
            // the next push creates.
            ring.open_marker = None;
        }
        Ok(ring)
    }

    /// Drops counted but not yet carried by a marker (non-zero only after restoring a ring
    /// into a smaller capacity; the next push turns them into a marker).
    pub fn pending_drops(&self) -> u32 {
        self.pending_drops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: i64) -> BoardTime {
        BoardTime {
            utc_us: t,
            synced: true,
        }
    }

    struct Ids(u32);
    impl Ids {
        fn alloc(&mut self) -> impl FnMut() -> EventId + '_ {
            || {
                self.0 += 1;
                EventId {
                    boot: 1,
                    seq: self.0,
                }
            }
        }
    }

    fn ov(active: bool) -> BoardEvent {
        BoardEvent::OverrideChanged { active }
    }

    fn markers(r: &EventRing) -> u32 {
        r.iter()
            .map(|e| match e.event {
                BoardEvent::EventsDropped { count } => count,
                _ => 0,
            })
            .sum()
    }

    #[test]
    fn push_and_ack_in_order() {
        // given three events; when acked up to the second; then only the third is left
        let mut ids = Ids(0);
        let mut r = EventRing::new(8);
        for i in 0..3 {
            r.push(&mut ids.alloc(), i, at(i as i64), ov(true));
        }
        assert_eq!(r.ack(EventId { boot: 1, seq: 2 }), 2);
        assert_eq!(r.len(), 1);
        assert_eq!(r.front().map(|e| e.id.seq), Some(3));
        // an old ack deletes nothing more
        assert_eq!(r.ack(EventId { boot: 1, seq: 1 }), 0);
    }

    #[test]
    fn ack_from_an_older_boot_keeps_newer_boots() {
        let mut r = EventRing::new(8);
        let mut a = || EventId { boot: 1, seq: 9 };
        r.push(&mut a, 0, at(0), ov(true));
        let mut b = || EventId { boot: 2, seq: 1 };
        r.push(&mut b, 0, at(0), ov(false));
        assert_eq!(r.ack(EventId { boot: 1, seq: 100 }), 1);
        assert_eq!(r.front().map(|e| e.id), Some(EventId { boot: 2, seq: 1 }));
    }

    #[test]
    fn overflow_drops_oldest_and_counts_the_drop_as_an_event() {
        // given a full ring of 4
        let mut ids = Ids(0);
        let mut r = EventRing::new(4);
        for i in 0..4 {
            r.push(&mut ids.alloc(), i, at(0), ov(true));
        }
        // when a fifth event comes
        r.push(&mut ids.alloc(), 4, at(0), ov(false));
        // then the two oldest are gone, a marker counting 2 and the new event are at the end
        let seqs: heapless::Vec<u32, 8> = r.iter().map(|e| e.id.seq).collect();
        assert_eq!(&seqs[..], &[3, 4, 5, 6]);
        assert_eq!(
            r.iter().nth(2).map(|e| e.event),
            Some(BoardEvent::EventsDropped { count: 2 })
        );
        assert_eq!(r.evicted_total(), 2);
        // when more overflow before the marker is sent; then the same marker grows
        r.push(&mut ids.alloc(), 5, at(0), ov(true));
        r.push(&mut ids.alloc(), 6, at(0), ov(true));
        assert_eq!(markers(&r), 4);
        assert_eq!(r.evicted_total(), 4);
        assert_eq!(
            r.iter()
                .filter(|e| matches!(e.event, BoardEvent::EventsDropped { .. }))
                .count(),
            1
        );
    }

    #[test]
    fn sent_marker_is_not_changed_afterwards() {
        let mut ids = Ids(0);
        let mut r = EventRing::new(4);
        for i in 0..5 {
            r.push(&mut ids.alloc(), i, at(0), ov(true));
        }
        let marker = r
            .iter()
            .find(|e| matches!(e.event, BoardEvent::EventsDropped { .. }))
            .map(|e| e.id)
            .expect("marker");
        r.mark_sent(marker);
        r.push(&mut ids.alloc(), 9, at(0), ov(true));
        assert_eq!(
            r.iter().find(|e| e.id == marker).map(|e| e.event),
            Some(BoardEvent::EventsDropped { count: 2 })
        );
    }

    #[test]
    fn every_drop_is_counted_under_sustained_overflow() {
        // given a tiny ring and 1000 events never acked
        let mut ids = Ids(0);
        let mut r = EventRing::new(3);
        for i in 0..1000 {
            r.push(&mut ids.alloc(), i, at(0), ov(i % 2 == 0));
        }
        // then every event generated (markers included) is either held or evicted, and the
        // markers held count every eviction
        assert_eq!(ids.0 as u64, r.len() as u64 + r.evicted_total());
        assert_eq!(markers(&r) as u64, r.evicted_total());
        assert!(r.evicted_total() > 900);
    }

    #[test]
    fn backfill_gives_utc_to_unsent_unsynced_entries_of_this_boot() {
        let mut ids = Ids(0);
        let mut r = EventRing::new(8);
        let unsynced = BoardTime {
            utc_us: 5,
            synced: false,
        };
        for i in 0..3 {
            r.push(&mut ids.alloc(), 1_000 * i, unsynced, ov(true));
        }
        let n = r.backfill(1, Some(EventId { boot: 1, seq: 1 }), |m| 100 + m as i64);
        assert_eq!(n, 2);
        let ts: heapless::Vec<BoardTime, 4> = r.iter().map(|e| e.at).collect();
        assert_eq!(ts[0], unsynced);
        assert_eq!(ts[1], at(1_100));
        assert_eq!(ts[2], at(2_100));
        assert_eq!(r.backfill(2, None, |_| 0), 0);
    }

    #[test]
    fn ring_survives_encode_decode() {
        let mut ids = Ids(0);
        let mut r = EventRing::new(4);
        let events = [
            BoardEvent::PowerSwitched {
                on: true,
                reason: PowerReason::WindowStart,
            },
            BoardEvent::WatchdogTripped { silent_ms: 61_000 },
            BoardEvent::SntpSynced {
                offset_us: -5,
                delay_us: 40_000,
                stratum: 2,
            },
            ov(true),
            ov(false),
        ];
        for (i, e) in events.iter().enumerate() {
            r.push(&mut ids.alloc(), i as u64, at(i as i64), *e);
        }
        let mut buf = [0u8; crate::store::MAX_RECORD];
        let n = r.encode(&mut buf).expect("fits");
        let back = EventRing::decode(&buf[..n], 4).expect("decodes");
        assert!(back.iter().eq(r.iter()));
        assert_eq!(back.evicted_total(), r.evicted_total());
    }

    #[test]
    fn full_ring_record_fits_the_largest_slot() {
        let mut ids = Ids(0);
        let mut r = EventRing::new(RING_CAPACITY);
        for i in 0..RING_CAPACITY as u64 {
            r.push(
                &mut ids.alloc(),
                i,
                at(0),
                BoardEvent::SntpSynced {
                    offset_us: 1,
                    delay_us: 1,
                    stratum: 1,
                },
            );
        }
        let mut buf = [0u8; crate::store::MAX_RECORD];
        assert!(r.encode(&mut buf).is_some());
    }

    #[test]
    fn corrupt_ring_record_is_refused() {
        let mut ids = Ids(0);
        let mut r = EventRing::new(4);
        r.push(&mut ids.alloc(), 0, at(0), ov(true));
        let mut buf = [0u8; 256];
        let n = r.encode(&mut buf).expect("fits");
        buf[12] ^= 0xFF;
        assert_eq!(
            EventRing::decode(&buf[..n], 4).err(),
            Some(RecordError::Crc)
        );
    }
}
