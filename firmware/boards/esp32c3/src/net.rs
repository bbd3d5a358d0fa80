//! Wi-Fi station and one UDP socket for SNTP (esp-radio + smoltcp via blocking-network-stack).
//! Credentials and the server come from the build environment: `SSID`, `PASSWORD`,
//! `NTP_SERVER` (an IPv4 address; a pool name would need DNS, which this board does without).

use blocking_network_stack::{Stack, UdpSocket};
use esp_hal::peripherals::{TIMG0, WIFI};
use esp_hal::rng::Rng;
use esp_hal::time::Instant;
use esp_radio::wifi::{ClientConfig, ModeConfig};
use smoltcp::iface::{SocketSet, SocketStorage};
use smoltcp::socket::udp::PacketMetadata;
use smoltcp::wire::{IpAddress, Ipv4Address};

extern crate alloc;
use alloc::boxed::Box;

/// The SNTP client's transport: sends a request, hands back a reply when one came.
pub struct Sntp {
    socket: UdpSocket<'static, 'static, esp_radio::wifi::WifiDevice<'static>>,
    server: IpAddress,
}

impl Sntp {
    /// Joins the Wi-Fi network (DHCP) and opens UDP port 123. Does not wait for the link:
    /// until it is up, requests are dropped and the core retries with backoff.
    pub fn start(wifi: WIFI<'static>, timg0: TIMG0<'static>) -> Self {
        esp_alloc::heap_allocator!(size: 72 * 1024);
        let timg0 = esp_hal::timer::timg::TimerGroup::new(timg0);
        esp_radio::init_scheduler(timg0.timer0);
        let radio = Box::leak(Box::new(esp_radio::init().expect("radio starts")));
        let (mut ctl, ifaces) =
            esp_radio::wifi::new(radio, wifi, Default::default()).expect("wifi starts");
        let mut device = ifaces.sta;
        let iface = blocking_network_stack::create_interface(&mut device);
        let sockets = Box::leak(Box::new([SocketStorage::EMPTY; 3]));
        let mut set = SocketSet::new(&mut sockets[..]);
        set.add(smoltcp::socket::dhcpv4::Socket::new());
        let now = || Instant::now().duration_since_epoch().as_millis();
        let stack = Box::leak(Box::new(Stack::new(
            iface,
            device,
            set,
            now,
            Rng::new().random(),
        )));
        let mode = ModeConfig::Client(
            ClientConfig::default()
                .with_ssid(env!("SSID").into())
                .with_password(env!("PASSWORD").into()),
        );
        let _ = ctl.set_config(&mode);
        let _ = ctl.start();
        let _ = ctl.connect();
        core::mem::forget(ctl); // keeps the connection for the life of the program
        let rx_meta = Box::leak(Box::new([PacketMetadata::EMPTY; 2]));
        let tx_meta = Box::leak(Box::new([PacketMetadata::EMPTY; 2]));
        let rx = Box::leak(Box::new([0u8; 256]));
        let tx = Box::leak(Box::new([0u8; 256]));
        let mut socket = stack.get_udp_socket(rx_meta, rx, tx_meta, tx);
        let _ = socket.bind(123);
        let server: Ipv4Address = env!("NTP_SERVER")
            .parse()
            .expect("NTP_SERVER is an IPv4 address");
        Sntp {
            socket,
            server: IpAddress::Ipv4(server),
        }
    }

    /// Sends one SNTP request (dropped silently while the network is down).
    pub fn send(&mut self, request: &[u8; 48]) {
        let _ = self.socket.send(self.server, 123, request);
    }

    /// Runs the network stack; returns a datagram from the server, if one arrived.
    pub fn poll(&mut self) -> Option<heapless::Vec<u8, 68>> {
        self.socket.work();
        let mut buf = [0u8; 68];
        match self.socket.receive(&mut buf) {
            Ok((n, from, 123)) if from == self.server => heapless::Vec::from_slice(&buf[..n]).ok(),
            _ => None,
        }
    }
}
