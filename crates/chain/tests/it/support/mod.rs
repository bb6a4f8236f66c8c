//! Servers and chains the signer tests run against.

pub mod moto;
pub use mach_test_support::web3signer;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use mach_devnet::{Anvil, AnvilConfig};

/// An anvil chain and a funded dev account's connection.
pub async fn chain() -> (Anvil, mach_chain::Connection) {
    let anvil = Anvil::spawn(&AnvilConfig::new(31_337)).expect("start anvil (run `make setup`)");
    let admin = mach_chain::connect(anvil.url(), anvil.dev_signer(0).unwrap())
        .await
        .unwrap();
    (anvil, admin)
}

/// Sends `to` 10 ETH from `admin`.
pub async fn fund(admin: &mach_chain::Connection, to: Address) {
    let eth = U256::from(10u64).pow(U256::from(18));
    admin
        .send(
            "fund the signer",
            TransactionRequest::default()
                .to(to)
                .value(eth * U256::from(10)),
        )
        .await
        .unwrap();
}

/// Sends 1 wei from `conn`'s account (signed by its signer) and checks the chain took it from
/// that account.
pub async fn send_one_wei(conn: &mach_chain::Connection) {
    let to = Address::repeat_byte(0x42);
    let before = conn.provider.get_balance(to).await.unwrap();
    let receipt = conn
        .send(
            "send 1 wei",
            TransactionRequest::default().to(to).value(U256::from(1)),
        )
        .await
        .unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.from, conn.sender);
    assert_eq!(
        conn.provider.get_balance(to).await.unwrap(),
        before + U256::from(1)
    );
}
