//! Given/when/then tests of the link core: identity, exactly-once with acks after commit,
//! duplicates and replays, wrong device and role, wire rejects, outages.

use vigil_actors::link::{reason, LinkAction, LinkCore, LinkSpec};
use vigil_events::{BoardOrigin, DataClass, Envelope, Event, NewEvent, Source};
use vigil_wire::{
    encode_frame_to_vec, BoardRole, BoardTime, Detection, EventAck, FirmwareVersion, Header, Hello,
    Message, Packet, PicoConfig, ThermalClass, ThermalFrame,
};

const DEV: u32 = 0x501C00;

fn spec() -> LinkSpec {
    LinkSpec {
        board: Source::Pico,
        owner: Source::Classifier,
        role: BoardRole::Thermal,
        port: "test".into(),
        pi_boot: 9,
        on_link_up: vec![Message::PicoConfig(PicoConfig::default())],
    }
}

fn hello(device: u32, boot: u32, seq: u32, role: BoardRole) -> Packet {
    Packet::new(
        Header { device, boot, seq },
        Hello {
            role,
            protocol: 1,
            firmware: FirmwareVersion::default(),
            time: BoardTime::default(),
            uptime_ms: 5,
        },
    )
}

fn detection(device: u32, boot: u32, seq: u32, frame: u32) -> Packet {
    Packet::new(
        Header { device, boot, seq },
        Detection {
            frame,
            class: ThermalClass::Person,
            confidence_permille: 950,
            person_present: false,
            latency_us: 10,
        },
    )
}

fn bytes(p: &Packet) -> Vec<u8> {
    encode_frame_to_vec(p).expect("encodes")
}

fn appended(actions: &[LinkAction]) -> Vec<&NewEvent> {
    actions
        .iter()
        .filter_map(|a| match a {
            LinkAction::Append(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn acks(actions: &[LinkAction]) -> Vec<(u32, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            LinkAction::Send(Packet {
                message: Message::EventAck(EventAck { boot, seq }),
                ..
            }) => Some((*boot, *seq)),
            _ => None,
        })
        .collect()
}

fn committed(e: &NewEvent, seq: u64) -> Envelope {
    Envelope::unchained(seq, DataClass::General, e.clone())
}

/// A link that is open and has heard the board's hello.
fn given_up() -> LinkCore {
    let mut core = LinkCore::new(spec());
    assert!(core.opened(0).is_empty());
    let a = core.on_bytes(&bytes(&hello(DEV, 3, 1, BoardRole::Thermal)), 10);
    let ev = appended(&a);
    assert_eq!(ev.len(), 1);
    assert!(matches!(&ev[0].event, Event::LinkUp(u) if u.device == DEV && u.boot == 3));
    assert!(a.iter().any(|x| matches!(
        x,
        LinkAction::Send(Packet { message: Message::PicoConfig(_), header }) if header.device == DEV
    )));
    core
}

#[test]
fn board_event_is_appended_once_with_its_origin_and_acked_only_after_commit() {
    let mut core = given_up();
    let a = core.on_packet(detection(DEV, 3, 2, 1), 100);
    let ev = appended(&a);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].source, Source::Pico);
    assert_eq!(
        ev[0].origin,
        Some(BoardOrigin {
            device: DEV,
            boot: 3,
            seq: 2,
            device_ts: 100
        })
    );
    assert!(
        acks(&a).is_empty(),
        "no ack before the journal made it durable"
    );
    let event = ev[0].clone();

    // The board sends it again before the commit: dropped, counted, still no ack.
    let again = core.on_packet(detection(DEV, 3, 2, 1), 110);
    assert!(appended(&again).is_empty());
    assert!(acks(&again).is_empty());
    assert_eq!(core.counters().rejects.get(reason::DUPLICATE), Some(&1));

    // Durable: acked now.
    let a = core.on_committed(&committed(&event, 7));
    assert_eq!(acks(&a), vec![(3, 2)]);

    // Sent again after the ack (the ack was lost): dropped, and acked again at once.
    let again = core.on_packet(detection(DEV, 3, 2, 1), 120);
    assert!(appended(&again).is_empty());
    assert_eq!(acks(&again), vec![(3, 2)]);
    assert_eq!(core.counters().appended, 1);
}

#[test]
fn primed_from_the_log_a_resent_event_is_not_appended_again() {
    let mut core = LinkCore::new(spec());
    core.prime([BoardOrigin {
        device: DEV,
        boot: 3,
        seq: 2,
        device_ts: 0,
    }]);
    core.opened(0);
    core.on_packet(hello(DEV, 3, 1, BoardRole::Thermal), 1);
    let a = core.on_packet(detection(DEV, 3, 2, 1), 2);
    assert!(appended(&a).is_empty());
    assert_eq!(acks(&a), vec![(3, 2)]);
    let a = core.on_packet(detection(DEV, 3, 3, 2), 3);
    assert_eq!(appended(&a).len(), 1);
}

