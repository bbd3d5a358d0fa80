//! Given/when/then tests, one or more per rule of the controller (see `controller.rs`).

mod common;

use common::*;
use vigil_esp32_power::ring::BoardEvent;
use vigil_esp32_power::store::{MemStorage, Slot};
use vigil_esp32_power::{Config, Input, Output, Phase};
use vigil_wire::{EventAck, HaltConfirm, Heartbeat, Message, PowerReason, TimeRequest, WindowsAck};

const DIGEST: [u8; 32] = [0xAB; 32];

/// A synced board (reference UTC = T2026 at boot) holding one window `[start, end)` given
/// in seconds from T2026.
fn synced_with_window(start_s: i64, end_s: i64) -> Rig {
    let mut r = Rig::new(Config::default(), T2026);
    r.sync();
    r.pi(windows(
        &[(T2026 + start_s * 1_000_000, T2026 + end_s * 1_000_000)],
        DIGEST,
    ));
    r
}

fn timeout() -> u64 {
    Config::default().heartbeat_timeout_us
}

fn switches(r: &Rig) -> Vec<(bool, PowerReason)> {
    r.c()
        .events()
        .filter_map(|e| match e.event {
            BoardEvent::PowerSwitched { on, reason } => Some((on, reason)),
            _ => None,
        })
        .collect()
}

fn notices(r: &Rig) -> usize {
    r.sent()
        .iter()
        .filter(|p| matches!(p.message, Message::HaltNotice(_)))
        .count()
}

/// Runs the Pi heartbeating every second for `d`.
fn heartbeat_for(r: &mut Rig, d: u64) {
    let end = r.now + d;
    while r.now < end {
        r.advance(S);
        r.pi(Heartbeat { pi_utc_us: 0 });
    }
}

/// Brings a synced board into its window at 60 s, with the Pi heartbeating until one
/// second before `end_s`.
fn running_until_window_end(end_s: i64) -> Rig {
    let mut r = synced_with_window(60, end_s);
    r.run_to(60 * S, S / 10);
    assert!(r.relay);
    let d = (end_s as u64 - 1) * S - r.now;
    heartbeat_for(&mut r, d);
    assert_eq!(r.c().status(r.now).phase, Phase::On);
    r
}

// ---- rule 1: no time, no schedule --------------------------------------------------------

#[test]
fn without_sntp_the_board_does_not_switch_by_schedule() {
    // given a board whose SNTP server never answers, holding a window that covers now
    let mut r = Rig::new(Config::default(), T2026);
    r.pi(windows(
        &[(T2026 - 1_000_000, T2026 + 3_600_000_000)],
        DIGEST,
    ));
    // when ten minutes pass
    r.advance(10 * MIN);
    // then the relay stays off and the clock reports no UTC
    assert!(!r.relay);
    assert_eq!(r.c().status(r.now).utc_us, None);
    // when SNTP finally answers its next request; then the window is honoured at once
    r.sntp_request = None;
    while r.sntp_request.is_none() {
        r.advance(S);
    }
    r.sync();
    assert!(r.relay);
    assert_eq!(switches(&r), vec![(true, PowerReason::WindowStart)]);
}

// ---- rule 2: window start powers on --------------------------------------------------------

#[test]
fn window_start_switches_the_relay_on_within_one_tick() {
    // given a synced board with a window starting at 60 s
    let mut r = synced_with_window(60, 3_600);
    // when time reaches 59.9 s; then still off
    r.run_to(59_900_000, S / 10);
    assert!(!r.relay);
    // when it reaches 60 s; then on, logged as a window start
    r.run_to(60 * S, S / 10);
    assert!(r.relay);
    assert_eq!(switches(&r), vec![(true, PowerReason::WindowStart)]);
    assert_eq!(r.c().status(r.now).phase, Phase::On);
}

