//! `writer-crash-matrix` for real: the chapter binary run as a child writer and killed with SIGKILL
//! in the middle of its writes, seven times on one directory; then the demo itself and the child's
//! own mode. Integration tests, because inside a unit test `current_exe()` is the test harness.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ch08::heartbeat_supervisor::spawn_router;
use ch08::load_state_file::read_data_from_file;
use ch08::persist::DATA_FILE;
use ch08::store::StoreConfig;
use ch08::writer_crash_matrix::{KILL_AFTER, kill_mid_write, value_for};
use common::testing::{Run, run};

const CH08: &str = env!("CARGO_BIN_EXE_ch08");

#[test]
fn sigkill_mid_write_never_loses_an_acknowledged_key_nor_breaks_the_file() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut promised: HashMap<String, Vec<u8>> = HashMap::new();
    let mut killed_mid_run = 0;
    for (round, &kill_after) in KILL_AFTER.iter().enumerate() {
        // Each child starts from what the previous one left: every round is also a restart.
        let result = kill_mid_write(
            Path::new(CH08),
            dir.path(),
            &format!("round{round}"),
            kill_after,
        )
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(result.acknowledged.len() >= kill_after, "{result:?}");
        assert_eq!(result.lost, Vec::<String>::new(), "round {round}");
        killed_mid_run += usize::from(result.killed);
        for key in result.acknowledged {
            let value = value_for(&key);
            promised.insert(key, value);
        }
        // Keys of earlier rounds are still there too.
        assert!(
            result.keys_on_disk >= promised.len(),
            "round {round}: {} < {}",
            result.keys_on_disk,
            promised.len()
        );
    }
    assert!(
        killed_mid_run >= 5,
        "only {killed_mid_run} of 7 children were still writing when killed"
    );

    // A full restart, in this process, serves every promised key.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let on_disk = read_data_from_file(&dir.path().join(DATA_FILE))
            .await
            .unwrap();
        assert!(on_disk.len() >= promised.len());
        let system = spawn_router(StoreConfig::new(dir.path())).await.unwrap();
        assert_eq!(system.loaded, on_disk.len());
        for (key, value) in &promised {
            assert_eq!(
                system.router.get(key.clone()).await.unwrap().as_ref(),
                Some(value),
                "{key}"
            );
        }
        system.shutdown().await.unwrap();
    });
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_demo_prints_35_checks_and_its_kill_rounds() {
    let stdout = Run::new(CH08)
        .args(&["writer-crash-matrix", "--kills", "3"])
        .limit(Duration::from_secs(60))
        .output()
        .expect_success()
        .to_string();
    assert_eq!(stdout.matches('✓').count(), 35, "{stdout}");
    assert!(!stdout.contains('✗'), "{stdout}");
    assert!(stdout.contains("35 of 35 runs"), "{stdout}");
    assert_eq!(stdout.matches("killed after").count(), 3, "{stdout}");
    assert!(stdout.contains(" 0 lost"), "{stdout}");
}

#[test]
fn the_child_acknowledges_each_key_after_it_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let done = run(
        CH08,
        &[
            "writer-crash-matrix",
            "--child",
            path,
            "--writes",
            "3",
            "--prefix",
            "p",
        ],
    );
    assert_eq!(done.expect_success(), "ack p-0\nack p-1\nack p-2\n");
    let bytes = std::fs::read(dir.path().join(DATA_FILE)).unwrap();
    let map: HashMap<String, Vec<u8>> = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(map.len(), 3);
    assert_eq!(map.get("p-2"), Some(&value_for("p-2")));
}

#[test]
fn bad_arguments_are_usage_errors() {
    let stderr = run(CH08, &["writer-crash-matrix", "--kills", "9"])
        .expect_usage_error()
        .to_string();
    assert!(stderr.contains("--kills"), "{stderr}");
    let stderr = run(CH08, &["writer-crash-matrix", "--writes", "many"])
        .expect_usage_error()
        .to_string();
    assert!(stderr.contains("--writes"), "{stderr}");
}
