//! The node's configuration: the reference `.env` variables and `avs_configs.json`.

use alloy::primitives::Address;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration problem, naming the variable or file and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// One entry of `avs_configs.json`: a rollup's MACH AVS.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AvsConfig {
    /// The AVS name; alerts select it by `avs_name` or URL path `/<avs_name>`.
    pub avs_name: String,
    /// Per-method quorum settings (informational: the aggregator decides the task's quorums).
    #[serde(default)]
    pub methods: Vec<AvsMethod>,
    /// The AVS's RegistryCoordinator.
    pub avs_registry_coordinator_address: Address,
    /// The AVS's OperatorStateRetriever.
    pub operator_state_retriever_address: Address,
    /// The AVS's MachServiceManager.
    #[serde(default)]
    pub avs_contract_address: Option<Address>,
    /// Aggregator for this AVS, overriding `AGGREGATOR_JSONRPC_SERVER_URL`.
    #[serde(default)]
    pub aggregator_url: Option<String>,
}

impl AvsConfig {
    /// The AVS's three contract addresses, reading from chain what the entry leaves out.
    pub async fn addresses(
        &self,
        conn: &mach_chain::Connection,
    ) -> Result<mach_chain::AvsAddresses, mach_chain::ChainError> {
        mach_chain::avs::resolve_addresses(
            conn,
            self.avs_registry_coordinator_address,
            Some(self.operator_state_retriever_address),
            self.avs_contract_address,
        )
        .await
    }
}

/// A method entry of an AVS (`confirmAlert` with its quorums).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AvsMethod {
    /// Contract method, `confirmAlert`.
    pub method: String,
    /// Quorums it uses.
    #[serde(default)]
    pub quorum_numbers: Vec<u8>,
    /// Their thresholds.
    #[serde(default)]
    pub quorum_threshold_percentages: Vec<u8>,
}

/// Reads `avs_configs.json`: a non-empty list with unique names.
pub fn load_avs_configs(path: &Path) -> Result<Vec<AvsConfig>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read the AVS list {}: {e}", path.display())))?;
    let list: Vec<AvsConfig> = serde_json::from_str(&text).map_err(|e| {
        ConfigError(format!(
            "{} is not a valid avs_configs.json: {e}",
            path.display()
        ))
    })?;
    if list.is_empty() {
        return Err(ConfigError(format!("{} lists no AVS", path.display())));
    }
    for (i, avs) in list.iter().enumerate() {
        if avs.avs_name.is_empty() || avs.avs_name.contains('/') {
            return Err(ConfigError(format!(
                "{}: entry {i} has an invalid avs_name {:?}",
                path.display(),
                avs.avs_name
            )));
        }
        if list[..i].iter().any(|other| other.avs_name == avs.avs_name) {
            return Err(ConfigError(format!(
                "{}: avs_name {:?} appears twice",
                path.display(),
                avs.avs_name
            )));
        }
    }
    Ok(list)
}

/// Which BLS signer the node uses (`NODE_BLS_SIGNER`).
#[derive(Clone, Debug, Default)]
pub enum BlsSignerConfig {
    /// The key file, decrypted at start (`keystore`, the default).
    #[default]
    Keystore,
    /// A Cerberus remote signer (`cerberus`, with the `NODE_BLS_CERBERUS_*` variables).
    Cerberus(crate::cerberus::CerberusSettings),
}

/// Everything `mach node` runs with.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The AVSs served.
    pub avs: Vec<AvsConfig>,
    /// Alert JSON-RPC listen address (`OPERATOR_SERVER_URL`).
    pub server_addr: SocketAddr,
    /// BLS key file (`BLS_PRIVATE_KEY_PATH` if that file exists, else `NODE_BLS_KEY_FILE_HOST`);
    /// empty when the signer is Cerberus and neither is set.
    pub bls_key_file: PathBuf,
    /// Which BLS signer signs alerts (`NODE_BLS_SIGNER`).
    pub bls_signer: BlsSignerConfig,
    /// Its password (`OPERATOR_BLS_KEY_PASSWORD`; set-but-empty is the empty password).
    pub bls_key_password: Option<String>,
    /// The operator's address (`OPERATOR_ECDSA_ADDRESS`).
    pub operator_address: Address,
    /// L1 RPC (`ETH_RPC_URL`).
    pub eth_rpc_url: String,
    /// L1 chain ID the RPC must report (`LAYER1_CHAIN_ID`).
    pub layer1_chain_id: Option<u64>,
    /// Default aggregator (`AGGREGATOR_JSONRPC_SERVER_URL`).
    pub aggregator_url: Option<String>,
    /// Metrics listen address when enabled (`ENABLE_METRICS`, `EIGEN_METRICS_URL`).
    pub metrics_addr: Option<SocketAddr>,
    /// Node API listen address when enabled (`ENABLE_NODE_API`, `NODE_API_URL`).
    pub node_api_addr: Option<SocketAddr>,
    /// How long without a work proof before a verifier counts as down.
    pub verifier_liveness: Duration,
    /// Who may call the alert server: `Host` names (`OPERATOR_SERVER_VHOSTS`, default any) and
    /// browser origins (`OPERATOR_SERVER_CORS`, default none).
    pub server_access: mach_jsonrpc::http::Access,
    /// Timeouts, sizes and the connection cap of every server of the node (`MACH_HTTP_*`).
    pub http_limits: mach_jsonrpc::http::Limits,
}