#[test]
fn windows_closer_than_the_merge_gap_do_not_halt_in_between() {
    // given windows 60–600 s and 660–1200 s (gap 1 min < 10 min merge gap)
    let mut r = Rig::new(Config::default(), T2026);
    r.sync();
    let s = |x: i64| T2026 + x * 1_000_000;
    r.pi(windows(&[(s(60), s(600)), (s(660), s(1_200))], DIGEST));
    // when the Pi heartbeats through both
    r.run_to(60 * S, S / 10);
    heartbeat_for(&mut r, 1_100 * S);
    // then no notice went out before 1200 s and the relay never switched off
    assert_eq!(notices(&r), 0);
    assert!(r.relay);
}

// ---- rule 3: the halt handshake -----------------------------------------------------------

#[test]
fn window_end_sends_a_notice_and_cuts_after_confirm_and_silence() {
    // given a Pi heartbeating through its window 60–600 s
    let mut r = running_until_window_end(600);
    r.take();
    // when the window ends
    r.advance(S);
    // then a halt notice names the window and a deadline 5 minutes out
    let notice = r
        .sent()
        .into_iter()
        .find_map(|p| match p.message {
            Message::HaltNotice(n) => Some(n),
            _ => None,
        })
        .expect("notice");
    assert_eq!(notice.window_end_us, T2026 + 600_000_000);
    assert_eq!(notice.window_start_us, T2026 + 60_000_000);
    assert!((notice.deadline_us - (r.utc() + 300_000_000)).abs() < 200_000);
    // when the Pi confirms and keeps heartbeating 5 s, then falls silent
    r.pi(HaltConfirm {
        window_end_us: notice.window_end_us,
    });
    heartbeat_for(&mut r, 5 * S);
    let last_hb = r.now;
    // then the relay stays on through the grace period after the last heartbeat
    r.run_to(last_hb + 15 * S - S / 10, S / 10);
    assert!(r.relay);
    // and is cut when it has passed
    r.advance(S / 5);
    assert!(!r.relay);
    assert_eq!(
        switches(&r).last(),
        Some(&(false, PowerReason::HaltConfirmed))
    );
}

#[test]
fn a_heartbeating_pi_that_never_confirms_is_cut_only_at_the_hard_deadline() {
    // given a window ending at 600 s
    let mut r = running_until_window_end(600);
    // when the Pi keeps heartbeating without confirming
    heartbeat_for(&mut r, 300 * S - S);
    assert_eq!(notices(&r), 60);
    // then power stays on until the hard deadline (5 min after the notice)
    assert!(r.relay);
    heartbeat_for(&mut r, 2 * S);
    assert!(!r.relay);
    assert_eq!(
        switches(&r).last(),
        Some(&(false, PowerReason::HardDeadline))
    );
}

#[test]
fn notice_is_repeated_until_confirmed() {
    let mut r = running_until_window_end(600);
    r.take();
    // when 12 s pass without a confirm; then 3 notices (at 0, 5, 10 s)
    heartbeat_for(&mut r, 12 * S);
    assert_eq!(notices(&r), 3);
    // when the Pi confirms; then no more notices
    r.pi(HaltConfirm {
        window_end_us: T2026 + 600_000_000,
    });
    r.take();
    r.advance(10 * S);
    assert_eq!(notices(&r), 0);
}

#[test]
fn confirm_for_another_window_is_ignored() {
    let mut r = running_until_window_end(600);
    r.advance(S);
    // when the Pi confirms a different window and stops heartbeating
    r.pi(HaltConfirm {
        window_end_us: T2026 + 1,
    });
    r.advance(60 * S);
    // then it is not a confirmation: the relay waits for the hard deadline
    assert!(r.relay);
    assert_eq!(
        r.c().status(r.now).phase,
        Phase::Halting { confirmed: false }
    );
}

