//! The Pico's side of the protocol: hello, settings, frame modes, acks, silence.

use std::time::Duration;

use vigil_pico_thermal::{DetectionOut, ThermalClass};
use vigil_sim::PicoProtocol;
use vigil_wire::{EventAck, FrameMode, Header, Heartbeat, Message, Packet, PicoConfig};

const DEV: u32 = 77;

fn proto() -> PicoProtocol {
    PicoProtocol::new(DEV, 4, PicoConfig::default(), Duration::from_secs(1))
}

fn from_pi(device: u32, m: impl Into<Message>) -> Packet {
    Packet::new(
        Header {
            device,
            boot: 1,
            seq: 1,
        },
        m,
    )
}

fn det(class: ThermalClass, present: bool) -> DetectionOut {
    DetectionOut {
        frame: 1,
        class,
        confidence_permille: 950,
        person_present: present,
        changed: false,
    }
}

#[test]
fn hello_then_the_settings_in_force_with_increasing_seqs() {
    let mut p = proto();
    let out = p.hello(0, 0);
    assert!(matches!(out[0].message, Message::Hello(_)));
    assert_eq!(
        out[1].message,
        Message::PicoConfigAck(PicoConfig::default())
    );
    assert_eq!((out[0].header.seq, out[1].header.seq), (1, 2));
    assert!(out
        .iter()
        .all(|p| p.header.device == DEV && p.header.boot == 4));
}

#[test]
fn a_heartbeat_after_silence_gets_a_new_hello() {
    let mut p = proto();
    let hb = from_pi(0, Heartbeat { pi_utc_us: 5 });
    assert_eq!(
        p.on_packet(&hb, 0, 0, 0).replies.len(),
        2,
        "first Pi frame ever"
    );
    assert!(p.on_packet(&hb, 500_000, 0, 0).replies.is_empty());
    assert_eq!(
        p.on_packet(&hb, 2_000_000, 0, 0).replies.len(),
        2,
        "after 1.5 s of silence"
    );
    p.line_reset();
    assert_eq!(
        p.on_packet(&hb, 2_100_000, 0, 0).replies.len(),
        2,
        "after a replug"
    );
}

#[test]
fn settings_are_acked_and_a_new_rule_reconfigures_the_core() {
    let mut p = proto();
    let same = from_pi(DEV, Message::PicoConfig(PicoConfig::default()));
    let r = p.on_packet(&same, 0, 0, 0);
    assert_eq!(r.reconfigure, None);
    assert_eq!(
        r.replies[0].message,
        Message::PicoConfigAck(PicoConfig::default())
    );
    let new = PicoConfig {
        threshold_permille: 600,
        hysteresis_frames: 2,
        frame_mode: FrameMode::Off,
    };
    let r = p.on_packet(&from_pi(0, Message::PicoConfig(new)), 1, 0, 0);
    assert_eq!(r.reconfigure, Some(new));
    assert_eq!(p.settings(), new);
    // Another board's settings and Pi-bound kinds are not for us.
    p.on_packet(
        &from_pi(DEV + 1, Message::PicoConfig(PicoConfig::default())),
        2,
        0,
        0,
    );
    assert_eq!(p.settings(), new);
    assert_eq!(p.rx_rejects(), 1);
    p.on_packet(&from_pi(DEV, EventAck { boot: 4, seq: 9 }), 3, 0, 0);
    assert_eq!(p.acked(), Some((4, 9)));
}

#[test]
fn frame_modes_decide_which_frames_go_out() {
    let frame = [2000i16; 768];
    let kinds = |out: Vec<Packet>| {
        out.iter()
            .map(|p| p.message.kind().name())
            .collect::<Vec<_>>()
    };
    let mut p = proto();
    assert_eq!(
        kinds(p.on_frame(1, &frame, &det(ThermalClass::Background, false), 10)),
        ["thermal_frame", "detection"]
    );
    let set = |mode| {
        let mut p = proto();
        p.on_packet(
            &from_pi(
                0,
                Message::PicoConfig(PicoConfig {
                    frame_mode: mode,
                    ..PicoConfig::default()
                }),
            ),
            0,
            0,
            0,
        );
        p
    };
    let mut p = set(FrameMode::OnChange);
    assert_eq!(
        kinds(p.on_frame(1, &frame, &det(ThermalClass::Background, false), 10)).len(),
        2
    );
    assert_eq!(
        kinds(p.on_frame(2, &frame, &det(ThermalClass::Background, false), 10)),
        ["detection"]
    );
    assert_eq!(
        kinds(p.on_frame(3, &frame, &det(ThermalClass::Person, false), 10)).len(),
        2
    );
    assert_eq!(
        kinds(p.on_frame(4, &frame, &det(ThermalClass::Person, true), 10)).len(),
        2
    );
    let mut p = set(FrameMode::Off);
    assert_eq!(
        kinds(p.on_frame(1, &frame, &det(ThermalClass::Person, true), 10)),
        ["detection"]
    );
}
