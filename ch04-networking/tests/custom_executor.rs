//! `custom-executor`'s spawn counter, in a test binary of its own: nothing else in this process
//! executes futures, so the counter must grow by exactly one per `execute`.

use std::time::Duration;

use ch04::custom_executor::CustomExecutor;
use hyper::rt::Executor;

#[test]
fn the_counter_grows_by_exactly_one_per_execute_and_every_future_runs() {
    ch04::rt::start().unwrap();
    let (tx, rx) = flume::unbounded();
    for n in 1..=10 {
        let before = CustomExecutor::spawned();
        let tx = tx.clone();
        CustomExecutor.execute(async move {
            let _ = tx.send(n);
        });
        assert_eq!(CustomExecutor::spawned(), before + 1);
    }
    drop(tx);
    let mut ran: Vec<u32> = (0..10)
        .map(|_| {
            rx.recv_timeout(Duration::from_secs(10))
                .expect("a future never ran")
        })
        .collect();
    ran.sort_unstable();
    assert_eq!(ran, (1..=10).collect::<Vec<_>>());
}
