//! The power windows the Pi pushed, already in UTC, and the question the controller asks of
//! them: is `utc` inside a window, and which one?
//!
//! Two refinements over a plain list lookup:
//! - windows separated by less than a *merge gap* count as one span, so the Pi is not halted
//!   and powered again within minutes (the gap would not even cover a halt handshake);
//! - once the list has run out (the Pi was off or unreachable for longer than the list
//!   covers), the last `repeat_period` of the list repeats, so a station whose Pi failed to
//!   refresh its windows still powers up on the usual days and times (at most one DST hour
//!   off) and gets another chance to push a fresh list.

use vigil_wire::{Digest, Window, MAX_WINDOWS};

/// A stored window list and its digest (chosen by the Pi, echoed back).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Schedule {
    windows: heapless::Vec<Window, MAX_WINDOWS>,
    digest: Digest,
}

/// A span of merged windows the controller is inside, UTC µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Start of the first merged window.
    pub start_us: i64,
    /// End of the last merged window.
    pub end_us: i64,
}

/// Why a window list was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Window `index` is empty (`start_us >= end_us`) or starts before the previous one
    /// ends; the Pi must send a sorted, non-overlapping list.
    #[error("window {index} is empty, unsorted or overlaps the previous one")]
    Malformed {
        /// Index of the first bad window.
        index: usize,
    },
    /// More than [`MAX_WINDOWS`] windows.
    #[error("{count} windows, at most {MAX_WINDOWS} fit")]
    TooMany {
        /// Windows offered.
        count: usize,
    },
}

impl Schedule {
    /// A schedule from a sorted, non-overlapping list of non-empty windows.
    pub fn new(windows: &[Window], digest: Digest) -> Result<Self, ScheduleError> {
        let mut prev_end = i64::MIN;
        for (index, w) in windows.iter().enumerate() {
            if w.start_us >= w.end_us || w.start_us < prev_end {
                return Err(ScheduleError::Malformed { index });
            }
            prev_end = w.end_us;
        }
        let windows = heapless::Vec::from_slice(windows).map_err(|_| ScheduleError::TooMany {
            count: windows.len(),
        })?;
        Ok(Schedule { windows, digest })
    }

    /// The windows, sorted.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The digest the Pi gave this list (all zero for the empty default).
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The merged span holding `utc`, if any. Windows whose gap is below `merge_gap_us` are
    /// one span; past the last window the final `repeat_period_us` of the list repeats
    /// (0 disables repetition).
    pub fn span_at(&self, utc: i64, merge_gap_us: i64, repeat_period_us: i64) -> Option<Span> {
        let last_end = self.windows.last()?.end_us;
        if utc < last_end || repeat_period_us <= 0 {
            return self.direct_span_at(utc, merge_gap_us);
        }
        // Shift `utc` back by whole periods into [last_end - period, last_end).
        let periods = (utc - last_end) / repeat_period_us + 1;
        let shift = periods.checked_mul(repeat_period_us)?;
        let earlier = utc.checked_sub(shift)?;
        self.direct_span_at(earlier, merge_gap_us).map(|s| Span {
            start_us: s.start_us.saturating_add(shift),
            end_us: s.end_us.saturating_add(shift),
        })
    }

    fn direct_span_at(&self, utc: i64, merge_gap_us: i64) -> Option<Span> {
        self.spans(merge_gap_us)
            .take_while(|s| s.start_us <= utc)
            .find(|s| utc < s.end_us)
    }

    /// The start of the first span beginning after `utc` (same merging and repetition as
    /// [`Schedule::span_at`]).
    pub fn next_start_after(
        &self,
        utc: i64,
        merge_gap_us: i64,
        repeat_period_us: i64,
    ) -> Option<i64> {
        let last_end = self.windows.last()?.end_us;
        let direct = self
            .spans(merge_gap_us)
            .map(|s| s.start_us)
            .find(|&s| s > utc);
        if direct.is_some() || repeat_period_us <= 0 {
            return direct;
        }
        // Past the list: the spans of its last period, repeated.
        let first = (utc - last_end).max(0) / repeat_period_us + 1;
        let period_start = last_end.checked_sub(repeat_period_us)?;
        (first..first + 2).find_map(|k| {
            let shift = k.checked_mul(repeat_period_us)?;
            self.spans(merge_gap_us)
                .map(|s| s.start_us)
                .filter(|&s| s >= period_start)
                .map(|s| s.saturating_add(shift))
                .find(|&s| s > utc)
        })
    }

