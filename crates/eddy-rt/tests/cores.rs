//! Several loops: a handle spawns onto a given loop from any thread; one
//! address served on every loop with SO_REUSEPORT; the three models' first
//! two (Reactor handlers and async tasks) on one loop thread.

mod util;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy_reactor::{Config, Conn, EventLoop, Handler, Input};
use eddy_rt::net::TcpListener;
use eddy_rt::{Runtime, Runtimes, spawn};
use futures_util::AsyncReadExt;

#[test]
fn a_handle_spawns_onto_its_loop_from_another_thread() {
    let loops = Runtimes::start(2, &Config::default()).unwrap();
    let names: Vec<String> = (0..2)
        .map(|i| {
            let h = loops.handle(i).unwrap().spawn(async { std::thread::current().name().unwrap_or("").to_string() });
            h.join().unwrap()
        })
        .collect();
    assert_eq!(names, ["eddy-rt-0", "eddy-rt-1"]);
    let panicked = loops.handle(0).unwrap().spawn(async { panic!("on loop 0") }).join();
    assert!(panicked.unwrap_err().is_panic());
    loops.shutdown().unwrap();
}

#[test]
fn one_address_served_on_every_loop_with_reuseport() {
    let loops = Runtimes::start(2, &Config::default()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let ready_tx = Mutex::new(ready_tx);
    loops.spawn_on_each(move |i| {
        let ready = ready_tx.lock().unwrap().clone();
        async move {
            let listener = TcpListener::bind_reuseport(addr).await.unwrap();
            ready.send(()).unwrap();
            loop {
                let Ok((mut s, _)) = listener.accept().await else { return };
                spawn(async move {
                    let mut b = [0u8; 1];
                    if s.read_exact(&mut b).await.is_ok() {
                        let _ = s.write_all(format!("loop {i}").as_bytes()).await;
                    }
                });
            }
        }
    });
    for _ in 0..2 {
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    let mut served_by = HashSet::new();
    for _ in 0..64 {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"?").unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        served_by.insert(answer);
    }
    assert_eq!(served_by.len(), 2, "both loops served (64 connections hashed over 2): {served_by:?}");
    loops.shutdown().unwrap();
}

/// A Reactor echo handler that records the thread it runs on.
struct Echo;

impl Handler for Echo {
    type State = Arc<Mutex<Vec<(&'static str, std::thread::ThreadId)>>>;
    fn on_open(&mut self, conn: &mut Conn<'_, Self>) {
        conn.set_timer(Duration::from_millis(5), 0);
    }
    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        conn.state().lock().unwrap().push(("handler data", std::thread::current().id()));
        conn.write(input.bytes());
        input.consume_all();
    }
    fn on_timer(&mut self, conn: &mut Conn<'_, Self>, _: u64) {
        conn.state().lock().unwrap().push(("handler timer", std::thread::current().id()));
    }
}

#[test]
fn a_reactor_listener_and_an_async_listener_on_one_loop_thread() {
    let log: Arc<Mutex<Vec<(&'static str, std::thread::ThreadId)>>> = Arc::default();
    let mut lp = EventLoop::<Echo>::new(Config::default(), Arc::clone(&log)).unwrap();
    let reactor_addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_, _| Some(Echo)).unwrap();
    let mut rt = Runtime::on(lp).unwrap();
    let loop_thread = std::thread::current().id();
    let log2 = Arc::clone(&log);
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let async_addr = listener.local_addr().unwrap();
        let log3 = Arc::clone(&log2);
        let server = spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            eddy_rt::time::sleep(Duration::from_millis(5)).await;
            log3.lock().unwrap().push(("task timer", std::thread::current().id()));
            let mut b = [0u8; 4];
            s.read_exact(&mut b).await.unwrap();
            log3.lock().unwrap().push(("task data", std::thread::current().id()));
            s.write_all(&b).await.unwrap();
        });
        // Both clients from another thread, at once.
        let clients = std::thread::spawn(move || {
            let mut a = std::net::TcpStream::connect(reactor_addr).unwrap();
            let mut b = std::net::TcpStream::connect(async_addr).unwrap();
            for s in [&mut a, &mut b] {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s.write_all(b"ping").unwrap();
            }
            let mut x = [0u8; 4];
            let mut y = [0u8; 4];
            a.read_exact(&mut x).unwrap();
            b.read_exact(&mut y).unwrap();
            (x, y)
        });
        server.await.unwrap();
        let (x, y) = eddy_rt::spawn_blocking(move || clients.join().unwrap()).await.unwrap();
        assert_eq!((&x, &y), (b"ping", b"ping"));
        // Let the handler's 5 ms timer fire if it has not yet.
        eddy_rt::time::sleep(Duration::from_millis(20)).await;
    })
    .unwrap();
    let log = log.lock().unwrap();
    for what in ["handler data", "handler timer", "task data", "task timer"] {
        let seen: Vec<_> = log.iter().filter(|(w, _)| *w == what).collect();
        assert!(!seen.is_empty(), "{what} happened: {log:?}");
        assert!(seen.iter().all(|(_, t)| *t == loop_thread), "{what} ran on the loop thread: {log:?}");
    }
}
