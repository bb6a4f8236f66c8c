// Not in tests/it: it sets MACH_ANVIL_BIN, which would break every anvil the other tests start.
//! A missing anvil is reported with the fix (its own test binary: it changes the environment).

#![allow(clippy::unwrap_used)]

#[test]
fn missing_override_names_the_variable() {
    std::env::set_var("MACH_ANVIL_BIN", "/nonexistent/anvil");
    let err = mach_devnet::Anvil::spawn(&mach_devnet::AnvilConfig::new(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("MACH_ANVIL_BIN=/nonexistent/anvil"), "{err}");
    let not_found = mach_devnet::AnvilError::NotFound.to_string();
    assert!(
        not_found.contains("make setup") && not_found.contains("npm ci"),
        "{not_found}"
    );
}