    /// The merged spans, in order.
    fn spans(&self, merge_gap_us: i64) -> impl Iterator<Item = Span> + '_ {
        let mut i = 0;
        core::iter::from_fn(move || {
            let first = self.windows.get(i)?;
            let mut span = Span {
                start_us: first.start_us,
                end_us: first.end_us,
            };
            i += 1;
            while let Some(w) = self.windows.get(i) {
                if w.start_us.saturating_sub(span.end_us) >= merge_gap_us {
                    break;
                }
                span.end_us = span.end_us.max(w.end_us);
                i += 1;
            }
            Some(span)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000;
    const DAY: i64 = 24 * H;

    fn w(start: i64, end: i64) -> Window {
        Window {
            start_us: start,
            end_us: end,
        }
    }

    fn sched(ws: &[Window]) -> Schedule {
        Schedule::new(ws, [7; 32]).expect("well-formed")
    }

    #[test]
    fn inside_and_outside_a_window() {
        // given one window 08:00–10:00
        let s = sched(&[w(8 * H, 10 * H)]);
        // then 08:00 is inside, 10:00 is outside (end exclusive), 07:59 outside
        assert_eq!(
            s.span_at(8 * H, 0, 0),
            Some(Span {
                start_us: 8 * H,
                end_us: 10 * H
            })
        );
        assert_eq!(s.span_at(10 * H, 0, 0), None);
        assert_eq!(s.span_at(8 * H - 1, 0, 0), None);
    }

    #[test]
    fn close_windows_merge_into_one_span() {
        // given windows 08–10 and 10:03–12 with a 5-minute merge gap
        let s = sched(&[w(8 * H, 10 * H), w(10 * H + 3 * 60_000_000, 12 * H)]);
        let gap = 5 * 60_000_000;
        // then the whole 08–12 is one span, also in the gap
        let want = Some(Span {
            start_us: 8 * H,
            end_us: 12 * H,
        });
        assert_eq!(s.span_at(9 * H, gap, 0), want);
        assert_eq!(s.span_at(10 * H + 60_000_000, gap, 0), want);
        assert_eq!(s.span_at(11 * H, gap, 0), want);
        // and without merging the gap is outside
        assert_eq!(s.span_at(10 * H + 60_000_000, 0, 0), None);
    }

    #[test]
    fn chains_of_close_windows_merge_whole() {
        let m = 60_000_000;
        let s = sched(&[
            w(8 * H, 10 * H),
            w(10 * H + m, 12 * H),
            w(12 * H + m, 14 * H),
        ]);
        assert_eq!(
            s.span_at(9 * H, 5 * m, 0),
            Some(Span {
                start_us: 8 * H,
                end_us: 14 * H
            })
        );
    }

    #[test]
    fn later_windows_after_a_far_gap_are_separate() {
        let s = sched(&[w(8 * H, 10 * H), w(14 * H, 16 * H)]);
        assert_eq!(
            s.span_at(15 * H, 60_000_000, 0),
            Some(Span {
                start_us: 14 * H,
                end_us: 16 * H
            })
        );
        assert_eq!(s.span_at(12 * H, 60_000_000, 0), None);
    }

    #[test]
    fn exhausted_list_repeats_its_last_week() {
        // given daily windows for 7 days (08–10), then nothing
        let ws: heapless::Vec<Window, 7> = (0..7)
            .map(|d| w(d * DAY + 8 * H, d * DAY + 10 * H))
            .collect();
        let s = sched(&ws);
        // when asked on day 9 and day 400 at 09:00; then the repetition covers it
        for day in [9, 400] {
            let got = s.span_at(day * DAY + 9 * H, 0, 7 * DAY);
            assert_eq!(
                got,
                Some(Span {
                    start_us: day * DAY + 8 * H,
                    end_us: day * DAY + 10 * H
                }),
                "day {day}"
            );
            assert_eq!(s.span_at(day * DAY + 11 * H, 0, 7 * DAY), None);
        }
        // and repetition disabled means nothing
        assert_eq!(s.span_at(9 * DAY + 9 * H, 0, 0), None);
    }

    #[test]
    fn next_start_is_found_in_the_list_and_in_the_repetition() {
        let s = sched(&[w(8 * H, 10 * H), w(DAY + 8 * H, DAY + 10 * H)]);
        assert_eq!(s.next_start_after(0, 0, 0), Some(8 * H));
        assert_eq!(s.next_start_after(9 * H, 0, 0), Some(DAY + 8 * H));
        assert_eq!(s.next_start_after(DAY + 9 * H, 0, 0), None);
        // repeating the last 2 days: the list starts again two days later
        assert_eq!(
            s.next_start_after(DAY + 9 * H, 0, 2 * DAY),
            Some(2 * DAY + 8 * H)
        );
        assert_eq!(
            s.next_start_after(40 * DAY + 9 * H, 0, 2 * DAY),
            Some(41 * DAY + 8 * H)
        );
    }

    #[test]
    fn empty_schedule_has_no_span() {
        assert_eq!(Schedule::default().span_at(0, 0, 7 * DAY), None);
    }

    #[test]
    fn malformed_lists_are_refused() {
        assert_eq!(
            Schedule::new(&[w(5, 5)], [0; 32]),
            Err(ScheduleError::Malformed { index: 0 })
        );
        assert_eq!(
            Schedule::new(&[w(5, 10), w(9, 12)], [0; 32]),
            Err(ScheduleError::Malformed { index: 1 })
        );
        let many = [w(0, 1); MAX_WINDOWS + 1];
        let many: heapless::Vec<Window, { MAX_WINDOWS + 1 }> = many
            .iter()
            .enumerate()
            .map(|(i, _)| w(i as i64 * 10, i as i64 * 10 + 5))
            .collect();
        assert_eq!(
            Schedule::new(&many, [0; 32]),
            Err(ScheduleError::TooMany {
                count: MAX_WINDOWS + 1
            })
        );
    }
}
