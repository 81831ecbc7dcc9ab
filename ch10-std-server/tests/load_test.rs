//! `load-test` in a process of its own, so the idle CPU it measures is only this server's and
//! this client's (other tests would add their own threads to a shared test binary).

use std::time::Duration;

use ch10::load_test::{load, measure_idle, start_server};

/// 64 clients with a small number of requests each, then the idle measurements.
#[test]
fn load_test_all_replies_match_and_idling_costs_almost_nothing() {
    check(64, 100, true);
}

/// The full 64 × 1,000 (about 10 s in a debug build): `cargo test -p ch10 --test load_test -- --ignored`.
#[test]
#[ignore]
fn load_test_full_64_by_1000() {
    check(64, 1_000, false);
}

fn check(clients: u32, requests: u32, idle: bool) {
    let watchdog = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(120));
        eprintln!("load test still running after 120 s");
        std::process::exit(101);
    });
    let _ = watchdog; // detached: it only fires if the test hangs

    let server = start_server(Duration::from_secs(1)).unwrap();
    let (report, open) = load(server.local_addr(), clients, requests);
    assert_eq!(report.sent, u64::from(clients * requests));
    assert_eq!(report.matched, report.sent, "{:?}", report.failures);
    assert_eq!((report.lost, report.duplicated), (0, 0));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(open.len(), clients as usize);
    if !idle {
        return;
    }
    let busy = measure_idle(Duration::from_secs(1));
    drop(open);
    assert!(server.wait_until_idle(Duration::from_secs(2)));
    let quiet = measure_idle(Duration::from_secs(1));
    server.shutdown();
    if cfg!(target_os = "linux") {
        let busy = busy.share().expect("linux has /proc");
        let quiet = quiet.share().expect("linux has /proc");
        assert!(
            busy < 0.10,
            "64 idle connections: {:.2} % of a core",
            busy * 100.0
        );
        assert!(
            quiet < 0.02,
            "no connections: {:.2} % of a core",
            quiet * 100.0
        );
    }
}
