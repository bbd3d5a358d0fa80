//! The I/O shell over embedded-io and embedded-hal: frames in and out of a fake UART, the
//! relay and override pins (embedded-hal-mock expectations, checked with `.done()`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::rc::Rc;

use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as T};
use vigil_esp32_power::sntp::NtpTimestamp;
use vigil_esp32_power::{Config, MemStorage, Shell, ShellError};
use vigil_wire::{encode_frame, Decoded, FrameDecoder, Header, Heartbeat, Message, Packet};

/// A UART whose receive side is a queue the test fills and whose transmit side is recorded;
/// clones share the same line.
#[derive(Clone, Default)]
struct FakeUart(Rc<RefCell<Line>>);

#[derive(Default)]
struct Line {
    rx: VecDeque<u8>,
    tx: Vec<u8>,
    fail_writes: bool,
}

#[derive(Debug)]
struct UartDown;
impl embedded_io::Error for UartDown {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::BrokenPipe
    }
}

impl embedded_io::ErrorType for FakeUart {
    type Error = UartDown;
}
impl embedded_io::Read for FakeUart {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartDown> {
        let mut l = self.0.borrow_mut();
        let n = buf.len().min(l.rx.len()).min(5); // a small FIFO: pieces
        for b in buf.iter_mut().take(n) {
            *b = l.rx.pop_front().unwrap_or(0);
        }
        Ok(n)
    }
}
impl embedded_io::ReadReady for FakeUart {
    fn read_ready(&mut self) -> Result<bool, UartDown> {
        Ok(!self.0.borrow().rx.is_empty())
    }
}
impl embedded_io::Write for FakeUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartDown> {
        let mut l = self.0.borrow_mut();
        if l.fail_writes {
            return Err(UartDown);
        }
        l.tx.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), UartDown> {
        Ok(())
    }
}

/// An output pin remembering its level; clones share it.
#[derive(Clone, Default)]
struct Relay(Rc<Cell<bool>>);
impl embedded_hal::digital::ErrorType for Relay {
    type Error = Infallible;
}
impl embedded_hal::digital::OutputPin for Relay {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0.set(true);
        Ok(())
    }
}

fn frames(bytes: &[u8]) -> Vec<Packet> {
    let mut d = FrameDecoder::<{ vigil_wire::MAX_ENCODED_LEN }>::new();
    let mut out = Vec::new();
    d.feed_all(bytes, |x| {
        if let Decoded::Packet(p) = x {
            out.push(p);
        }
    });
    out
}

fn frame(message: impl Into<Message>) -> Vec<u8> {
    let p = Packet::new(
        Header {
            device: 0,
            boot: 3,
            seq: 1,
        },
        message,
    );
    let mut buf = [0u8; vigil_wire::MAX_FRAME_LEN];
    let n = encode_frame(&p, &mut buf).expect("fits");
    buf[..n].to_vec()
}

type TestShell = Shell<MemStorage, FakeUart, Relay, PinMock>;

fn boot(uart: &FakeUart, relay: &Relay, ovr: &PinMock) -> Result<TestShell, ShellError> {
    Shell::boot(
        Config::default(),
        MemStorage::new(),
        uart.clone(),
        relay.clone(),
        ovr.clone(),
        true,
        0,
    )
}

#[test]
fn boot_says_hello_drives_the_relay_and_asks_for_time() {
    // given a fresh board; when the shell boots and polls once
    let (uart, relay) = (FakeUart::default(), Relay::default());
    let mut ovr = PinMock::new(&[T::get(State::High)]);
    let mut shell = boot(&uart, &relay, &ovr).expect("boot");
    let req = shell.poll(1_000, None).expect("poll");
    // then the Pi got a hello, the relay is low and an SNTP request is due
    let sent = frames(&uart.0.borrow().tx);
    assert!(matches!(sent[0].message, Message::Hello(_)));
    assert!(!relay.0.get());
    assert_eq!(req.expect("SNTP request at boot")[0], 0x23);
    ovr.done();
}

#[test]
fn frames_from_the_uart_reach_the_controller_through_noise() {
    let (uart, relay) = (FakeUart::default(), Relay::default());
    // override: released, then held (active low) for two polls
    let mut ovr = PinMock::new(&[T::get(State::High), T::get(State::Low), T::get(State::Low)]);
    let mut shell = boot(&uart, &relay, &ovr).expect("boot");
    shell.poll(0, None).expect("poll");
    // when garbage and then a heartbeat frame arrive (read in 5-byte pieces)
    {
        let mut l = uart.0.borrow_mut();
        l.rx.extend([0x13, 0x37, 0x00]);
        l.rx.extend(frame(Heartbeat { pi_utc_us: 5 }));
    }
    shell.poll(100_000, None).expect("poll");
    // then one reject was counted and the heartbeat brought the link up
    let st = shell.core().status(100_000);
    assert_eq!(st.rx_rejects, 1);
    assert!(st.connected);
    // and the override held past the debounce turned the relay on
    assert!(!relay.0.get());
    shell.poll(160_000, None).expect("poll");
    assert!(relay.0.get());
    ovr.done();
}

#[test]
fn an_sntp_reply_sets_the_clock_through_the_shell() {
    let (uart, relay) = (FakeUart::default(), Relay::default());
    let mut ovr = PinMock::new(&vec![T::get(State::High); 5]);
    let mut shell = boot(&uart, &relay, &ovr).expect("boot");
    let utc = 1_767_225_600_000_000i64;
    let mut now = 0;
    let mut req = shell.poll(now, None).expect("poll");
    // two agreeing replies, 8 s apart, set the clock
    for _ in 0..2 {
        let r = req.expect("request");
        let mut reply = [0u8; 48];
        reply[0] = 0x24;
        reply[1] = 1;
        reply[24..32].copy_from_slice(&r[40..48]);
        let ts = NtpTimestamp::from_utc_us(utc + now as i64).0.to_be_bytes();
        reply[32..40].copy_from_slice(&ts);
        reply[40..48].copy_from_slice(&ts);
        shell.poll(now, Some(&reply)).expect("poll");
        now += 8_000_000;
        req = shell.poll(now, None).expect("poll");
    }
    let got = shell.core().status(now).utc_us.expect("synced");
    assert!((got - (utc + now as i64)).abs() < 1_000);
    ovr.done();
}

#[test]
fn a_broken_uart_is_reported_not_panicked() {
    let (uart, relay) = (FakeUart::default(), Relay::default());
    uart.0.borrow_mut().fail_writes = true;
    let mut ovr = PinMock::new(&[]);
    let r = boot(&uart, &relay, &ovr);
    assert!(matches!(
        r.err(),
        Some(ShellError::Uart(embedded_io::ErrorKind::BrokenPipe))
    ));
    ovr.done();
}