#[test]
fn a_clock_step_does_not_bring_the_hard_deadline_forward() {
    // given a board polling SNTP every minute, a handshake just started at 600 s, the Pi
    // heartbeating and not confirming
    let mut cfg = Config::default();
    cfg.clock.poll_interval_us = 60 * S;
    let mut r = Rig::new(cfg, T2026);
    r.sync();
    r.pi(windows(
        &[(T2026 + 60_000_000, T2026 + 600_000_000)],
        DIGEST,
    ));
    heartbeat_for(&mut r, 601 * S);
    assert_eq!(
        r.c().status(r.now).phase,
        Phase::Halting { confirmed: false }
    );
    // when SNTP steps the clock a day ahead (two agreeing replies)
    let day = 86_400_000_000;
    r.utc_base += day;
    for _ in 0..2 {
        // force a poll: the clock asks again after the regular interval or a step
        while r.sntp_request.is_none() {
            heartbeat_for(&mut r, S);
        }
        r.answer_sntp(0);
    }
    // then the heartbeating Pi still keeps its power until the deadline (900 s)
    assert!(r.now < 890 * S);
    assert!(r.relay, "cut early: {:?}", switches(&r));
    let d = 899 * S - r.now;
    heartbeat_for(&mut r, d);
    assert!(r.relay);
    heartbeat_for(&mut r, 2 * S);
    assert!(!r.relay);
}

// ---- rule 4: watchdog --------------------------------------------------------------------

#[test]
fn a_silent_pi_is_power_cycled_after_the_boot_grace() {
    // given a window 60 s – 2 h and a Pi that never heartbeats
    let mut r = synced_with_window(60, 7_200);
    r.run_to(60 * S, S / 10);
    // when the boot grace (180 s) is almost over; then still on
    r.run_to(239 * S, S / 10);
    assert!(r.relay);
    // when it is over; then the watchdog trips, the relay is off for 10 s, then on again
    r.run_to(240 * S + S / 10, S / 10);
    assert!(!r.relay);
    assert!(r.c().events().any(|e| matches!(
        e.event,
        BoardEvent::WatchdogTripped { silent_ms } if silent_ms >= 180_000
    )));
    r.run_to(250 * S + S / 10, S / 10);
    assert!(r.relay);
    assert_eq!(
        switches(&r),
        vec![
            (true, PowerReason::WindowStart),
            (false, PowerReason::Watchdog),
            (true, PowerReason::Watchdog),
        ]
    );
}

#[test]
fn the_boot_grace_doubles_after_each_cycle_without_a_heartbeat() {
    // given a Pi that never heartbeats in a long window
    let mut r = synced_with_window(60, 36_000);
    r.run_to(60 * S, S);
    // when the watchdog trips (at +180 s), and again
    r.run_to(241 * S, S);
    assert!(!r.relay);
    r.run_to(251 * S, S);
    assert!(r.relay); // on again at 250 s
                      // then the second grace is 360 s: still on at 609 s, cycled at 610 s
    r.run_to(609 * S, S);
    assert!(r.relay);
    r.run_to(611 * S, S);
    assert!(!r.relay);
    // when the Pi heartbeats after the next power-on, the grace is back to 180 s
    r.run_to(621 * S, S);
    assert!(r.relay);
    heartbeat_for(&mut r, 60 * S);
    let last = r.now;
    r.run_to(last + timeout() - S, S);
    assert!(r.relay);
    r.run_to(last + timeout() + S, S);
    assert!(!r.relay);
}

#[test]
fn a_pi_that_stops_heartbeating_is_cycled_after_the_timeout() {
    // given a Pi heartbeating for 5 minutes in its window
    let mut r = synced_with_window(60, 7_200);
    r.run_to(60 * S, S / 10);
    heartbeat_for(&mut r, 300 * S);
    let last = r.now;
    // when it falls silent; then still on 0.1 s before the timeout, cycled at it
    r.run_to(last + timeout() - S / 10, S / 10);
    assert!(r.relay);
    r.run_to(last + timeout(), S / 10);
    assert!(!r.relay);
    assert_eq!(r.c().status(r.now).phase, Phase::Cycling);
}

