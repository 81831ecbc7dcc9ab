//! Model-based property test (chapter 8, Extras 3): random sequences of `set`, `delete`, `get`,
//! manual resets and crashes at every step of a write, against one persistent store in a
//! temporary directory, checked against a plain `HashMap` of the acknowledged operations.
//!
//! After every reset and every restart the store must equal the model. A crashed write was never
//! acknowledged, so either outcome would be allowed; in fact the step decides (visible exactly
//! when the crash came at the rename or later) and the model follows that, so the check is exact.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use ch08::heartbeat_supervisor::{ActorType, System, spawn_router};
use ch08::key_value_actor::ActorError;
use ch08::persist::{CrashPlan, PersistStep};
use ch08::store::StoreConfig;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Keys `k0` … `k3`: few enough that operations collide.
const KEYS: u8 = 4;

#[derive(Debug, Clone)]
enum Op {
    Set(u8, u8),
    Delete(u8),
    Get(u8),
    Reset,
    /// A system whose first write stops after this step, writing `key = value`.
    Crash(PersistStep, u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..KEYS, any::<u8>()).prop_map(|(k, v)| Op::Set(k, v)),
        2 => (0..KEYS).prop_map(Op::Delete),
        2 => (0..KEYS).prop_map(Op::Get),
        1 => Just(Op::Reset),
        2 => (0..PersistStep::ALL.len(), 0..KEYS, any::<u8>())
            .prop_map(|(s, k, v)| Op::Crash(PersistStep::ALL[s], k, v)),
    ]
}

fn key(k: u8) -> String {
    format!("k{k}")
}

async fn start(dir: &Path) -> System {
    spawn_router(StoreConfig::new(dir))
        .await
        .expect("the store starts")
}

/// Every key of the key space reads as the model says.
async fn same_as_model(
    system: &System,
    model: &HashMap<String, Vec<u8>>,
) -> Result<(), TestCaseError> {
    for k in 0..KEYS {
        let got = system.router.get(key(k)).await;
        prop_assert_eq!(got, Ok(model.get(&key(k)).cloned()), "key {}", key(k));
    }
    Ok(())
}

async fn check(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut model: HashMap<String, Vec<u8>> = HashMap::new();
    let mut system = start(dir.path()).await;
    for op in ops {
        match op {
            Op::Set(k, v) => {
                prop_assert_eq!(system.router.set(key(k), vec![v]).await, Ok(()));
                model.insert(key(k), vec![v]);
            }
            Op::Delete(k) => {
                prop_assert_eq!(system.router.delete(key(k)).await, Ok(()));
                model.remove(&key(k));
            }
            Op::Get(k) => {
                prop_assert_eq!(
                    system.router.get(key(k)).await,
                    Ok(model.get(&key(k)).cloned())
                );
            }
            Op::Reset => {
                system
                    .router
                    .reset(ActorType::KeyValue)
                    .await
                    .expect("router running");
                same_as_model(&system, &model).await?;
            }
            Op::Crash(step, k, v) => {
                system.shutdown().await.expect("clean stop");
                let config =
                    StoreConfig::new(dir.path()).with_crash_plan(CrashPlan { write: 1, step });
                let crashing = spawn_router(config).await.expect("the store starts");
                prop_assert_eq!(
                    crashing.router.set(key(k), vec![v]).await,
                    Err(ActorError::NoReply)
                );
                crashing.shutdown().await.expect("clean stop");
                if step >= PersistStep::Renamed {
                    model.insert(key(k), vec![v]);
                }
                system = start(dir.path()).await;
                same_as_model(&system, &model).await?;
            }
        }
    }
    system.shutdown().await.expect("clean stop");
    let system = start(dir.path()).await;
    prop_assert_eq!(system.loaded, model.len());
    same_as_model(&system, &model).await?;
    system.shutdown().await.expect("clean stop");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        // No regression files in the source tree; a failure prints its minimal case.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn model_store_equals_the_acknowledged_operations(ops in prop::collection::vec(op(), 1..=20)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), check(ops))
                .await
                .map_err(|_| TestCaseError::fail("a case took over 30 s (a hang?)"))?
        })?;
    }
}
