//! Async UDP on every backend: send_to / recv_from, connected sockets,
//! peek, the readiness methods, cancel safety, an ICMP refusal, option
//! passthroughs, abort freeing the socket, and a 10,000-datagram
//! ping-pong over loopback that tolerates no loss.

mod util;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use eddy_rt::net::UdpSocket;
use eddy_rt::time::timeout;
use eddy_rt::{spawn_local, yield_now};
use util::{fd_count, on_every_backend};

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn send_to_and_recv_from_keep_datagram_boundaries() {
    on_every_backend(|backend| async move {
        let a = UdpSocket::bind(any_port()).await.unwrap();
        let b = UdpSocket::bind(any_port()).await.unwrap();
        let to = b.local_addr().unwrap();
        assert_eq!(a.send_to(b"one", to).await.unwrap(), 3);
        assert_eq!(a.send_to(b"", to).await.unwrap(), 0);
        assert_eq!(a.send_to(b"three", to).await.unwrap(), 5);
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"one"[..], a.local_addr().unwrap()), "{backend:?}");
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(n, 0, "an empty datagram is a datagram ({backend:?})");
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"three");
    });
}

#[test]
fn connected_sockets_send_and_recv() {
    on_every_backend(|backend| async move {
        let a = UdpSocket::bind(any_port()).await.unwrap();
        let b = UdpSocket::bind(any_port()).await.unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        a.send(b"ping").await.unwrap();
        let mut buf = [0u8; 8];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ping", "{backend:?}");
        b.send(b"pong").await.unwrap();
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pong");
    });
}

#[test]
fn peek_and_peek_from_leave_the_datagram_queued() {
    on_every_backend(|backend| async move {
        let a = UdpSocket::bind(any_port()).await.unwrap();
        let b = UdpSocket::bind(any_port()).await.unwrap();
        a.send_to(b"peeked", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"peeked"[..], a.local_addr().unwrap()), "{backend:?}");
        let n = b.peek(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"peeked");
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"peeked");
        assert_eq!(b.try_recv(&mut buf).map_err(|e| e.kind()), Err(ErrorKind::WouldBlock), "taken once");
    });
}

