//! Given/when/then tests of the Pi's side of the power protocol: heartbeats, the time
//! exchange, window pushes until acked, and the halt handshake in every order.

use vigil_actors::power::{Phase, PowerProtocol, ProtocolSettings, Step, NOTICE_REASON};
use vigil_events::kinds::{ClockOffsetMeasured, ShutdownRequested};
use vigil_events::Event;
use vigil_wire::{
    HaltConfirm, HaltNotice, Heartbeat, Message, PowerStatus, TimeReply, TimeRequest, Window,
    Windows, WindowsAck,
};

const S: i64 = 1_000_000;
const T0: i64 = 1_780_286_400_000_000;

fn settings() -> ProtocolSettings {
    ProtocolSettings::new(5 * S)
}

fn given_running() -> PowerProtocol {
    let mut p = PowerProtocol::new(settings());
    let steps = p.start(T0);
    assert_eq!(
        steps,
        vec![Step::Send(Message::Heartbeat(Heartbeat { pi_utc_us: T0 }))]
    );
    p.link_up(T0);
    p
}

fn sent(steps: &[Step]) -> Vec<Message> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn heartbeats(steps: &[Step]) -> usize {
    sent(steps)
        .iter()
        .filter(|m| matches!(m, Message::Heartbeat(_)))
        .count()
}

fn notice(end: i64) -> HaltNotice {
    HaltNotice {
        window_start_us: end - 3_600 * S,
        window_end_us: end,
        deadline_us: end + 180 * S,
    }
}

fn confirms(steps: &[Step]) -> Vec<i64> {
    sent(steps)
        .iter()
        .filter_map(|m| match m {
            Message::HaltConfirm(HaltConfirm { window_end_us }) => Some(*window_end_us),
            _ => None,
        })
        .collect()
}

fn windows(n: i64) -> Windows {
    let mut ws = vigil_wire::heapless::Vec::new();
    for i in 0..n {
        ws.push(Window {
            start_us: T0 + i * 3_600 * S,
            end_us: T0 + i * 3_600 * S + 60 * S,
        })
        .expect("fits");
    }
    Windows {
        digest: [n as u8; 32],
        windows: ws,
    }
}

#[test]
fn heartbeats_go_out_every_period_and_never_bunch_up() {
    let mut p = given_running();
    let mut n = 0;
    for k in 1..=60 {
        n += heartbeats(&p.tick(T0 + k * S));
    }
    assert_eq!(n, 12, "one every 5 s over 60 s");
    // A performer thread that slept 30 s sends one heartbeat, not six.
    assert_eq!(heartbeats(&p.tick(T0 + 90 * S)), 1);
    assert_eq!(p.last_heartbeat(), Some(T0 + 90 * S));
}

#[test]
fn a_time_exchange_at_link_up_measures_pi_minus_board() {
    let mut p = PowerProtocol::new(settings());
    p.start(T0);
    let steps = p.link_up(T0 + S);
    let req = sent(&steps)
        .into_iter()
        .find_map(|m| match m {
            Message::TimeRequest(TimeRequest { t1_us }) => Some(t1_us),
            _ => None,
        })
        .expect("a time request at link up");
    // The board is 2 s ahead; 10 ms there and 10 ms back, 1 ms inside the board.
    let t1 = req;
    let t2 = t1 + 10_000 + 2 * S;
    let t3 = t2 + 1_000;
    let t4 = t1 + 21_000;
    let reply = Message::TimeReply(TimeReply {
        t1_us: t1,
        t2_us: t2,
        t3_us: t3,
        synced: true,
        sntp_offset_us: Some(-1_250),
    });
    let steps = p.on_message(t4, &reply);
    assert_eq!(
        steps,
        vec![Step::Append(Event::ClockOffsetMeasured(
            ClockOffsetMeasured {
                pi_minus_board_us: -2 * S,
                rtt_us: 20_000,
                board_synced: true,
                board_sntp_offset_us: Some(-1_250),
            }
        ))]
    );
    // A second (duplicated) reply measures nothing.
    assert!(p.on_message(t4 + 5, &reply).is_empty());
}

#[test]
fn a_pushed_list_is_sent_again_until_the_board_acks_it() {
    let mut p = given_running();
    let w = windows(3);
    assert_eq!(
        sent(&p.push(T0, w.clone())),
        vec![Message::Windows(w.clone())]
    );
    let resent = |steps: &[Step]| {
        sent(steps)
            .iter()
            .filter(|m| matches!(m, Message::Windows(_)))
            .count()
    };
    assert_eq!(resent(&p.tick(T0 + 5 * S)), 0);
    assert_eq!(resent(&p.tick(T0 + 10 * S)), 1);
    // An ack of another list changes nothing; the right one stops the resends.
    p.on_message(
        T0 + 11 * S,
        &Message::WindowsAck(WindowsAck {
            digest: [9; 32],
            count: 9,
        }),
    );
    assert!(!p.windows_acked());
    p.on_message(
        T0 + 11 * S,
        &Message::WindowsAck(WindowsAck {
            digest: w.digest,
            count: 3,
        }),
    );
    assert!(p.windows_acked());
    assert_eq!(resent(&p.tick(T0 + 30 * S)), 0);
    // A status showing another list (the board lost it) brings the resends back.
    p.on_message(
        T0 + 31 * S,
        &Message::PowerStatus(PowerStatus {
            relay_on: true,
            override_active: false,
            windows_count: 0,
            windows_digest: [0; 32],
            pending_events: 0,
            rx_rejects: 0,
        }),
    );
    assert_eq!(resent(&p.tick(T0 + 32 * S)), 1);
}