#[test]
fn the_watchdog_sleeps_under_override_outside_windows() {
    // given no window and the override held
    let mut r = Rig::new(Config::default(), T2026);
    r.sync();
    r.input(Input::Override(true));
    r.advance(S);
    assert!(r.relay);
    // when an hour passes without heartbeats; then still on
    r.advance(H);
    assert!(r.relay);
    assert!(!r
        .c()
        .events()
        .any(|e| matches!(e.event, BoardEvent::WatchdogTripped { .. })));
}

#[test]
fn a_stall_of_the_board_loop_is_not_taken_for_pi_silence() {
    // given a Pi heartbeating in its window
    let mut r = synced_with_window(60, 7_200);
    r.run_to(60 * S, S / 10);
    heartbeat_for(&mut r, 300 * S);
    // when the board's loop is not called for longer than the heartbeat timeout
    r.now += timeout() + 10 * S;
    r.input(Input::Tick);
    // then the watchdog does not trip; the heartbeats that follow keep the Pi on
    assert!(r.relay);
    heartbeat_for(&mut r, 60 * S);
    assert!(r.relay);
    // and a Pi silent from the stall on is cycled a full timeout after it
    let mut r = synced_with_window(60, 7_200);
    r.run_to(60 * S, S / 10);
    heartbeat_for(&mut r, 300 * S);
    r.now += timeout() + 10 * S;
    r.input(Input::Tick);
    let stall_end = r.now;
    r.run_to(stall_end + timeout() - S, S / 10);
    assert!(r.relay);
    r.run_to(stall_end + timeout() + S, S / 10);
    assert!(!r.relay);
}

// ---- rule 5: override --------------------------------------------------------------------

#[test]
fn override_blips_shorter_than_the_debounce_are_ignored() {
    let mut r = Rig::new(Config::default(), T2026);
    r.sync();
    // when the input flickers for 30 ms
    r.input(Input::Override(true));
    r.now += 30_000;
    r.input(Input::Override(false));
    r.advance(S);
    // then nothing happened
    assert!(!r.relay);
    assert!(r
        .c()
        .events()
        .all(|e| !matches!(e.event, BoardEvent::OverrideChanged { .. })));
}

#[test]
fn held_override_powers_on_and_its_end_outside_a_window_starts_the_handshake() {
    let mut r = Rig::new(Config::default(), T2026);
    r.sync();
    // when held for 50 ms; then on, logged
    r.input(Input::Override(true));
    r.now += 50_000;
    r.input(Input::Override(true));
    assert!(r.relay);
    assert_eq!(switches(&r), vec![(true, PowerReason::Override)]);
    // when released; then a notice without a window goes out, power stays on
    r.advance(S);
    r.take();
    r.input(Input::Override(false));
    r.advance(S);
    let n = r
        .sent()
        .into_iter()
        .find_map(|p| match p.message {
            Message::HaltNotice(n) => Some(n),
            _ => None,
        })
        .expect("notice");
    assert_eq!((n.window_start_us, n.window_end_us), (0, 0));
    assert!(r.relay);
    let changes: Vec<bool> = r
        .c()
        .events()
        .filter_map(|e| match e.event {
            BoardEvent::OverrideChanged { active } => Some(active),
            _ => None,
        })
        .collect();
    assert_eq!(changes, vec![true, false]);
}

#[test]
fn override_ending_just_before_a_window_does_not_halt_the_pi() {
    // given the override held until 2 minutes before a window
    let mut r = synced_with_window(600, 3_600);
    r.input(Input::Override(true));
    heartbeat_for(&mut r, 10 * S);
    assert!(r.relay);
    let d = 470 * S - r.now;
    heartbeat_for(&mut r, d);
    r.take();
    // when it is released and the window comes
    r.input(Input::Override(false));
    heartbeat_for(&mut r, 300 * S);
    // then no notice went out and the Pi was never cut
    assert_eq!(notices(&r), 0);
    assert!(r.relay);
    assert!(switches(&r).iter().all(|(on, _)| *on));
}

