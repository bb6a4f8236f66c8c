//! `mach operator config create | register | update | status` with the `eigenlayer` CLI's
//! `operator.yaml` and `metadata.json`: the files written, then loaded, its metadata fetched and checked, its key decrypted and compared with the file,
//! the chain checked, and every refusal explained before a transaction is sent.

use crate::operator::{self, ElOperatorStatus, OperatorDetails};
use crate::signer::{EcdsaSignerConfig, SignerChoice};
use crate::{ChainError, Connection};
use alloy::primitives::Address;
use mach_keys::{KeyFile, KeyType, PublicKeyInfo};
use mach_primitives::error_text;
use mach_primitives::operator::{is_http_url, OperatorFile, OperatorMetadata, OperatorSection};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn refused(message: String) -> ChainError {
    ChainError::Refused(message)
}

/// Where a new operator's ECDSA key is, as `operator.yaml` will say.
#[derive(Clone, Debug)]
pub enum NewOperatorKey {
    /// A key file (`signer_type: local_keystore`); its address becomes the operator's.
    KeyFile(PathBuf),
    /// A web3signer holding the key of `address` (`signer_type: web3`).
    Web3Signer {
        /// web3signer's HTTP address.
        url: String,
        /// The operator's address.
        address: Address,
    },
}

/// The settings of a new `operator.yaml`, as `mach operator config create` asks for them.
#[derive(Clone, Debug)]
pub struct NewOperator {
    /// The operator's ECDSA key.
    pub key: NewOperatorKey,
    /// Who must approve delegations (zero: anyone may delegate).
    pub delegation_approver: Address,
    /// Blocks a staker must wait to undelegate.
    pub staker_opt_out_window_blocks: u32,
    /// Where `metadata.json` will be published (http(s)).
    pub metadata_url: String,
    /// The L1 JSON-RPC endpoint.
    pub rpc_url: String,
    /// The L1 chain ID.
    pub chain_id: u64,
    /// EigenLayer's DelegationManager on that chain.
    pub delegation_manager: Address,
}

/// Checks `new` and `metadata`, reads the operator's address from the key file, and writes
/// `operator.yaml` and `metadata.json` in `dir` (created if needed; existing files are never
/// replaced). Returns the `operator.yaml` written and its path.
pub fn write_config(
    dir: &Path,
    new: NewOperator,
    metadata: &OperatorMetadata,
) -> Result<(OperatorFile, PathBuf), ChainError> {
    let problems = metadata.problems();
    if !problems.is_empty() {
        return Err(refused(format!(
            "metadata is not valid: {}",
            problems.join("; ")
        )));
    }
    let metadata_url = new.metadata_url;
    if !is_http_url(&metadata_url) {
        return Err(refused(format!("--metadata-url {metadata_url:?} must be an http(s) URL where metadata.json will be published")));
    }
    let (address, key_path, web3) = match new.key {
        NewOperatorKey::KeyFile(key_file) => {
            let key_file = std::path::absolute(&key_file).unwrap_or(key_file);
            let address = match KeyFile::read(&key_file, Some(KeyType::Ecdsa))?.public() {
                PublicKeyInfo::Ecdsa { address } => *address,
                PublicKeyInfo::Bls { .. } => {
                    return Err(refused(format!(
                        "{} is a BLS key file; pass the ECDSA key file",
                        key_file.display()
                    )))
                }
            };
            (address, key_file.to_string_lossy().into_owned(), None)
        }
        NewOperatorKey::Web3Signer { url, address } => {
            if !is_http_url(&url) {
                return Err(refused(format!(
                    "--web3signer-url {url:?} must be web3signer's http(s) address"
                )));
            }
            let web3 = mach_primitives::operator::Web3Section { url };
            (address, String::new(), Some(web3))
        }
    };
    let file = OperatorFile {
        operator: OperatorSection {
            address,
            delegation_approver_address: new.delegation_approver,
            staker_opt_out_window_blocks: new.staker_opt_out_window_blocks,
            metadata_url,
        },
        el_delegation_manager_address: new.delegation_manager,
        eth_rpc_url: new.rpc_url,
        chain_id: new.chain_id,
        private_key_store_path: key_path,
        signer_type: if web3.is_some() {
            "web3"
        } else {
            "local_keystore"
        }
        .into(),
        web3,
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| refused(format!("cannot create {}: {e}", dir.display())))?;
    let yaml_path = dir.join("operator.yaml");
    let metadata_path = dir.join("metadata.json");
    for path in [&yaml_path, &metadata_path] {
        if path.exists() {
            return Err(refused(format!(
                "{} already exists; move it away or choose another --dir",
                path.display()
            )));
        }
    }
    let metadata_json = serde_json::to_string_pretty(metadata)
        .map_err(|e| refused(format!("cannot write metadata.json: {e}")))?;
    for (path, text) in [
        (&yaml_path, file.to_yaml().map_err(refused)?),
        (&metadata_path, metadata_json + "\n"),
    ] {
        std::fs::write(path, text)
            .map_err(|e| refused(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok((file, yaml_path))
}

/// Reads `operator.yaml`.
pub fn load_file(path: &Path) -> Result<OperatorFile, ChainError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| refused(format!("cannot read {}: {e}", path.display())))?;
    OperatorFile::from_yaml(&text).map_err(|e| {
        refused(format!(
            "{} is not a valid operator.yaml: {e}",
            path.display()
        ))
    })
}

/// Fetches the metadata at `url` (http(s), `file://` or a local path) and checks its fields.
pub async fn check_metadata(url: &str) -> Result<(), ChainError> {
    let text = if is_http_url(url) {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| refused(error_text(&e)))?;
        let response = client.get(url).send().await.map_err(|e| {
            refused(format!(
                "cannot fetch the operator metadata from {url}; publish metadata.json there first: {}",
                error_text(&e)
            ))
        })?;
        if !response.status().is_success() {
            return Err(refused(format!("fetching the operator metadata from {url} returned {}; publish metadata.json there first", response.status())));
        }
        response.text().await.map_err(|e| {
            refused(format!(
                "cannot read the metadata at {url}: {}",
                error_text(&e)
            ))
        })?
    } else {
        let path = url.strip_prefix("file://").unwrap_or(url);
        tracing::warn!(
            url,
            "the metadata URL is not http(s); stakers and explorers will not be able to read it"
        );
        std::fs::read_to_string(path)
            .map_err(|e| refused(format!("cannot read the operator metadata at {url}: {e}")))?
    };
    let metadata: OperatorMetadata = serde_json::from_str(&text).map_err(|e| {
        refused(format!(
            "the metadata at {url} is not a valid metadata.json: {e}"
        ))
    })?;
    let problems = metadata.problems();
    if !problems.is_empty() {
        return Err(refused(format!(
            "the metadata at {url} is not valid: {}",
            problems.join("; ")
        )));
    }
    Ok(())
}

