//! `hostile-clients` in a process of its own, so the resident memory it watches is this
//! server's alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use ch10::hostile_clients::{
    MALFORMED_KINDS, attack, good_client, hostile_server, resident_bytes, tally,
};
use ch10::worker_router::one_round;

#[test]
fn hostile_ten_thousand_malformed_frames_leave_a_good_client_unharmed() {
    let watchdog = thread::spawn(|| {
        thread::sleep(Duration::from_secs(120));
        eprintln!("hostile test still running after 120 s");
        std::process::exit(101);
    });
    let _ = watchdog;

    let idle = Duration::from_millis(300);
    let (server, endings) = hostile_server(idle).unwrap();
    let addr = server.local_addr();
    let rss_before = resident_bytes();

    let stop = Arc::new(AtomicBool::new(false));
    let good = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || good_client(addr, Duration::from_millis(5), stop))
    };
    let (ended, errors) = attack(addr, &MALFORMED_KINDS, 10_000, 16, idle, &endings);
    stop.store(true, Ordering::SeqCst);
    let good = good.join().unwrap().unwrap();

    assert!(
        errors.is_empty(),
        "client-side errors: {:?}",
        &errors[..errors.len().min(5)]
    );
    assert_eq!(ended.len(), 10_000);
    assert!(good.sent > 10, "the good client ran throughout: {good:?}");
    assert_eq!(good.matched, good.sent, "{good:?}");
    // A fresh client afterwards is served too.
    one_round(addr, 42).unwrap();
    assert!(server.wait_until_idle(Duration::from_secs(3)));
    assert_eq!(server.stats().live, 0);

    // Every malformed frame ended its connection with an error (none was answered).
    for (kind, (ran, ends)) in tally(&ended) {
        let errors: usize = ends
            .iter()
            .filter(|(how, _)| !how.starts_with("closed cleanly") && *how != "not seen")
            .map(|(_, n)| n)
            .sum();
        assert_eq!(errors, ran, "{kind:?}: {ends:?}");
    }
    if let (Some(before), Some(after)) = (rss_before, resident_bytes()) {
        let grew = after.saturating_sub(before);
        assert!(
            grew < 32 << 20,
            "resident memory grew by {} MiB",
            grew >> 20
        );
    }
    server.shutdown();
}