#[test]
fn override_during_a_handshake_keeps_the_power() {
    let mut r = running_until_window_end(600);
    r.advance(S);
    r.input(Input::Override(true));
    // when the hard deadline passes with the override held; then still on
    r.advance(400 * S);
    assert!(r.relay);
    assert_eq!(r.c().status(r.now).phase, Phase::On);
}

// ---- rule 6: a halt the Pi starts ------------------------------------------------------------

#[test]
fn a_pi_initiated_halt_is_honoured_and_the_window_not_powered_again() {
    let mut r = synced_with_window(60, 3_600);
    r.run_to(60 * S, S / 10);
    heartbeat_for(&mut r, 60 * S);
    // when the Pi says it halts on its own and falls silent
    r.pi(HaltConfirm { window_end_us: 0 });
    r.advance(16 * S);
    // then the relay is cut (no notice needed) and stays off for the rest of the window
    assert!(!r.relay);
    assert_eq!(notices(&r), 0);
    r.advance(10 * MIN);
    assert!(!r.relay);
    assert_eq!(
        switches(&r),
        vec![
            (true, PowerReason::WindowStart),
            (false, PowerReason::HaltConfirmed)
        ]
    );
}

// ---- rule 7: events, acks, persistence -------------------------------------------------------

fn board_events_sent(r: &Rig) -> Vec<(u32, u32)> {
    r.sent()
        .iter()
        .filter(|p| p.message.kind().is_board_event())
        .map(|p| (p.header.boot, p.header.seq))
        .collect()
}

#[test]
fn events_wait_for_a_connection_and_go_one_at_a_time_until_acked() {
    // given a board that logged a window start and an override while the Pi was silent
    let mut r = synced_with_window(60, 3_600);
    r.run_to(60 * S, S / 10);
    r.input(Input::Override(true));
    r.advance(S);
    r.take();
    assert!(board_events_sent(&r).is_empty());
    let pending = r.c().status(r.now).pending_events;
    assert_eq!(pending, 3); // SNTP synced, power on, override on
                            // when the Pi says something
    r.pi(Heartbeat { pi_utc_us: 0 });
    // then exactly the oldest event went out
    let sent = board_events_sent(&r);
    assert_eq!(sent.len(), 1);
    let first = r.c().events().next().map(|e| e.id).expect("held");
    assert_eq!(sent[0], (first.boot, first.seq));
    // when no ack comes for 2 s; then the same event is sent again
    r.take();
    heartbeat_for(&mut r, 2 * S);
    assert_eq!(board_events_sent(&r), vec![sent[0]]);
    // when acked; then it is deleted and the next goes out
    r.take();
    r.pi(EventAck {
        boot: first.boot,
        seq: first.seq,
    });
    assert_eq!(r.c().status(r.now).pending_events, 2);
    let next = board_events_sent(&r);
    assert_eq!(next.len(), 1);
    assert!(next[0] > sent[0]);
}

#[test]
fn an_ack_beyond_what_was_sent_deletes_only_what_was_sent() {
    let mut r = synced_with_window(60, 3_600);
    r.run_to(60 * S, S / 10);
    r.take();
    r.pi(Heartbeat { pi_utc_us: 0 });
    let sent = board_events_sent(&r);
    assert_eq!(sent.len(), 1);
    // when the Pi acks a far future seq
    r.pi(EventAck {
        boot: 999,
        seq: 999,
    });
    // then only the one sent event is gone
    assert_eq!(r.c().status(r.now).pending_events, 1);
}

