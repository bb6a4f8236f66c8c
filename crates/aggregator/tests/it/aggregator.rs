//! The aggregator over real JSON-RPC against a real deployment on anvil with three staked
//! operators: quorum, refusals, and restarts.

use alloy::primitives::{Bytes, B256, U256};
use mach_aggregator::server::error_codes;
use mach_aggregator::store::TaskStatus;
use mach_aggregator::{AggregatorConfig, AggregatorHandle};
use mach_chain::{connect, Deployment};
use mach_contracts::MachServiceManager;
use mach_devnet::{deploy, onboard_operator, Anvil, AnvilConfig, DeployConfig};
use mach_jsonrpc::{CallError, Client};
use mach_keys::BlsSecretKey;
use mach_primitives::rpc::{AlertTaskInfo, InitOperatorResponse, SignedTaskResponseReply};
use mach_runtime::{Stopped, Supervisor};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

struct Net {
    anvil: Anvil,
    deployment: Deployment,
    operators: Vec<(alloy::primitives::Address, BlsSecretKey)>,
}

/// A deployment with three operators of equal stake in quorum 0.
async fn network() -> Net {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).unwrap();
    let admin = connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let deployment = deploy(&admin, &DeployConfig::default()).await.unwrap();
    let mut operators = Vec::new();
    for i in 1..=3 {
        let signer = anvil.dev_signer(i).unwrap();
        let bls = BlsSecretKey::random();
        let stake = U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64));
        onboard_operator(&admin, &deployment, &signer, &bls, stake, &[0])
            .await
            .unwrap();
        operators.push((signer.address(), bls));
    }
    Net {
        anvil,
        deployment,
        operators,
    }
}

/// The test configuration (signers wait 2 s), changed by `tweak`.
fn config(net: &Net, db: &Path, tweak: fn(&mut AggregatorConfig)) -> AggregatorConfig {
    let mut config = AggregatorConfig::new(net.anvil.url(), 31_337, 1868);
    config.aggregator_jsonrpc_server_ip_port_address = "127.0.0.1:0".into();
    config.db_path = db.to_path_buf();
    config.response_wait_seconds = 2;
    tweak(&mut config);
    config.validate().unwrap();
    config
}