impl NodeConfig {
    /// Builds the configuration from variables looked up with `var` (env file + environment).
    pub fn from_vars(
        var: &dyn Fn(&str) -> Option<String>,
        avs: Vec<AvsConfig>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let require = |name: &str| {
            get(name).ok_or_else(|| ConfigError(format!("{name} is not set; set it in the .env file (see env.example) or the environment")))
        };
        let addr = |name: &str, default: &str| -> Result<SocketAddr, ConfigError> {
            let text = get(name).unwrap_or_else(|| default.to_string());
            let text = text.trim_start_matches("http://");
            text.parse().map_err(|e| {
                ConfigError(format!("{name}={text:?} is not a host:port address: {e}"))
            })
        };
        let flag = |name: &str, default: bool| match get(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" || v == "1" => Ok(true),
            Some(v) if v == "false" || v == "0" => Ok(false),
            Some(v) => Err(ConfigError(format!("{name}={v:?} must be true or false"))),
        };
        let bls_signer = bls_signer_config(&get)?;
        let bls_key_file = match get("BLS_PRIVATE_KEY_PATH").map(PathBuf::from).filter(|p| p.is_file()) {
            Some(path) => path,
            None => match get("NODE_BLS_KEY_FILE_HOST").map(PathBuf::from) {
                Some(path) => path,
                None if matches!(bls_signer, BlsSignerConfig::Cerberus(_)) => PathBuf::new(),
                None => return Err(ConfigError("no BLS key: set NODE_BLS_KEY_FILE_HOST (or BLS_PRIVATE_KEY_PATH) to the operator's BLS key file, or NODE_BLS_SIGNER=cerberus with the NODE_BLS_CERBERUS_* variables".into())),
            },
        };
        let operator_address = require("OPERATOR_ECDSA_ADDRESS")?
            .parse()
            .map_err(|e| ConfigError(format!("OPERATOR_ECDSA_ADDRESS is not an address: {e}")))?;
        let layer1_chain_id = match get("LAYER1_CHAIN_ID") {
            None => None,
            Some(v) => Some(
                v.parse()
                    .map_err(|e| ConfigError(format!("LAYER1_CHAIN_ID={v:?}: {e}")))?,
            ),
        };
        let liveness = match get("MACH_VERIFIER_LIVENESS_SECS") {
            None => 600,
            Some(v) => v
                .parse()
                .map_err(|e| ConfigError(format!("MACH_VERIFIER_LIVENESS_SECS={v:?}: {e}")))?,
        };
        let aggregator_url = get("AGGREGATOR_JSONRPC_SERVER_URL");
        if aggregator_url.is_none() {
            if let Some(avs) = avs.iter().find(|a| a.aggregator_url.is_none()) {
                return Err(ConfigError(format!(
                    "no aggregator for AVS {}: set AGGREGATOR_JSONRPC_SERVER_URL or aggregator_url in avs_configs.json",
                    avs.avs_name
                )));
            }
        }
        let list = |name: &str, default: &[&str]| -> Vec<String> {
            match get(name) {
                Some(v) => v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
                None => default.iter().map(|s| s.to_string()).collect(),
            }
        };
        let server_access = mach_jsonrpc::http::Access {
            // Verifiers reach the node by a compose or Kubernetes service name, so any Host is
            // answered unless restricted; browsers are kept out by the Origin check and the
            // JSON content type.
            vhosts: list("OPERATOR_SERVER_VHOSTS", &["*"]),
            cors: list("OPERATOR_SERVER_CORS", &[]),
        };
        let http_limits = mach_jsonrpc::http::Limits::from_lookup(|name| get(name))
            .map_err(|e| ConfigError(format!("{e}; see docs/production.md, \"HTTP limits\"")))?;
        Ok(Self {
            server_access,
            http_limits,
            server_addr: addr("OPERATOR_SERVER_URL", "127.0.0.1:8901")?,
            bls_key_password: var("OPERATOR_BLS_KEY_PASSWORD"),
            operator_address,
            eth_rpc_url: require("ETH_RPC_URL")?,
            layer1_chain_id,
            aggregator_url,
            metrics_addr: if flag("ENABLE_METRICS", false)? {
                Some(addr("EIGEN_METRICS_URL", "127.0.0.1:9092")?)
            } else {
                None
            },
            node_api_addr: if flag("ENABLE_NODE_API", false)? {
                Some(addr("NODE_API_URL", "127.0.0.1:9091")?)
            } else {
                None
            },
            verifier_liveness: Duration::from_secs(liveness),
            bls_key_file,
            bls_signer,
            avs,
        })
    }
}

