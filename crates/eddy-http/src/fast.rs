//! The fast path of head parsing: the common request shape, read eight
//! bytes at a time, in front of httparse.
//!
//! What it takes: a request line `token SP target SP HTTP/1.x CRLF`,
//! then `name ":" OWS value OWS CRLF` fields, then `CRLF`, all complete in
//! the buffer, with at most `slots` fields. Everything else (a bare LF, a
//! byte httparse refuses, a target that is not UTF-8, an incomplete head,
//! too many fields) returns `None`, and the caller parses with httparse,
//! which decides. It reports whether some field may frame the message
//! (its name is 6, 10, 14 or 17 bytes long); the caller then reads the
//! fields back from the validated block.
//!
//! Invariant, which the differential tests below check against httparse
//! itself on generated and mutated heads: when this returns `Some`,
//! httparse (with the default request configuration, which is what
//! [`head`](crate::head) uses) returns `Complete` for the same bytes with
//! the same method, target, version, length and field values. The byte
//! classes are httparse's: `tchar` for the method and field names, the
//! target's `0x21..=0x7E` and `0x80..` (valid UTF-8, as httparse
//! requires), a value's HTAB, `0x20..=0x7E` and `0x80..`; values lose
//! leading and trailing spaces and tabs, as in httparse.
//!
//! Costs: the target and each value are scanned a word at a time (one
//! subtract-and-mask finds the first byte below 0x21 or 0x20, another the
//! first DEL), method and names byte by byte through a table; `GET` and
//! `/` are constants, so the commonest line needs no UTF-8 check. wrk's
//! `GET / HTTP/1.1` with one `Host` field costs about 220 instructions
//! (callgrind), where httparse took about 450. No allocation, no unsafe.

/// A head the fast path parsed.
#[derive(Debug)]
pub(crate) struct Parsed<'b> {
    pub(crate) method: &'b str,
    pub(crate) path: &'b str,
    pub(crate) version: u8,
    /// Bytes of the whole head, request line to the final CRLF.
    pub(crate) len: usize,
    /// Some field's name is 6, 10, 14 or 17 bytes long: the framing
    /// analysis must look at the fields.
    pub(crate) framing: bool,
    /// The `Host` field lines seen (the server's Host check needs no
    /// second pass over the fields).
    pub(crate) host: HostSeen,
}

/// The `Host` field lines of a head, as the fast path saw them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostSeen {
    /// None.
    Absent,
    /// One, its raw value (the whitespace around it included) at
    /// `buf[start..end]`.
    One { start: usize, end: usize },
    /// More than one.
    Many,
}

impl Parsed<'_> {
    /// Length of the request line without its CRLF.
    pub(crate) fn line_len(&self) -> usize {
        crate::head::request_line_len(self.method, self.path)
    }

    /// The field block: after the request line's CRLF, to the end of the
    /// head (the final CRLF included).
    pub(crate) fn fields<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        buf.get(self.line_len() + 2..self.len).unwrap_or_default()
    }
}

/// `tchar` (RFC 9110 §5.6.2), the class httparse uses for methods and
/// field names.
static TCHAR: [bool; 256] = {
    let mut map = [false; 256];
    let mut b = 0;
    while b < 256 {
        map[b] = matches!(b as u8, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9'
            | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
            | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~');
        b += 1;
    }
    map
};

const HOST: u32 = u32::from_le_bytes(*b"host");
const HTTP_1_1: u64 = u64::from_le_bytes(*b"HTTP/1.1");
const HTTP_1_0: u64 = u64::from_le_bytes(*b"HTTP/1.0");
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `x` below `n` (`n` ≤ 0x80). Bytes above
/// the first flagged one may be flagged wrongly (a borrow runs upward), so
/// only the lowest flag is meaningful: it is always right.
#[inline(always)]
fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS
}

/// The high bit of every byte of `x` equal to 0x7F (lowest flag exact).
#[inline(always)]
fn del(x: u64) -> u64 {
    let y = x ^ (ONES * 0x7F);
    y.wrapping_sub(ONES) & !y & HIGHS
}