#[test]
fn events_survive_a_reboot_and_keep_their_boot_and_seq() {
    // given a board that logged events in boot 1 and was never acked
    let mut r = synced_with_window(60, 3_600);
    r.run_to(60 * S, S / 10);
    let before: Vec<_> = r.c().events().map(|e| (e.id, e.event)).collect();
    assert_eq!(before.len(), 2);
    assert_eq!(r.c().status(r.now).boot, 1);
    // when the board reboots
    r.reboot();
    // then boot id is 2, the old events are still there first, and the relay is restored on
    let st = r.c().status(r.now);
    assert_eq!(st.boot, 2);
    assert!(r.relay);
    let after: Vec<_> = r.c().events().map(|e| (e.id, e.event)).collect();
    assert_eq!(&after[..2], &before[..]);
    assert_eq!(
        after[2].1,
        BoardEvent::PowerSwitched {
            on: true,
            reason: PowerReason::BoardBoot
        }
    );
    // and the first delivery after connecting carries the old header
    r.take();
    r.pi(Heartbeat { pi_utc_us: 0 });
    assert_eq!(
        board_events_sent(&r),
        vec![(before[0].0.boot, before[0].0.seq)]
    );
}

#[test]
fn boot_ids_increase_at_every_boot_and_seqs_never_repeat() {
    let mut r = Rig::new(Config::default(), T2026);
    let mut ids = std::collections::BTreeSet::new();
    for boot in 1..=5u32 {
        assert_eq!(r.c().status(r.now).boot, boot);
        for p in r.sent() {
            assert!(ids.insert((p.header.boot, p.header.seq)) || p.message.kind().is_board_event());
        }
        r.take();
        r.advance(S);
        r.reboot();
    }
}