async fn start(
    net: &Net,
    db: &Path,
    tweak: fn(&mut AggregatorConfig),
) -> (AggregatorHandle, Client) {
    let conn = connect(net.anvil.url(), net.anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let handle = mach_aggregator::start(config(net, db, tweak), conn, &net.deployment.avs())
        .await
        .unwrap();
    let client = Client::new(
        &format!("http://{}", handle.address),
        Duration::from_secs(60),
    );
    (handle, client)
}

async fn create_task(client: &Client, hash: B256) -> AlertTaskInfo {
    client
        .call("aggregator_createTask", json!([hash]))
        .await
        .unwrap()
}

async fn sign(
    client: &Client,
    task: &AlertTaskInfo,
    key: &BlsSecretKey,
) -> Result<SignedTaskResponseReply, CallError> {
    let signature = key.sign(&task.sign_hash());
    client
        .call(
            "aggregator_processSignedTaskResponse",
            json!([
                task,
                Bytes::from(signature.to_bytes().to_vec()),
                Bytes::from(key.operator_id().0.to_vec())
            ]),
        )
        .await
}

fn rpc_code(result: Result<SignedTaskResponseReply, CallError>) -> i64 {
    match result {
        Err(CallError::Rpc { error, .. }) => error.code,
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

async fn on_chain(net: &Net, hash: B256) -> (bool, U256) {
    let conn = connect(net.anvil.url(), net.anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let msm = MachServiceManager::new(net.deployment.mach_service_manager, &conn.provider);
    (
        msm.contains(hash).call().await.unwrap(),
        msm.totalAlerts().call().await.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_three_confirm_and_every_signer_gets_the_transaction() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let (handle, client) = start(&net, db.path(), |c| c.response_wait_seconds = 60).await;
    let hash = B256::repeat_byte(0x11);
    let task = create_task(&client, hash).await;
    assert_eq!(task.alert_hash, hash);
    assert_eq!(task.quorum_numbers, vec![0]);
    // The same alert hash returns the same task.
    assert_eq!(create_task(&client, hash).await, task);

    let (a, b) = tokio::join!(
        sign(&client, &task, &net.operators[0].1),
        sign(&client, &task, &net.operators[1].1)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.reply && b.reply);
    assert_ne!(a.tx_hash, B256::ZERO);
    assert_eq!(a.tx_hash, b.tx_hash);
    assert_eq!(on_chain(&net, hash).await, (true, U256::from(1)));

    // A late signer is accepted and told the same transaction; nothing is sent again.
    let c = sign(&client, &task, &net.operators[2].1).await.unwrap();
    assert_eq!(c.tx_hash, a.tx_hash);
    assert_eq!(on_chain(&net, hash).await, (true, U256::from(1)));
    let record = handle.service.task(&hash).unwrap().unwrap();
    assert_eq!(record.signatures.len(), 3);
    assert_eq!(record.status, TaskStatus::Confirmed { tx_hash: a.tx_hash });

    // A second alert gets the next task index.
    let next = create_task(&client, B256::repeat_byte(0x12)).await;
    assert_eq!(next.task_index, task.task_index + 1);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_three_is_below_the_threshold_and_the_task_stays_open() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let (handle, client) = start(&net, db.path(), |_| {}).await;
    let hash = B256::repeat_byte(0x21);
    let task = create_task(&client, hash).await;
    let reply = sign(&client, &task, &net.operators[0].1).await.unwrap();
    assert!(reply.reply);
    assert_eq!(reply.tx_hash, B256::ZERO);
    assert_eq!(on_chain(&net, hash).await, (false, U256::ZERO));
    let record = handle.service.task(&hash).unwrap().unwrap();
    assert_eq!(record.status, TaskStatus::Open);
    assert_eq!(record.signatures.len(), 1);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_and_bad_requests_are_refused_without_blocking_others() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let (handle, client) = start(&net, db.path(), |c| c.response_wait_seconds = 60).await;
    let hash = B256::repeat_byte(0x31);
    let task = create_task(&client, hash).await;

    // Operator 1 signs the wrong hash: refused, and it may still sign correctly later.
    let mut wrong = task.clone();
    wrong.reference_block_number -= 1;
    let bad = net.operators[0].1.sign(&wrong.sign_hash());
    let result = client
        .call::<SignedTaskResponseReply>(
            "aggregator_processSignedTaskResponse",
            json!([
                task,
                Bytes::from(bad.to_bytes().to_vec()),
                Bytes::from(net.operators[0].1.operator_id().0.to_vec())
            ]),
        )
        .await;
    assert_eq!(rpc_code(result), error_codes::BAD_SIGNATURE);

    // A key that is not registered, a task that is not the current one, malformed params.
    let stranger = BlsSecretKey::random();
    assert_eq!(
        rpc_code(sign(&client, &task, &stranger).await),
        error_codes::NOT_REGISTERED
    );
    assert_eq!(
        rpc_code(sign(&client, &wrong, &net.operators[0].1).await),
        error_codes::UNKNOWN_TASK
    );
    let mut unknown = task.clone();
    unknown.alert_hash = B256::repeat_byte(0x39);
    assert_eq!(
        rpc_code(sign(&client, &unknown, &net.operators[0].1).await),
        error_codes::UNKNOWN_TASK
    );
    let malformed = client
        .call::<SignedTaskResponseReply>(
            "aggregator_processSignedTaskResponse",
            json!([task, "0x1234", "0x00"]),
        )
        .await;
    assert_eq!(rpc_code(malformed), mach_jsonrpc::codes::INVALID_PARAMS);
    let not_a_method = client
        .call::<serde_json::Value>("aggregator_nope", json!([]))
        .await;
    assert!(
        matches!(not_a_method, Err(CallError::Rpc { error, .. }) if error.code == mach_jsonrpc::codes::METHOD_NOT_FOUND)
    );

    // Operators 2 and 3 sign correctly (concurrently, so verified as one batch) and confirm.
    let (b, c) = tokio::join!(
        sign(&client, &task, &net.operators[1].1),
        sign(&client, &task, &net.operators[2].1)
    );
    let (b, c) = (b.unwrap(), c.unwrap());
    assert_ne!(b.tx_hash, B256::ZERO);
    assert_eq!(b.tx_hash, c.tx_hash);
    // The same signature again is answered as the first time; another one is a duplicate.
    assert_eq!(
        sign(&client, &task, &net.operators[1].1)
            .await
            .unwrap()
            .tx_hash,
        b.tx_hash
    );
    let other = net.operators[1].1.sign(&wrong.sign_hash());
    let duplicate = client
        .call::<SignedTaskResponseReply>(
            "aggregator_processSignedTaskResponse",
            json!([
                task,
                Bytes::from(other.to_bytes().to_vec()),
                Bytes::from(net.operators[1].1.operator_id().0.to_vec())
            ]),
        )
        .await;
    assert_eq!(rpc_code(duplicate), error_codes::DUPLICATE);
    assert_eq!(on_chain(&net, hash).await, (true, U256::from(1)));
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_signatures_loses_nothing_and_confirms_once() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    // All three must sign, so the third signature after the restart completes the quorum.
    let extra: fn(&mut AggregatorConfig) = |c| c.quorum_threshold_percentages = vec![100];
    let hash = B256::repeat_byte(0x41);
    let task = {
        let (handle, client) = start(&net, db.path(), extra).await;
        let task = create_task(&client, hash).await;
        assert_eq!(task.quorum_threshold_percentages, vec![100]);
        for (_, key) in &net.operators[..2] {
            assert_eq!(sign(&client, &task, key).await.unwrap().tx_hash, B256::ZERO);
        }
        handle.shutdown().await;
        task
    };
    assert_eq!(on_chain(&net, hash).await, (false, U256::ZERO));

    let (handle, client) = start(&net, db.path(), extra).await;
    // The task survived with its index and signatures; a signer already counted that sends
    // again is answered with the task's state.
    assert_eq!(create_task(&client, hash).await, task);
    let (again, reply) = tokio::join!(
        sign(&client, &task, &net.operators[0].1),
        sign(&client, &task, &net.operators[2].1)
    );
    let reply = reply.unwrap();
    assert_ne!(reply.tx_hash, B256::ZERO);
    assert_eq!(again.unwrap().tx_hash, reply.tx_hash);
    assert_eq!(on_chain(&net, hash).await, (true, U256::from(1)));
    handle.shutdown().await;

    // Another restart after the confirmation resubmits nothing.
    let (handle, client) = start(&net, db.path(), extra).await;
    assert_eq!(create_task(&client, hash).await, task);
    let record = handle.service.task(&hash).unwrap().unwrap();
    assert_eq!(
        record.status,
        TaskStatus::Confirmed {
            tx_hash: reply.tx_hash
        }
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(on_chain(&net, hash).await, (true, U256::from(1)));
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_operator_checks_registration_and_settings() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let (handle, client) = start(&net, db.path(), |_| {}).await;
    let (address, key) = &net.operators[0];
    let d = &net.deployment;
    let init = |l1: u64, operator_id: B256| {
        json!([
            l1,
            1868,
            operator_id,
            address,
            d.operator_state_retriever,
            d.registry_coordinator
        ])
    };
    let ok: InitOperatorResponse = client
        .call("aggregator_initOperator", init(31337, key.operator_id().0))
        .await
        .unwrap();
    assert!(ok.ok, "{}", ok.reason);
    let wrong_key: InitOperatorResponse = client
        .call("aggregator_initOperator", init(31337, B256::repeat_byte(5)))
        .await
        .unwrap();
    assert!(
        !wrong_key.ok && wrong_key.reason.contains("another BLS key"),
        "{}",
        wrong_key.reason
    );
    let wrong_chain: InitOperatorResponse = client
        .call("aggregator_initOperator", init(1, key.operator_id().0))
        .await
        .unwrap();
    assert!(
        !wrong_chain.ok && wrong_chain.reason.contains("LAYER1_CHAIN_ID"),
        "{}",
        wrong_chain.reason
    );
    // Out-of-range chain IDs are named as such, not as "not a number".
    let huge: serde_json::Value = serde_json::from_str("1180591620717411303424").unwrap();
    for bad in [huge, json!(-1)] {
        let mut params = init(31337, key.operator_id().0);
        params[0] = bad.clone();
        let refused = client
            .call::<InitOperatorResponse>("aggregator_initOperator", params)
            .await;
        match refused {
            Err(CallError::Rpc { error, .. }) => {
                assert_eq!(error.code, mach_jsonrpc::codes::INVALID_PARAMS);
                assert!(error.message.contains("0 to 2^64-1"), "{bad}: {error}");
            }
            other => panic!("{bad}: expected invalid params, got {other:?}"),
        }
    }
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_refuses_a_key_that_is_not_the_confirmer_and_a_low_threshold() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let stranger = connect(net.anvil.url(), net.anvil.dev_signer(5).unwrap())
        .await
        .unwrap();
    let e = mach_aggregator::start(
        config(&net, db.path(), |_| {}),
        stranger,
        &net.deployment.avs(),
    )
    .await
    .err()
    .unwrap();
    assert!(e.to_string().contains("not the alert confirmer"), "{e}");
    let admin = connect(net.anvil.url(), net.anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let e = mach_aggregator::start(
        config(&net, db.path(), |c| {
            c.quorum_threshold_percentages = vec![1]
        }),
        admin,
        &net.deployment.avs(),
    )
    .await
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("below the contract's minimum"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_task_refuses_signatures_and_the_alert_gets_a_new_task() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let (handle, client) = start(&net, db.path(), |c| c.task_expiry_seconds = 1).await;
    let hash = B256::repeat_byte(0x51);
    let task = create_task(&client, hash).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        rpc_code(sign(&client, &task, &net.operators[0].1).await),
        error_codes::EXPIRED
    );
    let renewed = create_task(&client, hash).await;
    assert_eq!(renewed.task_index, task.task_index + 1);
    assert!(renewed.reference_block_number >= task.reference_block_number);
    // The old task is no longer the alert's task; the new one accepts signatures.
    assert_eq!(
        rpc_code(sign(&client, &task, &net.operators[0].1).await),
        error_codes::UNKNOWN_TASK
    );
    assert!(
        sign(&client, &renewed, &net.operators[0].1)
            .await
            .unwrap()
            .reply
    );
    assert!(handle.service.task(&hash).unwrap().is_some());
    handle.shutdown().await;
    // Once expired, the stored task is pruned (here at the next start).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (handle, _client) = start(&net, db.path(), |c| c.task_expiry_seconds = 1).await;
    assert_eq!(handle.service.task(&hash).unwrap(), None);
    handle.shutdown().await;
}

/// Confirms a fresh alert with two of the three operators and checks it is the `total`-th alert
/// on L1: the alert after a restart goes through as any other.
async fn confirm_next(net: &Net, client: &Client, hash: B256, total: u64) {
    let task = create_task(client, hash).await;
    let (a, b) = tokio::join!(
        sign(client, &task, &net.operators[0].1),
        sign(client, &task, &net.operators[1].1)
    );
    assert_ne!(a.unwrap().tx_hash, B256::ZERO);
    assert_ne!(b.unwrap().tx_hash, B256::ZERO);
    assert_eq!(on_chain(net, hash).await, (true, U256::from(total)));
}

async fn anvil_call(net: &Net, method: &str, params: serde_json::Value) -> serde_json::Value {
    Client::new(net.anvil.url(), Duration::from_secs(10))
        .call(method, params)
        .await
        .unwrap()
}

/// Polls `check` every 50 ms for up to 30 s.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_before_any_signature_is_stored_forgets_the_task_and_loses_nothing() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let hash = B256::repeat_byte(0x61);
    let task = {
        let (handle, client) = start(&net, db.path(), |_| {}).await;
        let task = create_task(&client, hash).await;
        // Unsigned, the task is neither stored nor given an actor.
        assert_eq!(handle.service.task(&hash).unwrap(), None);
        assert_eq!(handle.service.running_actors(), 0);
        handle.shutdown().await;
        task
    };
    let (handle, client) = start(&net, db.path(), |_| {}).await;
    // The signer's call after the restart names a task the aggregator no longer has: the node
    // is told to create it again, and the retry goes through.
    assert_eq!(
        rpc_code(sign(&client, &task, &net.operators[0].1).await),
        error_codes::UNKNOWN_TASK
    );
    confirm_next(&net, &client, hash, 1).await;
    confirm_next(&net, &client, B256::repeat_byte(0x62), 2).await;
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_a_signature_is_stored_but_before_the_answer_loses_nothing() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let extra: fn(&mut AggregatorConfig) = |c| c.response_wait_seconds = 60;
    let hash = B256::repeat_byte(0x71);
    let task = {
        let (handle, client) = start(&net, db.path(), extra).await;
        let task = create_task(&client, hash).await;
        // Operator 1's call waits for the quorum; the aggregator stops while it waits, after
        // its signature was stored.
        let waiting = {
            let (client, task, key) = (client.clone(), task.clone(), net.operators[0].1.clone());
            tokio::spawn(async move { sign(&client, &task, &key).await })
        };
        until("the signature is stored", async || {
            handle
                .service
                .task(&hash)
                .unwrap()
                .is_some_and(|r| r.signatures.len() == 1)
        })
        .await;
        handle.shutdown().await;
        assert!(waiting.await.unwrap().is_err(), "the signer got no answer");
        task
    };
    let (handle, client) = start(&net, db.path(), extra).await;
    // Operator 1 sends the same signature again: answered with the task's state, not refused;
    // with operator 2 the quorum is reached and both get the one transaction.
    let (again, second) = tokio::join!(
        sign(&client, &task, &net.operators[0].1),
        sign(&client, &task, &net.operators[1].1)
    );
    let (again, second) = (again.unwrap(), second.unwrap());
    assert_ne!(second.tx_hash, B256::ZERO);
    assert_eq!(again.tx_hash, second.tx_hash);
    assert_eq!(on_chain(&net, hash).await, (true, U256::from(1)));
    confirm_next(&net, &client, B256::repeat_byte(0x72), 2).await;
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_confirm_alert_is_in_flight_confirms_exactly_once() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let extra: fn(&mut AggregatorConfig) = |c| c.response_wait_seconds = 60;
    let hash = B256::repeat_byte(0x81);
    let task = {
        let (handle, client) = start(&net, db.path(), extra).await;
        let task = create_task(&client, hash).await;
        // Blocks are no longer mined: the confirmAlert transaction stays in the pool.
        anvil_call(&net, "evm_setAutomine", json!([false])).await;
        let signers: Vec<_> = net.operators[..2]
            .iter()
            .map(|(_, key)| {
                let (client, task, key) = (client.clone(), task.clone(), key.clone());
                tokio::spawn(async move { sign(&client, &task, &key).await })
            })
            .collect();
        until("confirmAlert is in the pool", async || {
            let pool = anvil_call(&net, "txpool_status", json!([])).await;
            let submitting = handle
                .service
                .task(&hash)
                .unwrap()
                .is_some_and(|r| r.status == TaskStatus::Submitting);
            submitting && pool["pending"] != json!("0x0") && pool["pending"] != json!(0)
        })
        .await;
        handle.shutdown().await;
        for signer in signers {
            assert!(signer.await.unwrap().is_err(), "a signer got an answer");
        }
        // The transaction lands while the aggregator is down.
        anvil_call(&net, "evm_setAutomine", json!([true])).await;
        anvil_call(&net, "evm_mine", json!([])).await;
        task
    };
    assert_eq!(on_chain(&net, hash).await, (true, U256::from(1)));
    let (handle, client) = start(&net, db.path(), extra).await;
    // The resumed task finds its alert on L1, sends nothing, and tells the signers.
    until("the resumed task is confirmed", async || {
        handle
            .service
            .task(&hash)
            .unwrap()
            .is_some_and(|r| r.status.is_final())
    })
    .await;
    let reply = sign(&client, &task, &net.operators[0].1).await.unwrap();
    assert_ne!(reply.tx_hash, B256::ZERO);
    assert_eq!(
        handle.service.task(&hash).unwrap().unwrap().status,
        TaskStatus::Confirmed {
            tx_hash: reply.tx_hash
        }
    );
    assert_eq!(on_chain(&net, hash).await, (true, U256::from(1)));
    confirm_next(&net, &client, B256::repeat_byte(0x82), 2).await;
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_tasks_are_bounded_expire_and_are_never_stored() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let extra: fn(&mut AggregatorConfig) = |c| {
        c.max_pending_tasks = 3;
        c.pending_task_seconds = 4;
        c.response_wait_seconds = 1;
    };
    let (handle, client) = start(&net, db.path(), extra).await;
    let mut tasks = Vec::new();
    for i in 0..10u8 {
        tasks.push(create_task(&client, B256::repeat_byte(0xa0 + i)).await);
    }
    assert_eq!(handle.service.pending_tasks(), 3);
    assert_eq!(handle.service.running_actors(), 0);
    assert!(tasks
        .iter()
        .all(|t| handle.service.task(&t.alert_hash).unwrap().is_none()));
    // The oldest were forgotten; the newest still accept a signature, which stores the task.
    assert_eq!(
        rpc_code(sign(&client, &tasks[0], &net.operators[0].1).await),
        error_codes::UNKNOWN_TASK
    );
    // A refused signature does not store an unsigned task either.
    let stranger = BlsSecretKey::random();
    assert_eq!(
        rpc_code(sign(&client, &tasks[8], &stranger).await),
        error_codes::NOT_REGISTERED
    );
    assert_eq!(handle.service.task(&tasks[8].alert_hash).unwrap(), None);
    let newest = &tasks[9];
    assert!(
        sign(&client, newest, &net.operators[0].1)
            .await
            .unwrap()
            .reply
    );
    let stored = handle.service.task(&newest.alert_hash).unwrap().unwrap();
    assert_eq!(stored.info, *newest);
    assert_eq!(handle.service.pending_tasks(), 2);
    // Past pending_task_seconds an unsigned task is expired, and the alert gets a new one.
    tokio::time::sleep(Duration::from_millis(4_100)).await;
    assert_eq!(
        rpc_code(sign(&client, &tasks[8], &net.operators[0].1).await),
        error_codes::EXPIRED
    );
    let renewed = create_task(&client, tasks[8].alert_hash).await;
    assert!(renewed.task_index > newest.task_index);
    // Actors end once nobody waits on them.
    until("the actors have ended", async || {
        handle.service.running_actors() == 0
    })
    .await;
    handle.shutdown().await;
    // After a restart indices go on past every stored task.
    let (handle, client) = start(&net, db.path(), extra).await;
    assert_eq!(handle.service.pending_tasks(), 0);
    let after = create_task(&client, B256::repeat_byte(0xbf)).await;
    assert!(after.task_index > newest.task_index);
    handle.shutdown().await;
}

/// Any pause flag stops `confirmAlert`, as in the deployed contract ("Pausable: contract is
/// paused"): the aggregator keeps the task, retries, and confirms once the flag is cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_service_manager_holds_the_alert_until_it_is_unpaused() {
    let net = network().await;
    let admin = connect(net.anvil.url(), net.anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let msm = MachServiceManager::new(net.deployment.mach_service_manager, &admin.provider);
    // Bit 5, to show that it is not one particular flag: any flag set stops alerts.
    admin
        .send(
            "pause",
            msm.pause(U256::from(1u64) << 5).into_transaction_request(),
        )
        .await
        .unwrap();
    let db = tempfile::tempdir().unwrap();
    let (handle, client) = start(&net, db.path(), |_| {}).await;
    let hash = B256::repeat_byte(0x61);
    let task = create_task(&client, hash).await;
    let (a, b) = tokio::join!(
        sign(&client, &task, &net.operators[0].1),
        sign(&client, &task, &net.operators[1].1)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.reply && b.reply);
    assert_eq!(a.tx_hash, B256::ZERO, "no transaction while paused");
    assert_eq!(on_chain(&net, hash).await, (false, U256::ZERO));
    let record = handle.service.task(&hash).unwrap().unwrap();
    assert!(
        matches!(record.status, TaskStatus::Open | TaskStatus::Submitting),
        "the task stays pending while paused: {:?}",
        record.status
    );

    admin
        .send(
            "unpause",
            msm.unpause(U256::ZERO).into_transaction_request(),
        )
        .await
        .unwrap();
    until("the alert is confirmed after the unpause", async || {
        on_chain(&net, hash).await == (true, U256::from(1))
    })
    .await;
    until("the task records the transaction", async || {
        matches!(
            handle.service.task(&hash).unwrap().unwrap().status,
            TaskStatus::Confirmed { tx_hash } if tx_hash != B256::ZERO
        )
    })
    .await;
    handle.shutdown().await;
}

/// Signers that arrive together reach one actor: none of them is told the aggregator is
/// stopping (it used to happen when two of them each started an actor for a fresh task).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signers_arriving_together_all_get_the_one_transaction() {
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let (handle, client) = start(&net, db.path(), |c| c.response_wait_seconds = 60).await;
    for round in 0..10u8 {
        let hash = B256::repeat_byte(0xa0 + round);
        let task = create_task(&client, hash).await;
        let (a, b, c) = tokio::join!(
            sign(&client, &task, &net.operators[0].1),
            sign(&client, &task, &net.operators[1].1),
            sign(&client, &task, &net.operators[2].1)
        );
        let replies = [a.unwrap(), b.unwrap(), c.unwrap()];
        assert!(replies.iter().all(|r| r.reply && r.tx_hash != B256::ZERO));
        assert!(replies.iter().all(|r| r.tx_hash == replies[0].tx_hash));
        assert_eq!(
            on_chain(&net, hash).await,
            (true, U256::from(u64::from(round) + 1))
        );
    }
    handle.shutdown().await;
}

/// `mach aggregator` runs the aggregator under the process's supervisor: the JSON-RPC server and
/// the pruner are critical tasks. When one dies the aggregator stops with an error naming it:
/// the alert actors stop on the same token (a signer waiting on one is told to retry), and the
/// store is closed for the restart, which resumes from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_critical_task_stops_the_aggregator_with_an_error_naming_it() {
    use mach_aggregator::server::AGGREGATOR_SERVER;
    use mach_aggregator::service::TASK_PRUNER;
    let net = network().await;
    let db = tempfile::tempdir().unwrap();
    let conn = connect(net.anvil.url(), net.anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    let mut supervisor = Supervisor::new();
    let started = mach_aggregator::start_supervised(
        config(&net, db.path(), |c| c.response_wait_seconds = 60),
        conn,
        &net.deployment.avs(),
        &mut supervisor,
    )
    .await
    .unwrap();
    assert_eq!(supervisor.task_names(), [TASK_PRUNER, AGGREGATOR_SERVER]);
    let client = Client::new(
        &format!("http://{}", started.address),
        Duration::from_secs(60),
    );

    // One signer of three: below the threshold, it waits on the alert's actor.
    let hash = B256::repeat_byte(0x91);
    let task = create_task(&client, hash).await;
    let signer = {
        let url = format!("http://{}", started.address);
        let (task, key) = (task.clone(), net.operators[0].1.clone());
        tokio::spawn(
            async move { sign(&Client::new(&url, Duration::from_secs(60)), &task, &key).await },
        )
    };
    let stored = |service: &mach_aggregator::Aggregator| {
        service
            .task(&hash)
            .unwrap()
            .map_or(0, |record| record.signatures.len())
    };
    let waited = std::time::Instant::now();
    while stored(&started.service) == 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the signature was not stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(started.service.running_actors(), 1);

    // The pruner dies (aborted as a crash would end it).
    supervisor.abort_handle(TASK_PRUNER).unwrap().abort();
    let stopped = tokio::time::timeout(
        Duration::from_secs(30),
        supervisor.run_until(std::future::pending()),
    )
    .await
    .expect("the aggregator stops by itself")
    .unwrap_err();
    assert_eq!(
        stopped,
        Stopped::TaskEnded {
            task: TASK_PRUNER,
            reason: "was aborted".into()
        }
    );
    // The waiting signer was answered before the server closed: retry later.
    assert_eq!(rpc_code(signer.await.unwrap()), error_codes::UNAVAILABLE);
    assert!(client
        .call::<AlertTaskInfo>("aggregator_createTask", json!([hash]))
        .await
        .is_err());

    // The store was closed: a restart opens it and has the signature.
    drop(started);
    let (handle, _client) = start(&net, db.path(), |_| {}).await;
    assert_eq!(stored(&handle.service), 1);
    handle.shutdown().await;
}

/// Log lines of this test binary (every test's), captured from the first call on by one global
/// subscriber: what an operator would read in the aggregator's log.
fn captured_logs() -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::sync::{Arc, Mutex, OnceLock};
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
            lines.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || Lines(sink.clone()))
            .try_init()
            .expect("no other subscriber in this test binary");
        logs
    })
    .clone()
}

/// The value of one sample (`name{labels}`) on the aggregator's `/metrics`, 0 if absent.
async fn sample(metrics_url: &str, series: &str) -> f64 {
    let text = reqwest::get(metrics_url)
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Issue 21: the confirmer's key is in a web3signer that goes down after the aggregator started.
/// The quorum's confirmAlert fails with an error naming web3signer and its setting, the failure
/// is counted on /metrics, and the alert is not lost: it stays open with its signatures and is
/// retried every 5 s, and is confirmed on L1 once the signer is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_waits_for_an_unreachable_signer_and_is_confirmed_when_it_is_back() {
    use mach_aggregator::metrics::METRICS_SERVER;
    use mach_test_support::web3signer::{self, Behaviour};
    let logs = captured_logs();
    let net = network().await;
    let confirmer = net.anvil.dev_signer(0).unwrap();
    let mut web3signer = web3signer::start(confirmer.clone(), Behaviour::Honest).await;
    let signer = mach_chain::Web3Signer::connect(
        &web3signer.url,
        confirmer.address(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let conn = connect(net.anvil.url(), mach_chain::EcdsaSigner::from(signer))
        .await
        .unwrap();
    let db = tempfile::tempdir().unwrap();
    let mut supervisor = Supervisor::new();
    let started = mach_aggregator::start_supervised(
        config(&net, db.path(), |c| {
            c.metrics_ip_port_address = Some("127.0.0.1:0".into())
        }),
        conn,
        &net.deployment.avs(),
        &mut supervisor,
    )
    .await
    .unwrap();
    assert!(supervisor.task_names().contains(&METRICS_SERVER));
    let running = supervisor.run_in_background();
    let client = Client::new(
        &format!("http://{}", started.address),
        Duration::from_secs(60),
    );
    let metrics = format!("http://{}/metrics", started.metrics_address.unwrap());
    let errors = "mach_ecdsa_signer_errors_total{signer=\"web3signer\"}";
    let failures = "mach_confirm_alert_failures_total";
    assert_eq!(sample(&metrics, failures).await, 0.0);

    // web3signer goes down; two of three operators sign: the quorum is reached, but the
    // signers are answered without a transaction (response_wait_seconds is 2).
    web3signer.stop().await;
    let hash = B256::repeat_byte(0x5e);
    let task = create_task(&client, hash).await;
    let (a, b) = tokio::join!(
        sign(&client, &task, &net.operators[0].1),
        sign(&client, &task, &net.operators[1].1)
    );
    assert_eq!(a.unwrap().tx_hash, B256::ZERO);
    assert_eq!(b.unwrap().tx_hash, B256::ZERO);

    // confirmAlert fails, and is tried again 5 s later: two failures, both the signer's.
    let waited = std::time::Instant::now();
    while sample(&metrics, failures).await < 2.0 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "confirmAlert was not retried while the signer was down"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(sample(&metrics, errors).await >= 2.0);
    let log = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    let line = log
        .lines()
        .find(|line| line.contains("confirmAlert failed") && line.contains(&hash.to_string()))
        .unwrap_or_else(|| panic!("no confirmAlert failure logged for {hash}"));
    assert!(
        line.contains(&format!(
            "cannot reach the web3signer at {}",
            web3signer.url
        )),
        "{line}"
    );
    assert!(line.contains("MACH_WEB3SIGNER_URL"), "{line}");
    assert!(line.contains("retrying in 5 s"), "{line}");
    // Nothing lost: the task is open with both signatures, and nothing reached L1.
    let record = started.service.task(&hash).unwrap().unwrap();
    assert_eq!(record.status, TaskStatus::Open);
    assert_eq!(record.signatures.len(), 2);
    assert!(!on_chain(&net, hash).await.0);

    // web3signer is back: the next retry confirms the alert on L1.
    web3signer.restart().await;
    let waited = std::time::Instant::now();
    while !on_chain(&net, hash).await.0 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the alert was not confirmed after the signer came back; log:\n{}",
            String::from_utf8_lossy(&logs.lock().unwrap())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let waited = std::time::Instant::now();
    let tx_hash = loop {
        match started.service.task(&hash).unwrap().unwrap().status {
            TaskStatus::Confirmed { tx_hash } => break tx_hash,
            _ => {
                assert!(waited.elapsed() < Duration::from_secs(30));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_ne!(tx_hash, B256::ZERO);
    assert_eq!(sample(&metrics, "mach_alerts_confirmed_total").await, 1.0);
    let signatures = sample(
        &metrics,
        "mach_ecdsa_sign_duration_seconds_count{signer=\"web3signer\"}",
    )
    .await;
    assert!(signatures >= 3.0, "{signatures} signatures timed");
    // A signer that asks again gets the transaction.
    assert_eq!(
        sign(&client, &task, &net.operators[0].1)
            .await
            .unwrap()
            .tx_hash,
        tx_hash
    );
    running.stop().await.unwrap();
    started.service.stopped().await;
}
