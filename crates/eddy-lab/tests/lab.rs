//! The lab in the test suite: every experiment on every backend it means
//! something on, each its own test (so a FAIL names the experiment and the
//! backend, and prints the whole report). (The `eddy lab` command, its
//! listing, `--all --json` and exit codes, is tested with the CLI.)

use std::path::PathBuf;

use eddy_lab::{ChildCommand, EXPERIMENTS, Options, Verdict, run_with};
use eddy_poll::Backend;

/// The child process of `sigpipe`: this crate's own small binary.
fn child() -> ChildCommand {
    ChildCommand { program: PathBuf::from(env!("CARGO_BIN_EXE_eddy-lab-child")), args: Vec::new() }
}

/// Runs `name` on `backend` and asserts its verdict, printing the report
/// if it failed.
fn assert_pass(name: &str, backend: &str) {
    let backend: Backend = backend.parse().expect("a backend name");
    let options = Options { backend: Some(backend), live: false, child: Some(child()) };
    let report = run_with(name, &options).unwrap_or_else(|e| panic!("{name} on {backend}: {e}"));
    assert_eq!(report.verdict, Verdict::Pass, "{name} on {backend} failed:\n{}", report.render());
}

/// One module per experiment, one test per backend: `et_drain::epoll`, ...
macro_rules! experiments {
    ($($module:ident = $name:literal on $($backend:ident)+;)*) => {
        /// Every experiment named here, to check none is forgotten.
        const TESTED: &[&str] = &[$($name),*];
        $(
            mod $module {
                $(
                    #[test]
                    fn $backend() {
                        super::assert_pass($name, stringify!($backend));
                    }
                )+
            }
        )*
    };
}

experiments! {
    et_drain = "et-drain" on epoll poll select;
    et_partial = "et-partial" on epoll poll select;
    lt_partial = "lt-partial" on epoll poll select;
    oneshot = "oneshot" on epoll poll select;
    close_wait = "close-wait" on epoll poll select;
    rst_on_unread = "rst-on-unread" on epoll poll select;
    double_eof = "double-eof" on epoll poll select;
    delayed_requests = "delayed-requests" on epoll poll select;
    epollout_storm = "epollout-storm" on epoll poll select;
    listener_edge = "listener-edge" on epoll poll select;
    thundering_herd = "thundering-herd" on epoll;
    select_limit = "select-limit" on epoll;
    scaling = "scaling" on epoll;
    sigpipe = "sigpipe" on epoll;
    half_close = "half-close" on epoll poll select;
    user_readiness = "user-readiness" on epoll poll select;
    fairness = "fairness" on epoll;
}

#[test]
fn every_experiment_is_tested() {
    let listed: Vec<&str> = EXPERIMENTS.iter().map(|e| e.name).collect();
    assert_eq!(listed, TESTED, "tests/lab.rs must name every experiment, in order");
    assert_eq!(listed.len(), 17);
}

#[test]
fn an_experiment_refuses_a_backend_it_means_nothing_on() {
    let options = Options { backend: Some(Backend::Poll), ..Options::default() };
    let err = run_with("thundering-herd", &options).expect_err("thundering-herd is epoll only");
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    assert_eq!(run_with("no-such-experiment", &Options::default()).unwrap_err().kind(), std::io::ErrorKind::NotFound);
}
