//! A decoded request: borrowed from the input where it can be, owned where
//! it must be.
//!
//! A request whose body is framed by `Content-Length` (or has no body) is
//! entirely borrowed from the caller's buffer: method, target, header
//! fields and body are slices of it, nothing is copied or allocated. A
//! chunked request is decoded over several reads while the caller drops
//! the bytes it has consumed, so its head is copied when the head is
//! parsed and its body is collected in a `Vec`; the `Cow`s and [`Body`]
//! say which case a request is. Trailers are borrowed from the final read.
//!
//! Header fields are kept as the raw, already validated field block and
//! looked up by scanning it: a lookup costs a pass over the head (a few
//! dozen bytes for a typical request), and a request the server never asks
//! about costs nothing. Keeping parsed slots instead would make every
//! `Request` carry (and copy) a `max_headers`-sized array.

use std::borrow::Cow;
use std::ops::Deref;

use crate::error::{self, HttpError};
use crate::scan;

/// A complete request, as returned by [`Decoder::decode`](crate::Decoder::decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'b> {
    /// Method, e.g. `GET` (case-sensitive, as sent).
    pub method: Cow<'b, str>,
    /// Request target, e.g. `/index.html?x=1`, as sent.
    pub path: Cow<'b, str>,
    /// Minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Header fields, in order, names case-insensitive.
    pub headers: Headers<'b>,
    /// The body, framing removed (empty when there is none).
    pub body: Body<'b>,
    /// Trailer fields of a chunked body (empty otherwise).
    pub trailers: Headers<'b>,
    /// Whether the connection stays open after the response: HTTP/1.1
    /// unless `Connection: close`; HTTP/1.0 only with `Connection:
    /// keep-alive` (and then the response must say so; [`ResponseHead`]
    /// does). Already decided: pass it on.
    ///
    /// [`ResponseHead`]: crate::ResponseHead
    pub keep_alive: bool,
    /// The method is `HEAD`: answer with the headers (and the
    /// `Content-Length`) a `GET` would get, without the body.
    pub is_head: bool,
    /// An HTTP/1.1 request carried `Expect: 100-continue` (the decoder
    /// already said when to send [`CONTINUE`](crate::CONTINUE)).
    pub expects_continue: bool,
    /// The `Host` lines, when the parser noted them.
    pub(crate) host: HostField,
}

/// The `Host` field lines of a request, as far as the parser noted them,
/// in 4 bytes (so a request is no larger for it): what was seen, and for
/// one line, where its raw value (the whitespace around it included) is in
/// the field block.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HostField {
    kind: HostKind,
    len: u8,
    start: u16,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum HostKind {
    /// Not noted: [`Request::check_host`] reads the fields.
    #[default]
    Unknown,
    /// No `Host` line.
    Absent,
    /// One, at `start..start + len` of the field block.
    One,
    /// More than one.
    Many,
}

impl HostField {
    pub(crate) const UNKNOWN: HostField = HostField { kind: HostKind::Unknown, len: 0, start: 0 };
    pub(crate) const ABSENT: HostField = HostField { kind: HostKind::Absent, len: 0, start: 0 };
    pub(crate) const MANY: HostField = HostField { kind: HostKind::Many, len: 0, start: 0 };

    /// One line whose raw value is at `start..end` of the field block
    /// (not noted if it does not fit in the 4 bytes).
    pub(crate) fn one(start: usize, end: usize) -> HostField {
        match (u16::try_from(start), u8::try_from(end.saturating_sub(start))) {
            (Ok(start), Ok(len)) => HostField { kind: HostKind::One, len, start },
            _ => HostField::UNKNOWN,
        }
    }
}

/// The last `Host` value that passed the checks, shared by the requests
/// of one loop ([`Request::check_host_cached`]): clients send the same
/// `Host` on every request, so the value's bytes are compared, not
/// classified again.
#[derive(Clone, Debug, Default)]
pub struct HostCache {
    last: Vec<u8>,
}

impl HostCache {
    /// An empty cache.
    pub fn new() -> HostCache {
        HostCache::default()
    }
}

/// `a == b`, eight bytes at a time (host values are short: a call to
/// `memcmp` would cost more than the comparison).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    let words = x.by_ref().zip(y.by_ref()).all(|(p, q)| p == q);
    words && x.remainder() == y.remainder()
}

