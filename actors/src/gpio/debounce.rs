//! Debounce and edge detection: a pure state machine fed `(level, time)` samples.
//!
//! # The rule
//!
//! - The first sample sets the stable level; it is not an edge.
//! - A new level becomes stable once it has been held, without any change, for at least the
//!   debounce time: the edge is reported at the first sample taken at or after
//!   `last change + debounce`. Its `at` is the instant the level *first* left the old stable
//!   level in this episode (contact bounce before settling does not move it).
//! - **Short pulses:** a departure that returns to the stable level before a sample taken at
//!   least the debounce time after its last change has seen it is a glitch and yields no edge
//!   at all, in either direction. So a pulse counts only if it lasts *longer* than the
//!   debounce time, by up to one poll interval: with 20 ms debounce and 1 ms polling, a 20 ms
//!   pulse gives nothing and a 21 ms pulse gives both edges; a 40 ms press gives a falling
//!   and a rising edge; a 10 ms spike gives nothing.
//! - A debounce of zero reports every change at the sample that sees it.
//!
//! Changes are only seen at samples: the poll interval must be well below the debounce time.

use std::time::Duration;

use vigil_events::kinds::Edge;
use vigil_events::UtcMicros;

/// A debounced edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Debounced {
    /// Direction.
    pub edge: Edge,
    /// When the level first left the old stable level, UTC µs.
    pub at: UtcMicros,
    /// The sample time at which the edge was confirmed, UTC µs.
    pub confirmed: UtcMicros,
}

/// The debouncer of one input. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Debouncer {
    debounce: i64,
    stable: Option<bool>,
    level: bool,
    changed_at: UtcMicros,
    episode_start: Option<UtcMicros>,
}

impl Debouncer {
    /// A debouncer with the given debounce time (saturated at `i64::MAX` µs).
    pub fn new(debounce: Duration) -> Self {
        Debouncer {
            debounce: i64::try_from(debounce.as_micros()).unwrap_or(i64::MAX),
            stable: None,
            level: false,
            changed_at: 0,
            episode_start: None,
        }
    }

    /// The current debounced level (`None` before the first sample).
    pub fn stable(&self) -> Option<bool> {
        self.stable
    }

    /// Feed the level sampled at `t` (samples in time order); returns a confirmed edge.
    pub fn feed(&mut self, high: bool, t: UtcMicros) -> Option<Debounced> {
        let Some(stable) = self.stable else {
            self.stable = Some(high);
            self.level = high;
            self.changed_at = t;
            return None;
        };
        if high != self.level {
            self.level = high;
            self.changed_at = t;
            if high != stable && self.episode_start.is_none() {
                self.episode_start = Some(t);
            }
        }
        let settled = t.saturating_sub(self.changed_at) >= self.debounce;
        if !settled {
            return None;
        }
        if self.level == stable {
            // Back at the stable level long enough: whatever happened was a glitch.
            self.episode_start = None;
            return None;
        }
        self.stable = Some(self.level);
        let at = self.episode_start.take().unwrap_or(self.changed_at);
        Some(Debounced {
            edge: if self.level {
                Edge::Rising
            } else {
                Edge::Falling
            },
            at,
            confirmed: t,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1000;

    /// Feed a square wave sampled every `step` ms from 0 to `until` ms, where `levels` gives
    /// (from_ms, high) changes; collect edges.
    fn run(debounce_ms: u64, step: i64, until: i64, levels: &[(i64, bool)]) -> Vec<Debounced> {
        let mut d = Debouncer::new(Duration::from_millis(debounce_ms));
        let mut out = Vec::new();
        let mut t = 0;
        while t <= until {
            let high = levels
                .iter()
                .rev()
                .find(|(from, _)| *from <= t)
                .map(|(_, h)| *h)
                .unwrap_or(true);
            out.extend(d.feed(high, t * MS));
            t += step;
        }
        out
    }

    #[test]
    fn a_40ms_press_gives_both_edges_stamped_at_the_first_change() {
        let edges = run(20, 1, 200, &[(0, true), (50, false), (90, true)]);
        assert_eq!(
            edges,
            vec![
                Debounced {
                    edge: Edge::Falling,
                    at: 50 * MS,
                    confirmed: 70 * MS
                },
                Debounced {
                    edge: Edge::Rising,
                    at: 90 * MS,
                    confirmed: 110 * MS
                },
            ]
        );
    }

    #[test]
    fn short_pulse_rule_a_pulse_under_the_debounce_time_gives_no_edge() {
        assert!(run(20, 1, 200, &[(0, true), (50, false), (60, true)]).is_empty());
        // A pulse of exactly the debounce time is gone at the sample that would confirm it.
        assert!(run(20, 1, 200, &[(0, true), (50, false), (70, true)]).is_empty());
        // One poll interval longer counts, in both directions.
        let edges = run(20, 1, 200, &[(0, true), (50, false), (71, true)]);
        assert_eq!(
            edges.iter().map(|e| (e.edge, e.at)).collect::<Vec<_>>(),
            vec![(Edge::Falling, 50 * MS), (Edge::Rising, 71 * MS)]
        );
    }

    #[test]
    fn bounce_delays_confirmation_but_not_the_edge_time() {
        let edges = run(
            20,
            1,
            300,
            &[
                (0, true),
                (50, false),
                (52, true),
                (54, false),
                (57, true),
                (60, false),
                (150, true),
            ],
        );
        assert_eq!(edges.len(), 2);
        assert_eq!(
            (edges[0].edge, edges[0].at, edges[0].confirmed),
            (Edge::Falling, 50 * MS, 80 * MS)
        );
        assert_eq!((edges[1].edge, edges[1].at), (Edge::Rising, 150 * MS));
    }

    #[test]
    fn a_glitch_does_not_leak_its_time_into_the_next_press() {
        let edges = run(
            20,
            1,
            300,
            &[(0, true), (10, false), (15, true), (100, false)],
        );
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0].at, 100 * MS);
    }

    #[test]
    fn zero_debounce_reports_every_change() {
        let edges = run(0, 1, 20, &[(0, true), (5, false), (6, true)]);
        assert_eq!(edges.len(), 2);
        assert_eq!(edges[0].confirmed, 5 * MS);
        assert_eq!(edges[1].confirmed, 6 * MS);
    }

    #[test]
    fn the_first_sample_is_not_an_edge() {
        let mut d = Debouncer::new(Duration::from_millis(5));
        assert_eq!(d.feed(false, 0), None);
        assert_eq!(d.stable(), Some(false));
    }
}
