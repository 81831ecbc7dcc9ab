//! The persistence demos run as a reader runs them, with `--dir`: the data outlives the process.

use common::testing::run;

const CH08: &str = env!("CARGO_BIN_EXE_ch08");

#[test]
fn a_second_run_on_the_same_directory_finds_what_the_first_saved() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("store");
    let data = data.to_str().unwrap();

    let first = run(CH08, &["state-recovery", "--dir", data])
        .expect_success()
        .to_string();
    assert!(first.contains("started: no data.json yet"), "{first}");
    assert!(first.contains("get hello → Some(\"world\")"), "{first}");

    let second = run(CH08, &["state-recovery", "--dir", data])
        .expect_success()
        .to_string();
    assert!(second.contains("started: loaded 1 key"), "{second}");

    // actor-reset on the same directory keeps what is there (it seeds `{}` only into an empty one).
    let reset = run(CH08, &["actor-reset", "--dir", data])
        .expect_success()
        .to_string();
    assert!(
        reset.contains("writer gen 1 started, loaded 1 key"),
        "{reset}"
    );
    assert!(
        reset.contains("writer gen 2 started, loaded 1 key"),
        "{reset}"
    );
    assert!(reset.contains("most writers alive at once: 1"), "{reset}");
}

#[test]
fn a_corrupt_state_file_stops_the_demo_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.json"), b"{\"hello\":[1,").unwrap();
    let done = run(
        CH08,
        &["state-recovery", "--dir", dir.path().to_str().unwrap()],
    );
    assert_eq!(done.code(), Some(1), "{done:?}");
    assert!(done.stderr.contains("is corrupt"), "{}", done.stderr);
    assert!(done.stderr.contains("line 1 column"), "{}", done.stderr);
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("data.json")).unwrap(),
        b"{\"hello\":[1,",
        "left as it was"
    );
}