/// Values longer than this are checked but not cached.
const HOST_CACHE_MAX: usize = 255;

/// What the parser noted is derived from the fields, which the request's
/// equality compares: two requests are equal whether or not it was noted.
impl PartialEq for HostField {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for HostField {}

impl Request<'_> {
    /// The value of the first header field named `name` (ASCII
    /// case-insensitive), without surrounding whitespace.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// The `Host` checks a server must make (RFC 9112 §3.2): an HTTP/1.1
    /// request without `Host`, any request with more than one `Host` field
    /// line, and a `Host` whose value is not `uri-host [ ":" port ]` (RFC
    /// 3986: a registered name, an IPv4 address or a bracketed IP literal;
    /// an empty value is allowed) get 400. The decoder leaves this to the
    /// server (a request without `Host` decodes): call it on every request.
    ///
    /// Costs: nothing more than the value's bytes through a table when the
    /// decoder's fast path parsed the head (it notes the `Host` lines as it
    /// goes); otherwise one pass over the field block first.
    ///
    /// # Errors
    ///
    /// 400 with a reason that says which check failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use eddy_http::{Decoded, Decoder, Limits};
    ///
    /// let host = |raw: &[u8]| match Decoder::new().decode(raw, &Limits::default()) {
    ///     Ok(Decoded::Request { request, .. }) => request.check_host().map_err(|e| e.status),
    ///     other => panic!("{other:?}"),
    /// };
    /// assert_eq!(host(b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"), Ok(()));
    /// assert_eq!(host(b"GET / HTTP/1.0\r\n\r\n"), Ok(()));
    /// assert_eq!(host(b"GET / HTTP/1.1\r\n\r\n"), Err(400));
    /// assert_eq!(host(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), Err(400));
    /// assert_eq!(host(b"GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n"), Err(400));
    /// ```
    pub fn check_host(&self) -> Result<(), HttpError> {
        self.check_host_with(None)
    }

    /// [`check_host`](Self::check_host), with the last value that passed
    /// (`cache`) taken as passing again without a look at its bytes, and
    /// a value that passes remembered. Same verdicts, fewer instructions:
    /// about 30 instead of about 130 for wrk's `Host: 127.0.0.1:8080`.
    ///
    /// # Errors
    ///
    /// As [`check_host`](Self::check_host).
    pub fn check_host_cached(&self, cache: &mut HostCache) -> Result<(), HttpError> {
        self.check_host_with(Some(cache))
    }

    fn check_host_with(&self, cache: Option<&mut HostCache>) -> Result<(), HttpError> {
        // The one value (raw: a cache hit needs no trim), or the verdict.
        let raw: &[u8] = match self.host.kind {
            HostKind::One => {
                let start = usize::from(self.host.start);
                self.headers.as_bytes().get(start..start + usize::from(self.host.len)).unwrap_or_default()
            }
            HostKind::Absent => return self.no_host(),
            HostKind::Many => return Err(error::TWO_HOSTS),
            HostKind::Unknown => {
                let mut hosts =
                    self.headers.iter().filter(|h| h.name.len() == 4 && h.name.eq_ignore_ascii_case("host"));
                match (hosts.next(), hosts.next()) {
                    (None, _) => return self.no_host(),
                    (Some(_), Some(_)) => return Err(error::TWO_HOSTS),
                    (Some(h), None) => h.value,
                }
            }
        };
        match cache {
            Some(c) if same_bytes(&c.last, raw) => Ok(()),
            Some(c) if valid_host(raw.trim_ascii()) => {
                if raw.len() <= HOST_CACHE_MAX {
                    c.last.clear();
                    c.last.extend_from_slice(raw);
                }
                Ok(())
            }
            None if valid_host(raw.trim_ascii()) => Ok(()),
            _ => Err(error::BAD_HOST),
        }
    }

    /// No `Host` line: fine for HTTP/1.0 only.
    fn no_host(&self) -> Result<(), HttpError> {
        if self.version == 0 { Ok(()) } else { Err(error::MISSING_HOST) }
    }

