//! TCP states from `/proc/net/tcp` and `/proc/net/tcp6`.
//!
//! Each line is one socket: `sl local rem st tx_queue:rx_queue ...`, with
//! addresses as `ADDR:PORT` in hex (the address as the kernel's 32-bit
//! words printed in host byte order, the port as a number). For a connected
//! socket `rx_queue` is the bytes received and not yet read (the FIN counts
//! one); for a listener it is the number of connections waiting in the
//! accept queue. TIME_WAIT sockets are listed too.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One socket's line.
#[derive(Clone, Debug)]
pub(crate) struct TcpRow {
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    /// The kernel's state number (`st`): 0x01 ESTABLISHED ... 0x0A LISTEN.
    pub(crate) state: u8,
    pub(crate) tx_queue: u32,
    pub(crate) rx_queue: u32,
}

pub(crate) const CLOSE_WAIT: u8 = 0x08;
pub(crate) const LISTEN: u8 = 0x0A;

/// The name `ss` and `netstat` give a state number.
pub(crate) fn state_name(state: u8) -> &'static str {
    match state {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        0x0C => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

impl TcpRow {
    /// For a person: `CLOSE_WAIT (rx_queue 9, tx_queue 0)`.
    pub(crate) fn describe(&self) -> String {
        format!("{} (rx_queue {}, tx_queue {})", state_name(self.state), self.rx_queue, self.tx_queue)
    }
}

fn parse_addr(field: &str) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok()?;
                chunk.copy_from_slice(&word.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn parse_line(line: &str) -> Option<TcpRow> {
    let mut f = line.split_whitespace();
    let _slot = f.next()?;
    let local = parse_addr(f.next()?)?;
    let remote = parse_addr(f.next()?)?;
    let state = u8::from_str_radix(f.next()?, 16).ok()?;
    let (tx, rx) = f.next()?.split_once(':')?;
    Some(TcpRow {
        local,
        remote,
        state,
        tx_queue: u32::from_str_radix(tx, 16).ok()?,
        rx_queue: u32::from_str_radix(rx, 16).ok()?,
    })
}

/// Every TCP socket of the network namespace of one family (IPv6 or not).
/// Each read walks the kernel's whole connection hash table, which takes
/// tens of milliseconds on a machine with a large one: read once, look up
/// many.
///
/// # Errors
///
/// `/proc/net/tcp` cannot be read (no procfs).
pub(crate) fn rows(v6: bool) -> io::Result<Vec<TcpRow>> {
    let path = if v6 { "/proc/net/tcp6" } else { "/proc/net/tcp" };
    Ok(std::fs::read_to_string(path)?.lines().skip(1).filter_map(parse_line).collect())
}

/// The socket bound to `local` and connected to `remote` in `rows`.
pub(crate) fn find(rows: &[TcpRow], local: SocketAddr, remote: SocketAddr) -> Option<TcpRow> {
    rows.iter().find(|r| r.local == local && r.remote == remote).cloned()
}

/// The listening socket on `local`.
///
/// # Errors
///
/// As [`rows`].
pub(crate) fn listener(local: SocketAddr) -> io::Result<Option<TcpRow>> {
    Ok(rows(local.is_ipv6())?.into_iter().find(|r| r.local == local && r.state == LISTEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_proc_line() {
        let line = "   3: 0100007F:1F90 0100007F:C350 08 00000000:00000009 00:00000000 00000000  1000  0 1 1";
        let row = parse_line(line).expect("a valid line");
        assert_eq!(row.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(row.remote, "127.0.0.1:50000".parse().unwrap());
        assert_eq!(state_name(row.state), "CLOSE_WAIT");
        assert_eq!(row.rx_queue, 9);
    }
}