#[test]
fn decided_then_notice_flushes_confirms_twice_and_powers_off() {
    let mut p = given_running();
    let end = T0 + 100 * S;
    assert_eq!(p.shutdown(end, end), vec![Step::Flush]);
    // Still heartbeating while waiting for the board.
    assert_eq!(heartbeats(&p.tick(end + 5 * S)), 1);
    let steps = p.on_message(end + 6 * S, &Message::HaltNotice(notice(end)));
    assert_eq!(confirms(&steps), vec![end, end]);
    assert_eq!(steps.last(), Some(&Step::Poweroff));
    assert!(matches!(p.phase(), Phase::Halted { .. }));
    // No heartbeat after the confirmation.
    for k in 7..100 {
        assert_eq!(heartbeats(&p.tick(end + k * S)), 0);
    }
    // A repeated notice (our confirmation was lost) is confirmed again.
    let again = p.on_message(end + 101 * S, &Message::HaltNotice(notice(end)));
    assert_eq!(confirms(&again), vec![end]);
}

#[test]
fn notice_then_decided_confirms_the_notices_window() {
    let mut p = given_running();
    let end = T0 + 100 * S;
    assert!(p
        .on_message(end - S, &Message::HaltNotice(notice(end)))
        .is_empty());
    let steps = p.shutdown(end, end);
    assert_eq!(steps.first(), Some(&Step::Flush));
    assert_eq!(confirms(&steps), vec![end, end]);
    assert_eq!(steps.last(), Some(&Step::Poweroff));
}

#[test]
fn decided_without_a_notice_halts_on_its_own_after_the_wait() {
    let mut p = given_running();
    let end = T0 + 100 * S;
    p.shutdown(end, end);
    assert!(confirms(&p.tick(end + 29 * S)).is_empty());
    let steps = p.tick(end + 30 * S);
    assert_eq!(confirms(&steps), vec![0, 0], "a halt the Pi starts itself");
    assert_eq!(steps.last(), Some(&Step::Poweroff));
}

#[test]
fn a_notice_without_a_decision_is_recorded_and_obeyed_after_the_wait() {
    let mut p = given_running();
    let end = T0 + 100 * S;
    p.on_message(end, &Message::HaltNotice(notice(end)));
    assert!(confirms(&p.tick(end + 29 * S)).is_empty());
    let steps = p.tick(end + 30 * S);
    assert_eq!(
        steps.first(),
        Some(&Step::Append(Event::ShutdownRequested(ShutdownRequested {
            window: String::new(),
            reason: NOTICE_REASON.into(),
            deadline_us: end + 180 * S,
        })))
    );
    assert_eq!(steps.get(1), Some(&Step::Flush));
    assert_eq!(confirms(&steps), vec![end, end]);
    assert_eq!(steps.last(), Some(&Step::Poweroff));
    // The core's late decision changes nothing.
    assert!(p.shutdown(end + 31 * S, end).is_empty());
}

#[test]
fn on_a_simulated_station_the_pi_follows_the_relay() {
    let mut s = settings();
    s.model_power = true;
    let mut p = PowerProtocol::new(s);
    p.start(T0);
    p.board_power(T0 + S, false);
    assert_eq!(p.phase(), Phase::Off);
    assert_eq!(heartbeats(&p.tick(T0 + 60 * S)), 0);
    let steps = p.board_power(T0 + 61 * S, true);
    assert_eq!(heartbeats(&steps), 1, "booted again");
    assert_eq!(p.phase(), Phase::Running);
}

#[test]
fn on_real_hardware_a_late_power_off_report_is_old_news() {
    let mut p = given_running();
    p.board_power(T0 + S, false);
    assert_eq!(p.phase(), Phase::Running);
    assert_eq!(heartbeats(&p.tick(T0 + 10 * S)), 1);
}

#[test]
fn without_a_link_the_pi_goes_quiet_once_in_a_while_so_the_board_says_hello() {
    let mut p = PowerProtocol::new(settings());
    p.start(T0);
    let mut quiet = 0;
    let mut beats = 0;
    for k in 1..=90 {
        let n = heartbeats(&p.tick(T0 + k * S));
        beats += n;
        if !p.heartbeating(T0 + k * S) {
            quiet += 1;
        }
    }
    assert!(quiet >= 15, "quiet for {quiet} s");
    assert!(beats >= 10, "{beats} heartbeats");
    // Once linked, never quiet.
    p.link_up(T0 + 91 * S);
    for k in 92..300 {
        p.tick(T0 + k * S);
        assert!(p.heartbeating(T0 + k * S));
    }
}