/// Index of the first byte of `buf[from..]` that is below `n` or DEL,
/// or `None` if there is none.
#[inline(always)]
fn first_stop(buf: &[u8], from: usize, n: u8) -> Option<usize> {
    let mut words = buf.get(from..)?.chunks_exact(8);
    let mut at = from;
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().ok()?);
        let hits = below(x, n) | del(x);
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words.remainder().iter().position(|&b| b < n || b == 0x7F).map(|i| at + i)
}

/// Length of the run of `tchar` bytes at `buf[from..]`.
#[inline(always)]
fn token_len(buf: &[u8], from: usize) -> usize {
    buf.get(from..).map_or(0, |tail| tail.iter().take_while(|&&b| TCHAR[usize::from(b)]).count())
}

/// Parses the head at the start of `buf` if it has the common shape (see
/// the module docs); `None` leaves the decision to httparse.
#[inline]
pub(crate) fn parse(buf: &[u8], slots: usize) -> Option<Parsed<'_>> {
    // Request line: method SP target SP version CRLF. The commonest
    // method and target are constants: no UTF-8 check for them.
    let (method, target) = if buf.starts_with(b"GET ") {
        ("GET", 4)
    } else {
        let len = token_len(buf, 0);
        if len == 0 || buf.get(len) != Some(&b' ') {
            return None;
        }
        // A token is ASCII: this check cannot fail.
        (std::str::from_utf8(buf.get(..len)?).ok()?, len + 1)
    };
    let target_end = first_stop(buf, target, 0x21)?;
    if target_end == target || buf.get(target_end) != Some(&b' ') {
        return None;
    }
    let path = match buf.get(target..target_end)? {
        b"/" => "/",
        // httparse refuses a target that is not UTF-8.
        bytes => std::str::from_utf8(bytes).ok()?,
    };
    // "HTTP/1.x" as one word, then CR LF.
    let version = buf.get(target_end + 1..)?.first_chunk::<10>()?;
    let (word, crlf) = version.split_at(8);
    let version = match u64::from_le_bytes(word.try_into().ok()?) {
        HTTP_1_1 => 1,
        HTTP_1_0 => 0,
        _ => return None,
    };
    if crlf != b"\r\n" {
        return None;
    }

    let mut framing = false;
    let mut host = HostSeen::Absent;
    let mut at = target_end + 11;
    let mut fields = 0;
    loop {
        if let [b'\r', b'\n', ..] = buf.get(at..)? {
            return Some(Parsed { method, path, version, len: at + 2, framing, host });
        }
        let name_len = token_len(buf, at);
        if name_len == 0 || buf.get(at + name_len) != Some(&b':') {
            return None;
        }
        framing |= matches!(name_len, 6 | 10 | 14 | 17);
        let mut end = at + name_len + 1;
        // The value (with the whitespace around it) runs to the first
        // control byte that is not HTAB, or DEL; that must be CR LF.
        loop {
            end = first_stop(buf, end, 0x20)?;
            if buf.get(end) != Some(&b'\t') {
                break;
            }
            end += 1;
        }
        if buf.get(end..)?.first_chunk::<2>()? != b"\r\n" {
            return None;
        }
        // "host" in any case: a name is tchar, so OR-ing in 0x20 folds
        // only the letters.
        if name_len == 4
            && buf.get(at..)?.first_chunk::<4>().map(|n| u32::from_le_bytes(*n) | 0x2020_2020) == Some(HOST)
        {
            host = match host {
                HostSeen::Absent => HostSeen::One { start: at + 5, end },
                _ => HostSeen::Many,
            };
        }
        fields += 1;
        if fields > slots {
            return None;
        }
        at = end + 2;
    }
}

#[cfg(test)]
mod tests {
    use std::mem::MaybeUninit;

    use proptest::prelude::*;

    use super::*;

