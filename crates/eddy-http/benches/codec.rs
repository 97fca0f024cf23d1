//! Codec micro-benchmarks: the per-request CPU cost of the hot path.
//!
//! The workload is the plaintext keep-alive benchmark: `GET / HTTP/1.1`
//! with a Host header, one at a time and 16 pipelined in one read. The
//! baseline does what a raw C epoll server that only counts `\r\n\r\n`
//! does to the same bytes, so `decode / baseline` is the price of real
//! parsing and framing. Run with `cargo bench -p eddy-http --bench codec`.
//!
//! Time is the benchmarking thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`),
//! not wall time: the figures are CPU per request, and other processes on
//! a shared machine do not inflate them.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_main};
use eddy_http::{DateCache, Decoded, Decoder, Limits, ResponseHead, write_response};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";
const BODY: &[u8] = b"Hello, World!";

/// Criterion measurement: CPU time consumed by the benchmarking thread.
struct ThreadCpuTime;

/// Wall time's formatter prints nanoseconds as durations, which ours are.
static DURATIONS: WallTime = WallTime;

fn cpu_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        DURATIONS.formatter()
    }
}

/// Counts request heads the way a minimal C server does: a byte loop,
/// `if (p[i] == '\r' && p[i+1] == '\n' && p[i+2] == '\r' && p[i+3] == '\n')`,
/// in a function of its own as in a C server.
#[inline(never)]
fn count_heads(buf: &[u8]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i + 3 < buf.len() {
        if buf[i] == b'\r' && buf[i + 1] == b'\n' && buf[i + 2] == b'\r' && buf[i + 3] == b'\n' {
            count += 1;
            i += 4;
        } else {
            i += 1;
        }
    }
    count
}

/// Decodes every request in `buf` (as the server does per read), returning
/// how many there were.
fn decode_all(decoder: &mut Decoder, buf: &[u8], limits: &Limits) -> usize {
    let mut at = 0;
    let mut count = 0;
    while let Ok(Decoded::Request { request, consumed }) = decoder.decode(&buf[at..], limits) {
        black_box(&request);
        count += 1;
        at += consumed;
    }
    count
}

fn benches(c: &mut Criterion<ThreadCpuTime>) {
    let limits = Limits::default();
    let date = DateCache::new();
    let pipelined = GET.repeat(16);
    let mut decoder = Decoder::new();

    let mut g = c.benchmark_group("one");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_get", |b| {
        b.iter(|| match decoder.decode(black_box(GET), &limits) {
            Ok(Decoded::Request { request, consumed }) => {
                black_box(&request);
                consumed
            }
            _ => 0,
        })
    });
    g.bench_function("baseline_count_crlfcrlf", |b| b.iter(|| count_heads(black_box(GET))));
    // For reference: httparse alone (zeroed slots), without our framing.
    g.bench_function("httparse_only", |b| {
        b.iter(|| {
            let mut slots = [httparse::EMPTY_HEADER; 16];
            let mut req = httparse::Request::new(&mut slots);
            matches!(req.parse(black_box(GET)), Ok(httparse::Status::Complete(_)))
        })
    });
    let mut out = Vec::with_capacity(4096);
    g.bench_function("write_response", |b| {
        b.iter(|| {
            out.clear();
            let head = ResponseHead::ok(&date).with_content_type("text/plain");
            write_response(&mut out, black_box(&head), black_box(BODY));
            out.len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("pipelined16");
    g.throughput(Throughput::Elements(16));
    g.bench_function("decode_get", |b| b.iter(|| decode_all(&mut decoder, black_box(&pipelined), &limits)));
    g.bench_function("baseline_count_crlfcrlf", |b| b.iter(|| count_heads(black_box(&pipelined))));
    g.bench_function("decode_and_respond", |b| {
        b.iter(|| {
            out.clear();
            let mut at = 0;
            while let Ok(Decoded::Request { request, consumed }) = decoder.decode(&pipelined[at..], &limits) {
                let head = ResponseHead::for_request(&request, &date).with_content_type("text/plain");
                write_response(&mut out, &head, BODY);
                at += consumed;
            }
            out.len()
        })
    });
    g.finish();
}

/// The group function `criterion_group!` generates is public and
/// undocumented; it lives here so the allowance stays this narrow.
mod group {
    #![allow(missing_docs)]
    criterion::criterion_group! {
        name = codec;
        config = criterion::Criterion::default().with_measurement(super::ThreadCpuTime);
        targets = super::benches
    }
}

criterion_main!(group::codec);