#[test]
fn another_device_id_than_the_hello_is_rejected_and_counted() {
    let mut core = given_up();
    assert!(appended(&core.on_packet(detection(DEV + 1, 3, 2, 1), 5)).is_empty());
    // A second hello claiming another device changes nothing.
    assert!(appended(&core.on_packet(hello(DEV + 1, 1, 1, BoardRole::Thermal), 6)).is_empty());
    assert_eq!(core.device(), Some(DEV));
    assert_eq!(core.counters().rejects.get(reason::WRONG_DEVICE), Some(&2));
}

#[test]
fn frames_before_hello_and_hellos_of_another_role_are_rejected() {
    let mut core = LinkCore::new(spec());
    core.opened(0);
    assert!(core.on_packet(detection(DEV, 3, 2, 1), 1).is_empty());
    assert!(core
        .on_packet(hello(DEV, 3, 1, BoardRole::Power), 1)
        .is_empty());
    let c = core.counters();
    assert_eq!(c.rejects.get(reason::NO_HELLO), Some(&1));
    assert_eq!(c.rejects.get(reason::WRONG_ROLE), Some(&1));
    assert_eq!(c.frames, 0);
    assert!(!core.is_up());
}

#[test]
fn replayed_control_frames_and_wrong_direction_are_counted() {
    let mut core = given_up();
    let ack = |seq| {
        Packet::new(
            Header {
                device: DEV,
                boot: 3,
                seq,
            },
            Message::PicoConfigAck(PicoConfig::default()),
        )
    };
    assert!(matches!(
        core.on_packet(ack(5), 1).as_slice(),
        [LinkAction::Forward(_)]
    ));
    assert!(core.on_packet(ack(5), 2).is_empty());
    assert!(core.on_packet(ack(4), 3).is_empty());
    let echo = Packet::new(
        Header {
            device: DEV,
            boot: 3,
            seq: 9,
        },
        Message::EventAck(EventAck { boot: 1, seq: 1 }),
    );
    assert!(core.on_packet(echo, 4).is_empty());
    let c = core.counters();
    assert_eq!(c.rejects.get(reason::REPLAYED), Some(&2));
    assert_eq!(c.rejects.get(reason::WRONG_DIRECTION), Some(&1));
}

#[test]
fn wire_rejects_are_counted_in_link_stats() {
    let mut core = given_up();
    let mut frame = bytes(&detection(DEV, 3, 2, 1));
    frame[3] ^= 0x40; // corrupt a byte inside the frame
    let mut input = b"\x01\x02garbage\x00".to_vec();
    input.extend_from_slice(&frame);
    input.extend(bytes(&detection(DEV, 3, 3, 2)));
    let a = core.on_bytes(&input, 5);
    assert_eq!(
        appended(&a).len(),
        1,
        "the intact frame after the garbage gets through"
    );
    let stats = core.stats(6);
    let Event::LinkStats(s) = &stats.event else {
        panic!("{stats:?}")
    };
    assert_eq!(s.rejects.values().sum::<u64>(), 2, "{:?}", s.rejects);
    assert_eq!(s.frames, 2);
    assert_eq!(stats.source, Source::Classifier);
}

#[test]
fn outage_records_one_link_down_then_link_up_when_the_board_speaks_again() {
    let mut core = given_up();
    let down = core.closed(50, "port vanished", 100);
    assert!(matches!(&appended(&down)[0].event, Event::LinkDown(d) if d.reason == "port vanished"));
    assert!(
        core.closed(60, "cannot open", 200).is_empty(),
        "one LinkDown per outage"
    );
    core.opened(70);
    // The board did not restart: its next frame brings the link up.
    let frame = Packet::new(
        Header {
            device: DEV,
            boot: 3,
            seq: 30,
        },
        ThermalFrame {
            frame: 4,
            centi_c: [2100; 768],
        },
    );
    let a = core.on_packet(frame, 80);
    let ev = appended(&a);
    assert!(matches!(&ev[0].event, Event::LinkUp(u) if u.boot == 3));
    assert!(
        matches!(&ev[1].event, Event::ThermalFrame(f) if f.frame == 4 && f.centi_c.len() == 768)
    );
    assert_eq!(core.counters().reconnects, 1);
}

#[test]
fn a_new_boot_is_a_board_restart_with_its_own_seqs() {
    let mut core = given_up();
    let first = appended(&core.on_packet(detection(DEV, 3, 2, 1), 1)).len();
    let a = core.on_packet(hello(DEV, 4, 1, BoardRole::Thermal), 2);
    assert!(matches!(&appended(&a)[0].event, Event::LinkUp(u) if u.boot == 4));
    // Same seq, new boot: a different event.
    assert_eq!(
        first + appended(&core.on_packet(detection(DEV, 4, 2, 1), 3)).len(),
        2
    );
}
