//! The embedded `MachServiceManager` ABI keeps every item of the deployed contract's ABI and
//! declares no error it lacks, and the bytecode the bindings deploy is present.

use alloy::json_abi::JsonAbi;
use std::collections::BTreeSet;
use std::path::Path;

fn signatures(abi: &JsonAbi) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(c) = &abi.constructor {
        let inputs: Vec<_> = c
            .inputs
            .iter()
            .map(|p| p.selector_type().into_owned())
            .collect();
        out.insert(format!("constructor({})", inputs.join(",")));
    }
    for f in abi.functions() {
        let outputs: Vec<_> = f
            .outputs
            .iter()
            .map(|p| p.selector_type().into_owned())
            .collect();
        out.insert(format!(
            "function {} returns ({}) {:?}",
            f.signature(),
            outputs.join(","),
            f.state_mutability
        ));
    }
    for e in abi.events() {
        let indexed: Vec<_> = e.inputs.iter().map(|p| p.indexed).collect();
        out.insert(format!("event {} indexed {indexed:?}", e.signature()));
    }
    for e in abi.errors() {
        out.insert(format!("error {}", e.signature()));
    }
    out
}

#[test]
fn mach_service_manager_abi_is_a_superset_of_mainnet() {
    let reference_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/MachServiceManager.abi.json");
    let text = std::fs::read_to_string(&reference_path).unwrap_or_else(|e| {
        panic!(
            "reference ABI {} is needed by this test: {e}",
            reference_path.display()
        )
    });
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let reference: JsonAbi = serde_json::from_value(value["abi"].clone()).unwrap();
    let ours: JsonAbi = serde_json::from_str(include_str!("../artifacts/MachServiceManager.json"))
        .map(|v: serde_json::Value| serde_json::from_value(v["abi"].clone()).unwrap())
        .unwrap();
    let reference = signatures(&reference);
    assert!(reference.len() > 70, "reference ABI looks truncated");
    let ours = signatures(&ours);
    let missing: Vec<_> = reference.difference(&ours).collect();
    assert!(
        missing.is_empty(),
        "items of the mainnet ABI missing from ours: {missing:#?}"
    );
    // A client decoding with the deployed ABI must be able to read every custom error we raise.
    let extra_errors: Vec<_> = ours
        .difference(&reference)
        .filter(|item| item.starts_with("error "))
        .collect();
    assert!(
        extra_errors.is_empty(),
        "custom errors the mainnet ABI lacks: {extra_errors:#?}"
    );
}

#[test]
fn bindings_carry_deployable_bytecode() {
    for (name, code) in [
        (
            "MachServiceManager",
            &mach_contracts::MachServiceManager::BYTECODE,
        ),
        ("ProxyAdmin", &mach_contracts::ProxyAdmin::BYTECODE),
        (
            "TransparentUpgradeableProxy",
            &mach_contracts::TransparentUpgradeableProxy::BYTECODE,
        ),
        ("PauserRegistry", &mach_contracts::PauserRegistry::BYTECODE),
        ("EmptyContract", &mach_contracts::EmptyContract::BYTECODE),
        ("TestERC20", &mach_contracts::TestERC20::BYTECODE),
        ("ERC20Strategy", &mach_contracts::ERC20Strategy::BYTECODE),
    ] {
        assert!(code.len() > 16, "{name} has no bytecode");
    }
}