#[test]
fn readable_then_try_recv_and_try_send() {
    on_every_backend(|backend| async move {
        let a = UdpSocket::bind(any_port()).await.unwrap();
        let b = UdpSocket::bind(any_port()).await.unwrap();
        let mut buf = [0u8; 8];
        // A fresh socket is "maybe ready"; the kernel says no.
        assert_eq!(b.try_recv_from(&mut buf).map_err(|e| e.kind()), Err(ErrorKind::WouldBlock));
        a.writable().await.unwrap();
        assert_eq!(a.try_send_to(b"abc", b.local_addr().unwrap()).unwrap(), 3);
        loop {
            b.readable().await.unwrap();
            match b.try_recv_from(&mut buf) {
                Ok((n, from)) => {
                    assert_eq!((&buf[..n], from), (&b"abc"[..], a.local_addr().unwrap()), "{backend:?}");
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue, // spurious
                Err(e) => panic!("{e}"),
            }
        }
        a.connect(b.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.try_send(b"xy").unwrap(), 2);
        b.readable().await.unwrap();
        let n = timeout(WAIT, b.recv(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], b"xy");
    });
}

/// A pending receive dropped before the datagram came loses nothing.
#[test]
fn a_dropped_pending_recv_then_a_new_recv_gets_the_datagram() {
    on_every_backend(|backend| async move {
        let a = UdpSocket::bind(any_port()).await.unwrap();
        let b = UdpSocket::bind(any_port()).await.unwrap();
        let mut buf = [0u8; 8];
        assert!(timeout(Duration::from_millis(20), b.recv_from(&mut buf)).await.is_err(), "nothing yet");
        a.send_to(b"late", b.local_addr().unwrap()).await.unwrap();
        let (n, _) = timeout(WAIT, b.recv_from(&mut buf)).await.expect("not lost").unwrap();
        assert_eq!(&buf[..n], b"late", "{backend:?}");
    });
}

/// A connected socket that sent to a closed port learns of the ICMP
/// port-unreachable on its next receive.
#[test]
fn a_connected_socket_sees_the_refusal() {
    on_every_backend(|backend| async move {
        let closed = std::net::UdpSocket::bind(any_port()).unwrap().local_addr().unwrap();
        let a = UdpSocket::bind(any_port()).await.unwrap();
        a.connect(closed).await.unwrap();
        a.send(b"anyone?").await.unwrap();
        let mut buf = [0u8; 8];
        let r = timeout(WAIT, a.recv(&mut buf)).await.expect("the refusal arrives");
        assert_eq!(r.map_err(|e| e.kind()), Err(ErrorKind::ConnectionRefused), "{backend:?}");
    });
}

#[test]
fn options_pass_through() {
    on_every_backend(|_| async move {
        let a = UdpSocket::bind(any_port()).await.unwrap();
        a.set_ttl(42).unwrap();
        assert_eq!(a.ttl().unwrap(), 42);
        a.set_broadcast(true).unwrap();
        assert!(a.broadcast().unwrap());
        a.set_multicast_ttl_v4(3).unwrap();
        assert_eq!(a.multicast_ttl_v4().unwrap(), 3);
        a.set_multicast_loop_v4(false).unwrap();
        assert!(!a.multicast_loop_v4().unwrap());
        assert!(a.take_error().unwrap().is_none());
        assert_eq!(a.peer_addr().map_err(|e| e.kind()).unwrap_err(), ErrorKind::NotConnected);
    });
}

#[test]
fn from_std_adopts_a_bound_socket() {
    on_every_backend(|_| async move {
        let std_sock = std::net::UdpSocket::bind(any_port()).unwrap();
        let addr = std_sock.local_addr().unwrap();
        let s = UdpSocket::from_std(std_sock).unwrap();
        assert_eq!(s.local_addr().unwrap(), addr);
        let peer = std::net::UdpSocket::bind(any_port()).unwrap();
        peer.send_to(b"std", addr).unwrap();
        let mut buf = [0u8; 4];
        let (n, _) = timeout(WAIT, s.recv_from(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], b"std");
    });
}

#[test]
fn outside_a_runtime_bind_is_a_clear_error() {
    let std_sock = std::net::UdpSocket::bind(any_port()).unwrap();
    let err = UdpSocket::from_std(std_sock).unwrap_err();
    assert!(err.to_string().contains("not inside"), "{err}");
}

#[test]
fn an_aborted_task_closes_and_deregisters_its_socket() {
    on_every_backend(|backend| async move {
        let before = fd_count();
        let receiver = spawn_local(async move {
            let s = UdpSocket::bind(any_port()).await.unwrap();
            let mut buf = [0u8; 1];
            let _ = s.recv_from(&mut buf).await;
        });
        yield_now().await;
        assert_eq!(fd_count(), before + 1, "the socket is open");
        receiver.abort();
        assert_eq!(fd_count(), before, "the socket is closed ({backend:?})");
    });
}

/// 10,000 datagrams bounced between two sockets on one loop, each awaited
/// before the next is sent: loopback loses none, and every wakeup comes.
#[test]
fn ten_thousand_datagrams_ping_pong_without_loss() {
    const ROUNDS: u32 = 10_000;
    on_every_backend(|backend| async move {
        let a = UdpSocket::bind(any_port()).await.unwrap();
        let b = Rc::new(UdpSocket::bind(any_port()).await.unwrap());
        a.connect(b.local_addr().unwrap()).await.unwrap();
        let echo = {
            let b = Rc::clone(&b);
            spawn_local(async move {
                let mut buf = [0u8; 64];
                for _ in 0..ROUNDS {
                    let (n, from) = b.recv_from(&mut buf).await.unwrap();
                    b.send_to(&buf[..n], from).await.unwrap();
                }
            })
        };
        let mut buf = [0u8; 64];
        for i in 0..ROUNDS {
            let msg = i.to_le_bytes();
            a.send(&msg).await.unwrap();
            let n = timeout(WAIT, a.recv(&mut buf)).await.expect("no datagram lost").unwrap();
            assert_eq!(&buf[..n], &msg, "round {i} ({backend:?})");
        }
        echo.await.unwrap();
    });
}
