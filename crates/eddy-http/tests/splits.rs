//! Property: every split of a valid request, or of a pipelined sequence,
//! across reads (down to one byte per read) decodes to exactly the
//! requests the whole thing decodes to in one read, and those are the
//! requests that were encoded. Also: no input, split any way, panics.

mod util;

use eddy_http::Limits;
use proptest::prelude::*;
use util::{Snapshot, feed_with};

/// How a generated request frames its body.
#[derive(Debug, Clone)]
enum BodySpec {
    None,
    Length(Vec<u8>),
    /// Chunks (non-empty), an extension per chunk, trailers.
    Chunked(Vec<(Vec<u8>, Option<String>)>, Vec<(String, String)>),
}

#[derive(Debug, Clone)]
struct Spec {
    method: &'static str,
    path: String,
    version: u8,
    headers: Vec<(String, String)>,
    connection: Option<&'static str>,
    expect: bool,
    body: BodySpec,
    leading_empty_lines: usize,
}

impl Spec {
    fn encode(&self, out: &mut Vec<u8>) {
        for _ in 0..self.leading_empty_lines {
            out.extend_from_slice(b"\r\n");
        }
        let mut head = format!("{} {} HTTP/1.{}\r\n", self.method, self.path, self.version);
        for (n, v) in &self.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        if let Some(c) = self.connection {
            head.push_str(&format!("Connection: {c}\r\n"));
        }
        if self.expect {
            head.push_str("Expect: 100-continue\r\n");
        }
        match &self.body {
            BodySpec::None => {}
            BodySpec::Length(b) => head.push_str(&format!("Content-Length: {}\r\n", b.len())),
            BodySpec::Chunked(..) => head.push_str("Transfer-Encoding: chunked\r\n"),
        }
        head.push_str("\r\n");
        out.extend_from_slice(head.as_bytes());
        match &self.body {
            BodySpec::None => {}
            BodySpec::Length(b) => out.extend_from_slice(b),
            BodySpec::Chunked(chunks, trailers) => {
                for (data, ext) in chunks {
                    out.extend_from_slice(format!("{:x}", data.len()).as_bytes());
                    if let Some(ext) = ext {
                        out.extend_from_slice(format!(";{ext}").as_bytes());
                    }
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(data);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                for (n, v) in trailers {
                    out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Checks a decoded request against this spec.
    fn check(&self, r: &Snapshot) -> Result<(), TestCaseError> {
        prop_assert_eq!(&r.method, self.method);
        prop_assert_eq!(&r.path, &self.path);
        prop_assert_eq!(r.version, self.version);
        for (n, v) in &self.headers {
            prop_assert!(r.headers.contains(&(n.clone(), v.as_bytes().to_vec())));
        }
        let keep_alive = match (self.version, self.connection) {
            (_, Some("close")) => false,
            (1, _) => true,
            (_, c) => c == Some("keep-alive"),
        };
        prop_assert_eq!(r.keep_alive, keep_alive);
        prop_assert_eq!(r.is_head, self.method == "HEAD");
        prop_assert_eq!(r.expects_continue, self.expect && self.version == 1);
        let (body, trailers) = match &self.body {
            BodySpec::None => (Vec::new(), Vec::new()),
            BodySpec::Length(b) => (b.clone(), Vec::new()),
            BodySpec::Chunked(chunks, trailers) => (
                chunks.iter().flat_map(|(d, _)| d.clone()).collect(),
                trailers.iter().map(|(n, v)| (n.clone(), v.as_bytes().to_vec())).collect(),
            ),
        };
        prop_assert_eq!(&r.body, &body);
        prop_assert_eq!(&r.trailers, &trailers);
        Ok(())
    }
}

fn field_name() -> impl Strategy<Value = String> {
    "X-[A-Za-z0-9-]{1,12}"
}

fn field_value() -> impl Strategy<Value = String> {
    // Visible characters with inner spaces; no surrounding whitespace.
    "[!-~]([ !-~]{0,24}[!-~])?"
}

fn fields(max: usize) -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((field_name(), field_value()), 0..max)
}

fn body_spec(version: u8) -> BoxedStrategy<BodySpec> {
    let length = prop::collection::vec(any::<u8>(), 0..120).prop_map(BodySpec::Length);
    let chunk = (prop::collection::vec(any::<u8>(), 1..40), prop::option::of("[a-z]{1,6}(=[a-z0-9]{1,6})?"));
    let chunked = (prop::collection::vec(chunk, 0..5), fields(3))
        .prop_map(|(chunks, trailers)| BodySpec::Chunked(chunks, trailers));
    if version == 0 {
        // Transfer-Encoding is refused in HTTP/1.0.
        prop_oneof![Just(BodySpec::None), length].boxed()
    } else {
        prop_oneof![Just(BodySpec::None), length, chunked].boxed()
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    (0u8..=1).prop_flat_map(|version| {
        (
            prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]),
            "/[A-Za-z0-9._~%/?=&-]{0,30}",
            fields(6),
            prop::option::of(prop::sample::select(vec!["close", "keep-alive"])),
            any::<bool>(),
            body_spec(version),
            prop::sample::select(vec![0usize, 0, 0, 1, 2]),
        )
            .prop_map(move |(method, path, headers, connection, expect, body, empty)| Spec {
                method,
                path,
                version,
                headers,
                connection,
                expect,
                body,
                leading_empty_lines: empty,
            })
    })
}

/// A pipelined sequence and its bytes.
fn sequence() -> impl Strategy<Value = (Vec<Spec>, Vec<u8>)> {
    prop::collection::vec(spec(), 1..6).prop_map(|specs| {
        let mut bytes = Vec::new();
        for s in &specs {
            s.encode(&mut bytes);
        }
        (specs, bytes)
    })
}

/// `bytes` cut at `cuts` (any values; reduced modulo the length).
fn split_at<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn one_read_decodes_what_was_encoded((specs, bytes) in sequence()) {
        let out = feed_with(&[&bytes], &Limits::default());
        prop_assert_eq!(out.error, None);
        prop_assert!(out.leftover.is_empty());
        prop_assert_eq!(out.requests.len(), specs.len());
        for (spec, request) in specs.iter().zip(&out.requests) {
            spec.check(request)?;
        }
    }

    #[test]
    fn random_splits_decode_the_same(
        (_specs, bytes) in sequence(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let limits = Limits::default();
        let whole = feed_with(&[&bytes], &limits);
        let split = feed_with(&split_at(&bytes, &cuts), &limits);
        prop_assert_eq!(&split.requests, &whole.requests);
        prop_assert_eq!(split.error, None);
        prop_assert!(split.leftover.is_empty());
        // 100-continue: at most once per request, only for those asking.
        let mut asked = split.continues.clone();
        asked.dedup();
        prop_assert_eq!(asked.len(), split.continues.len());
        for i in split.continues {
            prop_assert!(split.requests[i].expects_continue);
        }
    }

    #[test]
    fn byte_by_byte_decodes_the_same((_specs, bytes) in sequence()) {
        let limits = Limits::default();
        let whole = feed_with(&[&bytes], &limits);
        let reads: Vec<&[u8]> = bytes.chunks(1).collect();
        let bytewise = feed_with(&reads, &limits);
        prop_assert_eq!(&bytewise.requests, &whole.requests);
        prop_assert_eq!(bytewise.error, None);
        prop_assert!(bytewise.leftover.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let limits = Limits { max_request_line: 64, max_head: 128, max_headers: 4, max_body: 64 };
        let _ = feed_with(&split_at(&bytes, &cuts), &limits);
        let _ = feed_with(&[&bytes], &Limits::default());
    }

    #[test]
    fn corrupted_requests_never_panic(
        (_specs, bytes) in sequence(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut bytes = bytes;
        for (at, b) in edits {
            let at = at % bytes.len();
            bytes[at] = b;
        }
        let limits = Limits::default();
        let split = feed_with(&split_at(&bytes, &cuts), &limits);
        let whole = feed_with(&[&bytes], &limits);
        // Requests before the damage are the same however the bytes came.
        let common = split.requests.len().min(whole.requests.len());
        prop_assert_eq!(&split.requests[..common], &whole.requests[..common]);
    }
}