    /// The request target in origin form, for routing: an absolute-form
    /// target (`http://host:port/p?q`, RFC 9112 §3.2.2, which a server must
    /// accept) gives its path and query (`/p?q`; `/` when it has none);
    /// every other target is returned as sent (`/p?q`, `*`, an authority).
    ///
    /// # Examples
    ///
    /// ```
    /// use eddy_http::{Decoded, Decoder, Limits};
    ///
    /// let target = |raw: &[u8]| match Decoder::new().decode(raw, &Limits::default()) {
    ///     Ok(Decoded::Request { request, .. }) => request.origin_form().into_owned(),
    ///     other => panic!("{other:?}"),
    /// };
    /// assert_eq!(target(b"GET http://x:80/a/b?c HTTP/1.1\r\nHost: x\r\n\r\n"), "/a/b?c");
    /// assert_eq!(target(b"GET HTTP://x HTTP/1.1\r\nHost: x\r\n\r\n"), "/");
    /// assert_eq!(target(b"GET http://x?q HTTP/1.1\r\nHost: x\r\n\r\n"), "/?q");
    /// assert_eq!(target(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), "/a");
    /// ```
    pub fn origin_form(&self) -> Cow<'_, str> {
        let path: &str = &self.path;
        if path.starts_with('/') {
            return Cow::Borrowed(path);
        }
        // scheme "://" authority [ path-abempty ] [ "?" query ]
        let Some((scheme, rest)) = path.split_once("://") else { return Cow::Borrowed(path) };
        if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) {
            return Cow::Borrowed(path);
        }
        match rest.find(['/', '?', '#']) {
            Some(at) if rest.as_bytes().get(at) == Some(&b'/') => Cow::Borrowed(rest.get(at..).unwrap_or("/")),
            Some(at) => Cow::Owned(format!("/{}", rest.get(at..).unwrap_or_default())),
            None => Cow::Borrowed("/"),
        }
    }
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2): a bracketed
/// IP literal, or a registered name or IPv4 address (unreserved, sub-delims
/// and percent-encoded octets), then an optional colon and digits.
fn valid_host(value: &[u8]) -> bool {
    // The commonest shape first: letters, digits, dots and dashes, then
    // at most one `:` and digits (a name or an IPv4 address with a port),
    // one table load a byte. Everything it accepts the general check
    // accepts too.
    let mut name = 0;
    for &b in value {
        if !PLAIN_HOST[usize::from(b)] {
            break;
        }
        name += 1;
    }
    match value.get(name..) {
        Some([]) => true,
        Some([b':', port @ ..]) if digits(port) => true,
        _ => valid_host_general(value),
    }
}

/// Whether every byte is an ASCII digit.
#[inline]
fn digits(bytes: &[u8]) -> bool {
    let mut all = true;
    for &b in bytes {
        all &= b.is_ascii_digit();
    }
    all
}

/// Letters, digits, `.` and `-`: the bytes of the commonest host names.
static PLAIN_HOST: [bool; 256] = {
    let mut map = [false; 256];
    let mut b = 0;
    while b < 256 {
        map[b] = matches!(b as u8, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-');
        b += 1;
    }
    map
};

/// `uri-host [ ":" port ]` in full (RFC 3986): a bracketed IP literal, or
/// a registered name with its percent-encodings.
fn valid_host_general(value: &[u8]) -> bool {
    let (host, port) = match value.first() {
        Some(b'[') => match value.iter().position(|&b| b == b']') {
            Some(end) => {
                let literal = value.get(1..end).unwrap_or_default();
                let ok = !literal.is_empty()
                    && literal
                        .iter()
                        .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.' || REG_NAME[usize::from(b)]);
                if !ok {
                    return false;
                }
                (&[][..], value.get(end + 1..).unwrap_or_default())
            }
            None => return false,
        },
        _ => match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (value.get(..colon).unwrap_or_default(), value.get(colon..).unwrap_or_default()),
            None => (value, &[][..]),
        },
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    port_ok && host.iter().all(|&b| REG_NAME[usize::from(b)]) && pct_encoded(host)
}

/// Every `%` of `host` starts a percent-encoded octet.
fn pct_encoded(host: &[u8]) -> bool {
    host.iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'%')
        .all(|(i, _)| host.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)))
}