#[test]
fn windows_are_persisted_and_acked_and_survive_a_reboot() {
    // given a window pushed and acked
    let mut r = synced_with_window(3_600, 7_200);
    let acks: Vec<WindowsAck> = r
        .sent()
        .into_iter()
        .filter_map(|p| match p.message {
            Message::WindowsAck(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(
        acks,
        vec![WindowsAck {
            digest: DIGEST,
            count: 1
        }]
    );
    // when the board reboots (network back at once) and the window comes
    r.advance(S);
    r.reboot();
    r.sync();
    let mono_at = |r: &Rig, secs: i64| (T2026 + secs * 1_000_000 - r.utc_base) as u64;
    let t = mono_at(&r, 3_598);
    r.run_to(t, S);
    assert!(!r.relay);
    let t = mono_at(&r, 3_600);
    r.run_to(t, S);
    // then it powers on without the Pi having said anything
    assert!(r.relay);
    assert_eq!(r.c().schedule().digest(), &DIGEST);
}

#[test]
fn windows_that_cannot_be_persisted_are_used_but_not_acked() {
    // given a synced board whose next flash write fails
    let mut r = Rig::new(Config::default(), T2026);
    r.sync();
    r.c.as_mut()
        .expect("booted")
        .storage_mut()
        .fail_next_saves(1);
    r.take();
    // when the Pi pushes a window covering now
    r.pi(windows(&[(T2026, T2026 + 3_600_000_000)], DIGEST));
    // then it is used (relay on) but not acked, and the failure is counted
    assert!(r.relay);
    assert!(r
        .sent()
        .iter()
        .all(|p| !matches!(p.message, Message::WindowsAck(_))));
    assert_eq!(r.c().status(r.now).storage_errors, 1);
}

#[test]
fn malformed_windows_are_rejected_and_change_nothing() {
    let mut r = synced_with_window(60, 120);
    r.take();
    r.pi(windows(&[(T2026 + 5, T2026 + 5)], [1; 32]));
    assert!(r
        .sent()
        .iter()
        .all(|p| !matches!(p.message, Message::WindowsAck(_))));
    assert_eq!(r.c().schedule().digest(), &DIGEST);
    assert_eq!(r.c().status(r.now).rx_rejects, 1);
}

#[test]
fn the_last_week_repeats_when_the_list_runs_out() {
    // given a single window on day 0 at 10:00–11:00 and a Pi that never comes back
    let day = 86_400_000_000i64;
    let mut r = synced_with_window(36_000, 39_600);
    // when it is day 7 at 10:00 (list exhausted); then the window repeats
    let target = (7 * day + 36_000_000_000) as u64;
    r.run_to(target - S, 10 * S);
    r.answer_sntp(0);
    r.run_to(target + S, S / 10);
    assert!(r.relay);
}

#[test]
fn time_request_is_answered_with_the_board_clock() {
    let mut r = Rig::new(Config::default(), T2026);
    r.sync();
    r.advance(S);
    r.take();
    r.pi(TimeRequest { t1_us: 42 });
    let reply = r
        .sent()
        .into_iter()
        .find_map(|p| match p.message {
            Message::TimeReply(t) => Some(t),
            _ => None,
        })
        .expect("reply");
    assert_eq!(reply.t1_us, 42);
    assert!(reply.synced);
    assert!((reply.t2_us - r.utc()).abs() < 1_000);
    assert_eq!(reply.sntp_offset_us.map(|o| o.abs() > 0), Some(true));
}

#[test]
fn packets_for_another_device_or_of_a_board_kind_are_rejected() {
    let mut r = Rig::new(Config::default(), T2026);
    let before = r.c().status(r.now).rx_rejects;
    let mut p = from_pi(1, Heartbeat { pi_utc_us: 0 });
    p.header.device = 42;
    r.input(Input::Packet(p));
    r.pi(vigil_wire::HaltNotice {
        window_start_us: 0,
        window_end_us: 0,
        deadline_us: 0,
    });
    assert_eq!(r.c().status(r.now).rx_rejects, before + 2);
    assert!(!r.c().status(r.now).connected);
}

#[test]
fn events_logged_before_the_first_sync_get_utc_at_sync() {
    // given a board that boots with its relay on (restored) and no time
    let mut r = synced_with_window(60, 3_600);
    r.run_to(60 * S, S / 10);
    r.reboot();
    let t0 = r.utc();
    let boot_event = r.c().events().last().copied().expect("board boot event");
    assert!(!boot_event.at.synced);
    // when SNTP answers 20 s later
    r.advance(20 * S);
    r.sync();
    // then that event carries the UTC of its moment
    let e = r
        .c()
        .events()
        .find(|e| e.id == boot_event.id)
        .copied()
        .expect("still held");
    assert!(e.at.synced);
    assert!((e.at.utc_us - t0).abs() < 200_000);
}

#[test]
fn ring_overflow_drops_oldest_and_counts_it() {
    // given a ring of 4 and a Pi that never connects
    let cfg = Config {
        ring_capacity: 4,
        ..Config::default()
    };
    let mut r = Rig::new(cfg, T2026);
    r.sync();
    // when the override toggles 5 times (10 events + sync)
    for _ in 0..5 {
        r.input(Input::Override(true));
        r.advance(S);
        r.input(Input::Override(false));
        r.advance(S);
    }
    // then 4 entries are held, one of them a drop marker, and the drops are counted
    let st = r.c().status(r.now);
    assert_eq!(st.pending_events, 4);
    assert!(st.events_dropped > 0);
    let marked: u64 = r
        .c()
        .events()
        .map(|e| match e.event {
            BoardEvent::EventsDropped { count } => count as u64,
            _ => 0,
        })
        .sum();
    assert_eq!(marked, st.events_dropped);
}

#[test]
fn a_corrupt_store_boots_with_defaults_and_counts_the_error() {
    let mut r = synced_with_window(60, 3_600);
    r.advance(S);
    let mut store: MemStorage = r.c.take().expect("booted").into_storage();
    if let Some(raw) = store.raw_mut(Slot::Windows) {
        raw[3] ^= 0xFF;
    }
    // when the board boots on it
    let r = Rig::with_storage(Config::default(), T2026, store);
    // then the window list is empty, the error counted, the rest restored
    let st = r.c().status(0);
    assert_eq!(st.windows, 0);
    assert_eq!(st.storage_errors, 1);
    assert_eq!(st.boot, 2);
    assert!(r.out.contains(&Output::Relay(false)));
}