/// Loads `operator.yaml`, checks its metadata, and connects with the operator's signer: the one
/// `choice` names (flags, `MACH_*` variables), else the file's own (`signer_type:
/// local_keystore` with `private_key_store_path` and `choice.password_file`, or `web3` with
/// `web3.url`). The signer must sign for `operator.address` and the endpoint must be
/// `chain_id`. `timeout` bounds each request to a remote signer.
pub async fn connect_operator(
    path: &Path,
    choice: &SignerChoice,
    timeout: Duration,
) -> Result<(OperatorFile, Connection), ChainError> {
    let file = load_file(path)?;
    check_metadata(&file.operator.metadata_url).await?;
    let (config, source) = if !choice.is_empty() {
        (choice.config()?, "the --signer options")
    } else if file.signer_type == "web3" {
        let config = EcdsaSignerConfig::Web3Signer {
            url: file.web3_url().unwrap_or_default().to_string(),
            address: file.operator.address,
        };
        (config, "operator.yaml's web3.url")
    } else {
        let config = EcdsaSignerConfig::Keystore {
            path: PathBuf::from(&file.private_key_store_path),
            password_file: choice.password_file.clone(),
            password: None,
        };
        (config, "operator.yaml's private_key_store_path")
    };
    let signer = config.build(timeout).await?;
    if signer.address() != file.operator.address {
        return Err(refused(format!(
            "the {} signer ({source}) signs for {}, but operator.yaml says the operator is {}; \
             fix operator.address or point the signer at the operator's key",
            config.kind(),
            signer.address(),
            file.operator.address
        )));
    }
    let conn = crate::connect(&file.eth_rpc_url, signer).await?;
    if conn.chain_id != file.chain_id {
        return Err(refused(format!(
            "{} is chain {}, but operator.yaml says chain_id {}",
            file.eth_rpc_url, conn.chain_id, file.chain_id
        )));
    }
    Ok((file, conn))
}

/// The DelegationManager details `operator.yaml` asks for.
pub fn details(file: &OperatorFile) -> OperatorDetails {
    OperatorDetails {
        delegation_approver: file.operator.delegation_approver_address,
        staker_opt_out_window_blocks: file.operator.staker_opt_out_window_blocks,
    }
}

/// Registers the connection's account as an EigenLayer operator with `file`'s details and
/// metadata URI; refuses an account already registered or without ETH.
pub async fn register(conn: &Connection, file: &OperatorFile) -> Result<(), ChainError> {
    let dm = file.el_delegation_manager_address;
    let status = operator::el_status(conn, dm, conn.sender).await?;
    if status.registered {
        return Err(refused(format!("{} is already registered with EigenLayer; use `mach operator update` to change its details", conn.sender)));
    }
    if conn.balance().await?.is_zero() {
        return Err(refused(format!(
            "{} has no ETH to pay for the registration; fund it (the operator guide recommends 0.3 ETH on mainnet) and retry",
            conn.sender
        )));
    }
    operator::register_as_operator(conn, dm, &details(file), &file.operator.metadata_url).await
}

/// Updates the operator's details and metadata URI from `file` (read from `path`); refuses an
/// account not registered yet.
pub async fn update(conn: &Connection, file: &OperatorFile, path: &Path) -> Result<(), ChainError> {
    let dm = file.el_delegation_manager_address;
    let status = operator::el_status(conn, dm, conn.sender).await?;
    if !status.registered {
        return Err(refused(format!(
            "{} is not registered with EigenLayer yet; run `mach operator register {}` first",
            conn.sender,
            path.display()
        )));
    }
    operator::update_operator(conn, dm, &details(file), Some(&file.operator.metadata_url)).await
}

/// The operator `operator.yaml` at `path` names, and its EigenLayer status (read-only).
pub async fn status(path: &Path) -> Result<(OperatorFile, ElOperatorStatus), ChainError> {
    let file = load_file(path)?;
    let conn = crate::connect_read_only(&file.eth_rpc_url, file.operator.address).await?;
    let dm = file.el_delegation_manager_address;
    let status = operator::el_status(&conn, dm, file.operator.address).await?;
    Ok((file, status))
}