/// The bytes of a `reg-name`: unreserved, sub-delims, and `%` (of a
/// percent-encoded octet).
static REG_NAME: [bool; 256] = {
    let mut map = [false; 256];
    let mut b = 0;
    while b < 256 {
        map[b] = matches!(b as u8, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9'
            | b'-' | b'.' | b'_' | b'~' | b'%'
            | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=');
        b += 1;
    }
    map
};

/// A request body: borrowed from the input (`Content-Length`: zero copy)
/// or owned (decoded from chunked transfer coding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'b> {
    /// The body bytes, a slice of the buffer passed to `decode`.
    Borrowed(&'b [u8]),
    /// The body bytes reassembled from chunks.
    Owned(Vec<u8>),
}

impl Body<'_> {
    /// The body bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Borrowed(b) => b,
            Body::Owned(v) => v,
        }
    }

    /// The body as an owned vector (copies a borrowed body).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Body::Borrowed(b) => b.to_vec(),
            Body::Owned(v) => v,
        }
    }
}

impl Deref for Body<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Body<'_> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// One header (or trailer) field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The field name as sent (a token: ASCII, no whitespace).
    pub name: &'a str,
    /// The field value without surrounding whitespace; may hold any octet
    /// but CR, LF and NUL.
    pub value: &'a [u8],
}

/// The header (or trailer) fields of a request: a validated field block,
/// scanned on access. Lookups compare names ASCII case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers<'b> {
    /// Field lines ending with an empty line, already checked by the
    /// parser: every non-empty line is `name ":" OWS value OWS`.
    block: Cow<'b, [u8]>,
}

impl<'b> Headers<'b> {
    /// No fields.
    pub const fn empty() -> Self {
        Headers { block: Cow::Borrowed(&[]) }
    }

    /// Fields from a block the parser validated.
    pub(crate) fn from_block(block: Cow<'b, [u8]>) -> Self {
        Headers { block }
    }

    /// The value of the first field named `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.get_all(name).next()
    }

    /// The values of every field named `name`, in order.
    pub fn get_all(&self, name: &str) -> impl Iterator<Item = &[u8]> {
        self.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    }

    /// Whether a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// How many fields there are (counts them: a pass over the block).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The fields in the order they were sent.
    pub fn iter(&self) -> HeaderIter<'_> {
        HeaderIter::new(&self.block)
    }

    /// The raw field block as received (line ends included).
    pub fn as_bytes(&self) -> &[u8] {
        &self.block
    }
}

impl<'a> IntoIterator for &'a Headers<'_> {
    type Item = Header<'a>;
    type IntoIter = HeaderIter<'a>;

    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Headers`], in the order the fields were sent.
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    rest: &'a [u8],
}

impl<'a> HeaderIter<'a> {
    /// The fields of `block`, a field block the parser validated.
    pub(crate) fn new(block: &'a [u8]) -> Self {
        HeaderIter { rest: block }
    }
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        loop {
            let lf = scan::find_lf(self.rest, 0)?;
            let line = self.rest.get(..lf)?;
            self.rest = self.rest.get(lf + 1..)?;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                // The empty line ends the block.
                self.rest = &[];
                return None;
            }
            // The parser validated every line; skip rather than trust it.
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = line.split_at(colon);
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let value = scan::trim_ows(value.get(1..).unwrap_or_default());
            return Some(Header { name, value });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_and_looks_up_case_insensitively() {
        let h = Headers::from_block(Cow::Borrowed(b"Host: a\r\nX-Y:b \r\nx-y: c\r\n\r\n"));
        let all: Vec<_> = h.iter().map(|h| (h.name, h.value)).collect();
        assert_eq!(all, vec![("Host", &b"a"[..]), ("X-Y", b"b"), ("x-y", b"c")]);
        assert_eq!(h.get("HOST"), Some(&b"a"[..]));
        assert_eq!(h.get_all("x-Y").collect::<Vec<_>>(), vec![&b"b"[..], b"c"]);
        assert_eq!(h.len(), 3);
        assert!(!h.is_empty() && h.contains("host") && !h.contains("hos"));
    }

    #[test]
    fn empty_blocks_have_no_fields() {
        assert!(Headers::empty().is_empty());
        assert!(Headers::from_block(Cow::Borrowed(b"\r\n")).is_empty());
        assert_eq!(Headers::from_block(Cow::Borrowed(b"A:\n\n")).get("a"), Some(&b""[..]));
    }

    #[test]
    fn body_views() {
        let b = Body::Borrowed(b"xy");
        assert_eq!(&*b, b"xy");
        assert_eq!(b.clone().into_vec(), b"xy".to_vec());
        assert_eq!(Body::Owned(vec![1]).as_ref(), &[1]);
    }
}