    /// What httparse makes of `buf`, in the fast path's terms.
    #[allow(clippy::type_complexity)]
    fn httparse_view(buf: &[u8], slots: usize) -> Option<(String, String, u8, usize, Vec<(Vec<u8>, Vec<u8>)>)> {
        let mut headers = vec![MaybeUninit::uninit(); slots];
        let mut req = httparse::Request::new(&mut []);
        match req.parse_with_uninit_headers(buf, &mut headers) {
            Ok(httparse::Status::Complete(len)) => Some((
                req.method?.to_owned(),
                req.path?.to_owned(),
                req.version?,
                len,
                req.headers.iter().map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec())).collect(),
            )),
            _ => None,
        }
    }

    /// The invariant: whatever the fast path accepts, httparse accepts
    /// the same way, and the fields read back from the block (as the
    /// framing analysis and `Request::headers` do) are httparse's.
    fn agrees(buf: &[u8], slots: usize) -> Result<bool, TestCaseError> {
        let Some(fast) = parse(buf, slots) else { return Ok(false) };
        let Some((method, path, version, len, fields)) = httparse_view(buf, slots) else {
            return Err(TestCaseError::fail(format!("fast path accepted what httparse refuses: {buf:?}")));
        };
        prop_assert_eq!(fast.method, method);
        prop_assert_eq!(fast.path, path);
        prop_assert_eq!(fast.version, version);
        prop_assert_eq!(fast.len, len);
        prop_assert_eq!(fast.framing, fields.iter().any(|(n, _)| matches!(n.len(), 6 | 10 | 14 | 17)));
        let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or_default();
        let block = &buf[line_end + 1..fast.len];
        let read_back: Vec<(Vec<u8>, Vec<u8>)> =
            crate::request::HeaderIter::new(block).map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec())).collect();
        prop_assert_eq!(&read_back, &fields);
        // The Host lines noted on the way agree with httparse's fields.
        let hosts: Vec<&Vec<u8>> =
            fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(b"host")).map(|(_, v)| v).collect();
        match (fast.host, hosts.as_slice()) {
            (HostSeen::Absent, []) | (HostSeen::Many, [_, _, ..]) => {}
            (HostSeen::One { start, end }, [v]) => prop_assert_eq!(buf[start..end].trim_ascii(), v.trim_ascii()),
            (seen, all) => return Err(TestCaseError::fail(format!("host {seen:?} against {all:?}"))),
        }
        Ok(true)
    }

    #[test]
    fn takes_the_requests_of_common_clients() {
        for raw in [
            &b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"[..], // wrk
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
            b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: 127.0.0.1:8080\r\nUser-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
            b"GET /a?b=c HTTP/1.1\r\nX: \t v\t1 \t\r\nEmpty:\r\n\r\n",
        ] {
            assert!(agrees(raw, 64).unwrap(), "{:?}", String::from_utf8_lossy(raw));
        }
        let p = parse(b"GET /x HTTP/1.1\r\nConnection:  close \r\n\r\nrest", 64).unwrap();
        assert_eq!((p.method, p.path, p.version, p.len, p.framing), ("GET", "/x", 1, 40, true));
        let p = parse(b"PUT / HTTP/1.0\r\nHost: x\r\n\r\n", 64).unwrap();
        assert_eq!((p.method, p.path, p.version, p.len, p.framing), ("PUT", "/", 0, 27, false));
    }

    #[test]
    fn leaves_the_rest_to_httparse() {
        for (raw, slots) in [
            (&b"GET / HTTP/1.1\nHost: x\n\n"[..], 64),      // bare LF
            (b"GET / HTTP/1.1\r\nHost: x\r\n", 64),         // incomplete
            (b"GET /\xc3 HTTP/1.1\r\n\r\n", 64),            // target not UTF-8
            (b"GET  / HTTP/1.1\r\n\r\n", 64),               // two spaces
            (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 64),    // space before colon
            (b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", 64),   // control byte
            (b"GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n", 64),   // DEL
            (b"GET / HTTP/2.0\r\n\r\n", 64),                // version
            (b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", 1), // more fields than slots
        ] {
            assert!(parse(raw, slots).is_none(), "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn word_scan_finds_the_first_stop_byte() {
        // Every position of every stop byte, behind every kind of byte.
        for len in 0..20 {
            for stop in [0u8, b'\t', b'\r', 0x1f, b' ', 0x7f] {
                for fill in [b'a', b'~', 0x80, 0xff, b' ', b'!'] {
                    let mut buf = vec![fill; len];
                    buf.push(stop);
                    buf.extend_from_slice(&[0, 0x7f, b'\r', 0x80, 0xff, 0, 0, 0]);
                    let expect = buf.iter().position(|&b| b < 0x21 || b == 0x7f);
                    assert_eq!(first_stop(&buf, 0, 0x21), expect, "{buf:?}");
                    let expect = buf.iter().position(|&b| b < 0x20 || b == 0x7f);
                    assert_eq!(first_stop(&buf, 0, 0x20), expect, "{buf:?}");
                }
            }
        }
    }

    /// Heads built from the grammar's pieces, valid and not.
    fn head() -> impl Strategy<Value = Vec<u8>> {
        let method = prop_oneof![4 => Just("GET".to_owned()), 2 => Just("POST".to_owned()), 3 => "[A-Za-z!#~|.-]{0,7}"];
        let target = prop_oneof![
            3 => Just("/".to_owned()),
            4 => "/[!-~]{0,30}",
            1 => "[ -\u{7f}]{0,12}",
            2 => "/\\PC{0,6}",
        ];
        let version = prop_oneof![
            6 => Just("HTTP/1.1\r\n".to_owned()),
            3 => Just("HTTP/1.0\r\n".to_owned()),
            1 => Just("HTTP/1.1\n".to_owned()),
            1 => "HTTP/[0-9.]{1,4}\r?\n?",
        ];
        let name = prop_oneof![
            2 => Just("Host".to_owned()),
            1 => Just("Connection".to_owned()),
            1 => Just("Content-Length".to_owned()),
            1 => Just("Transfer-Encoding".to_owned()),
            1 => Just("Expect".to_owned()),
            3 => "[A-Za-z0-9!#$%&'*+.^_`|~-]{0,18}",
            1 => "[ -~]{0,6}",
        ];
        let value = prop_oneof![
            6 => "[ \t]{0,2}[!-~]{0,24}[ \t]{0,2}",
            3 => "[\t -~]{0,30}",
            1 => prop::collection::vec(any::<u8>(), 0..20).prop_map(|v| String::from_utf8_lossy(&v).into_owned()),
            1 => prop::collection::vec(0x80u8..=0xff, 0..4).prop_map(|v| v.into_iter().map(char::from).collect()),
        ];
        let line_end = prop_oneof![30 => Just("\r\n"), 1 => Just("\n"), 1 => Just("\r"), 1 => Just("")];
        let colon = prop_oneof![8 => Just(":"), 8 => Just(": "), 1 => Just(" :"), 1 => Just("")];
        let field = (name, colon, value, line_end).prop_map(|(n, c, v, e)| format!("{n}{c}{v}{e}"));
        (
            method,
            prop_oneof![20 => Just(" "), 1 => Just("  "), 1 => Just("\t")],
            target,
            prop_oneof![20 => Just(" "), 1 => Just("")],
            version,
            prop::collection::vec(field, 0..7),
            prop_oneof![20 => Just("\r\n"), 1 => Just("\n"), 1 => Just("")],
        )
            .prop_map(|(m, s1, t, s2, v, fields, end)| {
                format!("{m}{s1}{t}{s2}{v}{}{end}", fields.concat()).into_bytes()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn never_disagrees_with_httparse(raw in head(), slots in 0usize..8) {
            agrees(&raw, slots)?;
        }

        #[test]
        fn never_disagrees_after_a_byte_changes(raw in head(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
            let mut raw = raw;
            if !raw.is_empty() {
                let i = at.index(raw.len());
                raw[i] = byte;
                raw.truncate(cut.index(raw.len()) + 1);
            }
            agrees(&raw, 64)?;
        }
    }

    #[test]
    fn the_generator_reaches_accepted_heads() {
        // The differential tests are only as good as the share of heads the
        // fast path accepts: make sure it is not near zero.
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let strategy = head();
        let accepted =
            (0..2000).filter(|_| parse(&strategy.new_tree(&mut runner).unwrap().current(), 64).is_some()).count();
        assert!(accepted > 400, "only {accepted} of 2000 generated heads take the fast path");
    }
}