/// The BLS signer `NODE_BLS_SIGNER` selects (`keystore`, the default, or `cerberus` with the
/// `NODE_BLS_CERBERUS_*` settings), from `get` (an environment lookup); `mach opt-in` reads it
/// through this too.
pub fn bls_signer_config(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<BlsSignerConfig, ConfigError> {
    match get("NODE_BLS_SIGNER").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("keystore") => Ok(BlsSignerConfig::Keystore),
        Some("cerberus") => Ok(BlsSignerConfig::Cerberus(cerberus_settings(get)?)),
        Some(other) => Err(ConfigError(format!(
            "NODE_BLS_SIGNER={other:?} must be keystore (the key file) or cerberus (a Cerberus remote signer)"
        ))),
    }
}

/// The `NODE_BLS_CERBERUS_*` settings from `get` (the node's environment lookup), checked as the
/// node checks them; `mach doctor` reads them through this too.
pub fn cerberus_settings(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::cerberus::CerberusSettings, ConfigError> {
    let url = get("NODE_BLS_CERBERUS_URL").ok_or_else(|| {
        ConfigError("NODE_BLS_SIGNER=cerberus needs NODE_BLS_CERBERUS_URL, the signer's gRPC address (https://host:port, or http:// on a private network)".into())
    })?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError(format!(
            "NODE_BLS_CERBERUS_URL={url:?} must start with https:// or http://"
        )));
    }
    let key = get("NODE_BLS_CERBERUS_PUBLIC_KEY_G1").ok_or_else(|| {
        ConfigError("NODE_BLS_SIGNER=cerberus needs NODE_BLS_CERBERUS_PUBLIC_KEY_G1, the operator's G1 key as Cerberus names it (hex of the compressed point) or as E([X,Y])".into())
    })?;
    let public_key_g1 = crate::cerberus::parse_g1(&key).map_err(|e| {
        ConfigError(format!(
            "NODE_BLS_CERBERUS_PUBLIC_KEY_G1={key:?} is not a G1 public key: {e}"
        ))
    })?;
    let timeout = match get("NODE_BLS_CERBERUS_TIMEOUT_SECS") {
        None => crate::cerberus::DEFAULT_TIMEOUT,
        Some(v) => match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Duration::from_secs(secs),
            _ => {
                return Err(ConfigError(format!(
                    "NODE_BLS_CERBERUS_TIMEOUT_SECS={v:?} must be a positive number of seconds"
                )))
            }
        },
    };
    Ok(crate::cerberus::CerberusSettings {
        url,
        public_key_g1,
        api_key: get("NODE_BLS_CERBERUS_API_KEY"),
        ca_file: get("NODE_BLS_CERBERUS_CA_FILE").map(PathBuf::from),
        password: get("NODE_BLS_CERBERUS_PASSWORD"),
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn reference_avs_configs_parse() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/avs_configs.json");
        let list = load_avs_configs(&path).expect("the reference avs_configs.json");
        assert_eq!(list[0].avs_name, "soneium");
        assert_eq!(list[0].methods[0].quorum_threshold_percentages, vec![66]);
    }

    #[test]
    fn variables_and_their_errors() {
        let avs = vec![AvsConfig {
            avs_name: "a".into(),
            methods: vec![],
            avs_registry_coordinator_address: Address::ZERO,
            operator_state_retriever_address: Address::ZERO,
            avs_contract_address: None,
            aggregator_url: None,
        }];
        let mut vars: HashMap<&str, &str> = HashMap::from([
            ("OPERATOR_SERVER_URL", "0.0.0.0:8901"),
            ("NODE_BLS_KEY_FILE_HOST", "/keys/opr.bls.key.json"),
            (
                "OPERATOR_ECDSA_ADDRESS",
                "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            ),
            ("ETH_RPC_URL", "http://localhost:8545"),
            ("AGGREGATOR_JSONRPC_SERVER_URL", "http://localhost:8090"),
            ("ENABLE_METRICS", "true"),
            ("EIGEN_METRICS_URL", "0.0.0.0:9092"),
            ("OPERATOR_BLS_KEY_PASSWORD", ""),
        ]);
        fn lookup(vars: &HashMap<&'static str, &'static str>) -> impl Fn(&str) -> Option<String> {
            let vars = vars.clone();
            move |name: &str| vars.get(name).map(|v| v.to_string())
        }
        let config = NodeConfig::from_vars(&lookup(&vars), avs.clone()).unwrap();
        assert_eq!(config.server_addr.port(), 8901);
        assert_eq!(config.metrics_addr.map(|a| a.port()), Some(9092));
        assert_eq!(config.node_api_addr, None);
        assert_eq!(config.bls_key_password.as_deref(), Some(""));
        vars.remove("AGGREGATOR_JSONRPC_SERVER_URL");
        let err = NodeConfig::from_vars(&lookup(&vars), avs.clone())
            .unwrap_err()
            .to_string();
        assert!(err.contains("AGGREGATOR_JSONRPC_SERVER_URL"), "{err}");
        vars.insert("AGGREGATOR_JSONRPC_SERVER_URL", "http://x");
        vars.insert("ENABLE_NODE_API", "maybe");
        let err = NodeConfig::from_vars(&lookup(&vars), avs)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ENABLE_NODE_API"), "{err}");
    }

    #[test]
    fn cerberus_signer_variables() {
        let key = mach_keys::BlsSecretKey::random().public_key();
        let name = crate::cerberus::hex_g1(&key);
        let avs = vec![AvsConfig {
            avs_name: "a".into(),
            methods: vec![],
            avs_registry_coordinator_address: Address::ZERO,
            operator_state_retriever_address: Address::ZERO,
            avs_contract_address: None,
            aggregator_url: Some("http://agg".into()),
        }];
        let mut vars: HashMap<&str, String> = HashMap::from([
            (
                "OPERATOR_ECDSA_ADDRESS",
                "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".to_string(),
            ),
            ("ETH_RPC_URL", "http://localhost:8545".to_string()),
            ("NODE_BLS_SIGNER", "cerberus".to_string()),
            ("NODE_BLS_CERBERUS_URL", "https://signer:50051".to_string()),
            ("NODE_BLS_CERBERUS_PUBLIC_KEY_G1", format!("0x{name}")),
            ("NODE_BLS_CERBERUS_API_KEY", "k".to_string()),
        ]);
        let load = |vars: &HashMap<&str, String>| {
            NodeConfig::from_vars(&|n| vars.get(n).cloned(), avs.clone())
        };
        let config = load(&vars).unwrap();
        let BlsSignerConfig::Cerberus(settings) = &config.bls_signer else {
            panic!("cerberus expected")
        };
        assert_eq!(settings.public_key_g1, key);
        assert_eq!(settings.api_key.as_deref(), Some("k"));
        assert_eq!(settings.timeout, crate::cerberus::DEFAULT_TIMEOUT);
        assert!(
            !format!("{settings:?}").contains("\"k\""),
            "no secrets in Debug"
        );
        for (name, value, expected) in [
            (
                "NODE_BLS_CERBERUS_PUBLIC_KEY_G1",
                "0x12",
                "NODE_BLS_CERBERUS_PUBLIC_KEY_G1",
            ),
            (
                "NODE_BLS_CERBERUS_URL",
                "signer:50051",
                "NODE_BLS_CERBERUS_URL",
            ),
            (
                "NODE_BLS_CERBERUS_TIMEOUT_SECS",
                "0",
                "NODE_BLS_CERBERUS_TIMEOUT_SECS",
            ),
            ("NODE_BLS_SIGNER", "kms", "NODE_BLS_SIGNER"),
        ] {
            let mut bad = vars.clone();
            bad.insert(name, value.to_string());
            let err = load(&bad).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        vars.remove("NODE_BLS_CERBERUS_URL");
        let err = load(&vars).unwrap_err().to_string();
        assert!(err.contains("NODE_BLS_CERBERUS_URL"), "{err}");
        vars.insert("NODE_BLS_SIGNER", "keystore".into());
        let err = load(&vars).unwrap_err().to_string();
        assert!(err.contains("NODE_BLS_KEY_FILE_HOST"), "{err}");
    }
}
