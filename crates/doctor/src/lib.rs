//! `mach doctor`: checks what an operator most often gets wrong before starting the node and the
//! verifier, one [`Check`] each, `ok <check>: <detail>` or `FAIL <check>: <the fix>`.
//!
//! Checks, in order: the env file; the BLS (and, if named, ECDSA) key files and that their
//! passwords decrypt them, or the remote signers the env file selects (Cerberus for BLS; AWS KMS
//! or web3signer for ECDSA) and that they answer with the configured key; the node's settings; `avs_configs.json`; the L1 RPC and its chain ID;
//! per AVS, registration under the BLS key's operator ID and the allowlist; that the node's
//! listen ports are free; with a genesis file, that its OP Stack fork schedule agrees with the
//! bundled Superchain registry (as `mach verifier` requires in strict and safe mode); with a
//! verifier config, that `mach-config.toml` loads and its rollup RPC answers (on the genesis
//! file's chain). Secrets are never printed.
//!
//! Every check reads its file with the type the role loads it with: [`mach_primitives::env::Env`]
//! and [`mach_node::NodeConfig`] (the node's variables), [`mach_node::AvsConfig`]
//! (`avs_configs.json`), [`mach_keys::KeyFile`] (key files),
//! [`mach_verifier_live::VerifierConfig`] (`mach-config.toml`), and
//! [`mach_verifier::schedule::resolve`] (the genesis file's chain rules).

use alloy::primitives::{Address, B256};
use alloy::providers::{Provider, ProviderBuilder};
use mach_keys::{KeyFile, KeyType, PublicKeyInfo};
use mach_node::AvsConfig;
use mach_primitives::env::Env;
use mach_verifier::schedule::ScheduleSource;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one network call of a check may take before the check fails.
const RPC_TIMEOUT: Duration = Duration::from_secs(15);

/// What to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// Env file with the reference `.env` variables [default: ./.env if present].
    pub env_file: Option<PathBuf>,
    /// The AVS list [default: ./avs_configs.json, else $AVS_CONFIGS_PATH/avs_configs.json].
    pub avs_config: Option<PathBuf>,
    /// The verifier's `mach-config.toml`: checks it loads and its rollup RPC answers.
    pub config: Option<PathBuf>,
    /// The verifier's genesis file: checks its OP Stack fork schedule against the bundled
    /// Superchain registry, as `mach verifier` does at start (and the rollup RPC's chain ID
    /// against it).
    pub genesis_config: Option<PathBuf>,
    /// Where the verifier takes its fork schedule from (its `--chain-rules`).
    pub chain_rules: ScheduleSource,
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`env file`, `BLS key password`, `registration <avs>`, …).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, or on failure the fix.
    pub detail: String,
}

/// `ok <check>: <detail>` or `FAIL <check>: <the fix>`.
impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.ok { "ok" } else { "FAIL" };
        write!(f, "{verdict} {}: {}", self.name, self.detail)
    }
}

/// How many checks passed and failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
}

/// The checks so far, each handed to the caller as it is made.
struct Report<'a> {
    summary: Summary,
    sink: &'a mut dyn FnMut(&Check),
}

impl Report<'_> {
    fn ok(&mut self, check: &str, detail: impl std::fmt::Display) {
        self.summary.passed += 1;
        self.emit(check, true, detail);
    }

    fn fail(&mut self, check: &str, detail: impl std::fmt::Display) {
        self.summary.failed += 1;
        self.emit(check, false, detail);
    }

    fn emit(&mut self, name: &str, ok: bool, detail: impl std::fmt::Display) {
        (self.sink)(&Check {
            name: name.to_string(),
            ok,
            detail: detail.to_string(),
        });
    }

    fn record<T>(&mut self, check: &str, outcome: Result<(T, String), String>) -> Option<T> {
        match outcome {
            Ok((value, detail)) => {
                self.ok(check, detail);
                Some(value)
            }
            Err(fix) => {
                self.fail(check, fix);
                None
            }
        }
    }
}

/// Runs every check in order, handing each outcome to `on_check` as it is made (a slow L1 is
/// seen while it is waited for); returns the counts.
pub async fn run(options: Options, mut on_check: impl FnMut(&Check)) -> Summary {
    let mut report = Report {
        summary: Summary::default(),
        sink: &mut on_check,
    };
    let env = check_env_file(&mut report, options.env_file.as_deref());
    let bls_id = check_bls_signer(&mut report, &env).await;
    check_ecdsa_signer(&mut report, &env).await;
    let avs = check_avs_config(&mut report, &env, options.avs_config);
    let node = check_node_settings(&mut report, &env, avs.clone());
    let operator = node.as_ref().map(|config| config.operator_address);
    let conn = check_l1(&mut report, &env).await;
    check_avs_registration(&mut report, conn.as_ref(), avs.as_deref(), operator, bls_id).await;
    check_ports(&mut report, node.as_ref());
    let chain_id = options
        .genesis_config
        .as_deref()
        .and_then(|genesis| check_chain_rules(&mut report, genesis, options.chain_rules));
    if let Some(config) = &options.config {
        check_verifier_config(&mut report, config, chain_id).await;
    }
    report.summary
}

/// Variables from the env file and the environment; an unreadable file is a failure and the
/// other checks go on with the environment alone.
fn check_env_file(report: &mut Report<'_>, path: Option<&Path>) -> Env {
    match Env::load(path, ".env") {
        Ok(env) => {
            match path.or_else(|| Some(Path::new(".env")).filter(|p| p.is_file())) {
                Some(p) => report.ok("env file", format!("{} read", p.display())),
                None => report.ok(
                    "env file",
                    "no ./.env; reading variables from the environment (pass --env-file FILE)",
                ),
            }
            env
        }
        Err(e) => {
            report.fail(
                "env file",
                format!("{e:#}; pass the file the node runs with (--env-file FILE), e.g. a copy of deploy/compose/.env.example"),
            );
            Env::default()
        }
    }
}

/// A variable, trimmed, if set and non-empty.
fn var(env: &Env, name: &str) -> Option<String> {
    env.get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The BLS key file the node would use: `BLS_PRIVATE_KEY_PATH` if that file exists (the path
/// inside the container), else `NODE_BLS_KEY_FILE_HOST`.
fn bls_key_path(env: &Env) -> Option<(PathBuf, &'static str)> {
    var(env, "BLS_PRIVATE_KEY_PATH")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .map(|p| (p, "BLS_PRIVATE_KEY_PATH"))
        .or_else(|| {
            var(env, "NODE_BLS_KEY_FILE_HOST").map(|p| (PathBuf::from(p), "NODE_BLS_KEY_FILE_HOST"))
        })
}

/// Reads a key file of `key_type`, describing a failure with the variable that names it.
fn read_key_file(path: &Path, var_name: &str, key_type: KeyType) -> Result<KeyFile, String> {
    if !path.exists() {
        return Err(format!(
            "{} (from {var_name}) does not exist; point {var_name} at the key file made by `mach keys create --key-type {} NAME`",
            path.display(),
            key_type.flag()
        ));
    }
    KeyFile::read(path, Some(key_type)).map_err(|e| {
        format!(
            "{e}; check {var_name} names a readable {} key file",
            key_type.flag()
        )
    })
}

/// The BLS key file is present and its password decrypts it; returns the operator ID.
/// The operator's BLS signer as `mach node` will open it (`NODE_BLS_SIGNER`): the key file, or a
/// Cerberus remote signer's settings (whose reachability and key `mach node` proves at start
/// against the registry). Returns the operator ID the signer stands for.
async fn check_bls_signer(report: &mut Report<'_>, env: &Env) -> Option<B256> {
    match env.get("NODE_BLS_SIGNER").as_deref().map(str::trim) {
        None | Some("keystore") => check_bls_key(report, env),
        Some("cerberus") => {
            let settings = mach_node::config::cerberus_settings(&|name| env.get(name));
            let (id, settings) = report.record(
                "BLS signer",
                settings.map_err(|e| e.to_string()).map(|s| {
                    let id = s.public_key_g1.operator_id().0;
                    let detail = format!(
                        "Cerberus at {} for G1 key {} (operator ID {id})",
                        s.url,
                        mach_node::cerberus::hex_g1(&s.public_key_g1),
                    );
                    ((id, s.clone()), detail)
                }),
            )?;
            report.record("BLS signer answers", cerberus_answers(settings).await);
            Some(id)
        }
        Some(other) => {
            report.fail(
                "BLS signer",
                format!("NODE_BLS_SIGNER={other:?} must be keystore (the key file) or cerberus (a Cerberus remote signer)"),
            );
            None
        }
    }
}

/// Cerberus holds the configured key and signs with it: its G2 part (`GetKeyMetadata`) is the
/// G1 key's partner, and a test signature, made with the API key and password, verifies.
async fn cerberus_answers(
    settings: mach_node::cerberus::CerberusSettings,
) -> Result<((), String), String> {
    let signer = mach_node::cerberus::CerberusSigner::new(settings).map_err(|e| e.to_string())?;
    signer
        .fetch_public_key_g2()
        .await
        .map_err(|e| e.to_string())?;
    let test = alloy::primitives::keccak256(b"mach doctor: Cerberus signer check");
    signer.sign(test).await.map_err(|e| e.to_string())?;
    Ok((
        (),
        "it holds the key (its G2 part is the G1 key's partner) and a test signature verifies"
            .into(),
    ))
}

/// The ECDSA signer `mach opt-in` / `mach opt-out` use: a remote one when the env file selects
/// it (`MACH_ECDSA_SIGNER`, …: it must answer and sign for `OPERATOR_ECDSA_ADDRESS`), else the
/// key file.
async fn check_ecdsa_signer(report: &mut Report<'_>, env: &Env) {
    let choice = match mach_chain::signer::SignerChoice::default().or_env(env) {
        Ok(choice) if choice.is_empty() => return check_ecdsa_key(report, env),
        Ok(choice) => choice,
        Err(e) => return report.fail("ECDSA signer", e),
    };
    let outcome = async {
        let config = choice.config().map_err(|e| e.to_string())?;
        let signer = config.build(RPC_TIMEOUT).await.map_err(|e| e.to_string())?;
        let detail = format!("{} signs for {}", signer.describe(), signer.address());
        match env.parse::<Address>("OPERATOR_ECDSA_ADDRESS") {
            Ok(Some(expected)) if expected != signer.address() => Err(format!(
                "{detail}, but OPERATOR_ECDSA_ADDRESS is {expected}; point the signer at the \
                 operator's key or fix the address"
            )),
            Ok(Some(_)) => Ok(((), format!("{detail} (OPERATOR_ECDSA_ADDRESS)"))),
            Ok(None) => Ok(((), detail)),
            Err(e) => Err(e.to_string()),
        }
    };
    report.record("ECDSA signer", outcome.await);
}

fn check_bls_key(report: &mut Report<'_>, env: &Env) -> Option<B256> {
    let Some((path, var_name)) = bls_key_path(env) else {
        report.fail(
            "BLS key file",
            "neither NODE_BLS_KEY_FILE_HOST nor BLS_PRIVATE_KEY_PATH is set; set NODE_BLS_KEY_FILE_HOST to the operator's BLS key file",
        );
        report.fail("BLS key password", "no BLS key file to decrypt");
        return None;
    };
    let file = report.record(
        "BLS key file",
        read_key_file(&path, var_name, KeyType::Bls)
            .map(|f| (f, format!("{} (from {var_name})", path.display()))),
    );
    let Some(file) = file else {
        report.fail("BLS key password", "no BLS key file to decrypt");
        return None;
    };
    let declared = match file.public() {
        PublicKeyInfo::Bls { public_key } => Some(public_key.operator_id().0),
        PublicKeyInfo::Ecdsa { .. } => None,
    };
    let Some(password) = env.get("OPERATOR_BLS_KEY_PASSWORD") else {
        report.fail(
            "BLS key password",
            "OPERATOR_BLS_KEY_PASSWORD is not set; set it in the env file (a container cannot answer a password prompt)",
        );
        return declared;
    };
    match mach_keys::open_bls(&path, None, Some(password)).map_err(anyhow::Error::from) {
        Ok(key) => {
            let id = key.operator_id().0;
            report.ok(
                "BLS key password",
                format!(
                    "OPERATOR_BLS_KEY_PASSWORD decrypts {} (operator ID {id})",
                    path.display()
                ),
            );
            Some(id)
        }
        Err(e) => {
            report.fail(
                "BLS key password",
                format!("{e:#}; set OPERATOR_BLS_KEY_PASSWORD to the password the key was created with (quote it if it has spaces, / or $)"),
            );
            declared
        }
    }
}

/// The ECDSA key file, when `NODE_ECDSA_KEY_FILE_HOST` names one (opt-in and opt-out need it,
/// the node does not), and that `OPERATOR_ECDSA_KEY_PASSWORD` decrypts it to
/// `OPERATOR_ECDSA_ADDRESS`.
fn check_ecdsa_key(report: &mut Report<'_>, env: &Env) {
    let Some(path) = var(env, "NODE_ECDSA_KEY_FILE_HOST").map(PathBuf::from) else {
        report.ok(
            "ECDSA key file",
            "NODE_ECDSA_KEY_FILE_HOST is not set (only `mach opt-in` / `mach opt-out` need it)",
        );
        return;
    };
    let outcome = read_key_file(&path, "NODE_ECDSA_KEY_FILE_HOST", KeyType::Ecdsa).map(|_| {
        (
            (),
            format!("{} (from NODE_ECDSA_KEY_FILE_HOST)", path.display()),
        )
    });
    if report.record("ECDSA key file", outcome).is_none() {
        report.fail("ECDSA key password", "no ECDSA key file to decrypt");
        return;
    }
    let Some(password) = env.get("OPERATOR_ECDSA_KEY_PASSWORD") else {
        report.fail(
            "ECDSA key password",
            "OPERATOR_ECDSA_KEY_PASSWORD is not set; set it in the env file",
        );
        return;
    };
    match mach_keys::open_ecdsa(&path, None, Some(password)).map_err(anyhow::Error::from) {
        Ok(key) => match env.parse::<Address>("OPERATOR_ECDSA_ADDRESS") {
            Ok(Some(expected)) if expected != key.address() => report.fail(
                "ECDSA key password",
                format!(
                    "{} is the key of {}, but OPERATOR_ECDSA_ADDRESS is {expected}; point NODE_ECDSA_KEY_FILE_HOST at the operator's key or fix the address",
                    path.display(),
                    key.address()
                ),
            ),
            _ => report.ok(
                "ECDSA key password",
                format!(
                    "OPERATOR_ECDSA_KEY_PASSWORD decrypts {} (address {})",
                    path.display(),
                    key.address()
                ),
            ),
        },
        Err(e) => report.fail(
            "ECDSA key password",
            format!("{e:#}; set OPERATOR_ECDSA_KEY_PASSWORD to the password the key was created with"),
        ),
    }
}

/// `avs_configs.json`: `--avs-config`, else `./avs_configs.json`, else the reference layout's
/// `$AVS_CONFIGS_PATH/avs_configs.json`.
fn check_avs_config(
    report: &mut Report<'_>,
    env: &Env,
    flag: Option<PathBuf>,
) -> Option<Vec<AvsConfig>> {
    let path = flag.or_else(|| {
        let candidates = [
            Some(PathBuf::from("avs_configs.json")),
            var(env, "AVS_CONFIGS_PATH").map(|d| Path::new(&d).join("avs_configs.json")),
        ];
        candidates.into_iter().flatten().find(|p| p.is_file())
    });
    let Some(path) = path else {
        report.fail(
            "AVS config",
            "no avs_configs.json found (tried ./avs_configs.json and $AVS_CONFIGS_PATH/avs_configs.json); pass --avs-config FILE",
        );
        return None;
    };
    let outcome = mach_node::load_avs_configs(&path)
        .map(|list| {
            let names: Vec<&str> = list.iter().map(|a| a.avs_name.as_str()).collect();
            let detail = format!("{} lists {}", path.display(), names.join(", "));
            (list, detail)
        })
        .map_err(|e| {
            format!("{e}; copy deploy/compose/configs/avs_configs.json or the AVS team's file")
        });
    report.record("AVS config", outcome)
}

/// Every variable the node needs is set and well formed, read exactly as `mach node` reads
/// them; returns the node's configuration.
fn check_node_settings(
    report: &mut Report<'_>,
    env: &Env,
    avs: Option<Vec<AvsConfig>>,
) -> Option<mach_node::NodeConfig> {
    let outcome = mach_node::NodeConfig::from_vars(&|name| env.get(name), avs.unwrap_or_default())
        .map(|config| {
            let detail = format!("operator {}", config.operator_address);
            (config, detail)
        })
        .map_err(|e| e.to_string());
    report.record("node settings", outcome)
}

/// `ETH_RPC_URL` answers and is on `LAYER1_CHAIN_ID`.
async fn check_l1(report: &mut Report<'_>, env: &Env) -> Option<mach_chain::Connection> {
    const CHECK: &str = "L1 RPC";
    let Some(url) = var(env, "ETH_RPC_URL") else {
        report.fail(
            CHECK,
            "ETH_RPC_URL is not set; set it to your Ethereum (L1) JSON-RPC endpoint",
        );
        return None;
    };
    let expected = match env.parse::<u64>("LAYER1_CHAIN_ID") {
        Ok(id) => id,
        Err(e) => {
            report.fail(
                CHECK,
                format!("{e:#}; set LAYER1_CHAIN_ID to a number (1 for Ethereum mainnet)"),
            );
            return None;
        }
    };
    let conn = match tokio::time::timeout(
        RPC_TIMEOUT,
        mach_chain::connect_read_only(&url, Address::ZERO),
    )
    .await
    {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            report.fail(CHECK, e);
            return None;
        }
        Err(_) => {
            report.fail(
                CHECK,
                format!("{url} did not answer eth_chainId within {} s; check ETH_RPC_URL and that the node is up", RPC_TIMEOUT.as_secs()),
            );
            return None;
        }
    };
    match expected {
        Some(expected) if expected != conn.chain_id => {
            report.fail(
                CHECK,
                format!("{url} is chain {}, but LAYER1_CHAIN_ID is {expected}; fix ETH_RPC_URL or LAYER1_CHAIN_ID", conn.chain_id),
            );
            None
        }
        Some(_) => {
            report.ok(CHECK, format!("{url} is chain {}", conn.chain_id));
            Some(conn)
        }
        None => {
            report.ok(
                CHECK,
                format!(
                    "{url} is chain {} (set LAYER1_CHAIN_ID to have it checked)",
                    conn.chain_id
                ),
            );
            Some(conn)
        }
    }
}

/// Per AVS: the operator is registered under the BLS key's operator ID, and allowlisted when the
/// AVS has an allowlist.
async fn check_avs_registration(
    report: &mut Report<'_>,
    conn: Option<&mach_chain::Connection>,
    avs: Option<&[AvsConfig]>,
    operator: Option<Address>,
    bls_id: Option<B256>,
) {
    let Some(avs) = avs else {
        report.fail("registration", "cannot check without a valid AVS config");
        return;
    };
    for entry in avs {
        let registration = format!("registration {}", entry.avs_name);
        let allowlist = format!("allowlist {}", entry.avs_name);
        let missing = match (conn, operator) {
            (None, _) => Some("cannot check without a working L1 RPC (see the L1 RPC line)"),
            (_, None) => {
                Some("cannot check without OPERATOR_ECDSA_ADDRESS (see the node settings line)")
            }
            _ => None,
        };
        let (Some(conn), Some(operator), None) = (conn, operator, missing) else {
            let why = missing.unwrap_or_default();
            report.fail(&registration, why);
            report.fail(&allowlist, why);
            continue;
        };
        let status = tokio::time::timeout(RPC_TIMEOUT, async {
            let addresses = entry.addresses(conn).await?;
            mach_chain::avs::status(conn, &addresses, operator).await
        })
        .await;
        let status = match status {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => {
                let why = format!(
                    "{e}; check avs_registry_coordinator_address ({}) and avs_contract_address in avs_configs.json are this chain's MACH contracts",
                    entry.avs_registry_coordinator_address
                );
                report.fail(&registration, &why);
                report.fail(&allowlist, &why);
                continue;
            }
            Err(_) => {
                let why = format!(
                    "the L1 RPC did not answer within {} s",
                    RPC_TIMEOUT.as_secs()
                );
                report.fail(&registration, &why);
                report.fail(&allowlist, &why);
                continue;
            }
        };
        if !status.registered {
            let hint = if status.el_operator {
                "run `mach opt-in` (see deploy/compose/.env.opt-example)"
            } else {
                "it is not an EigenLayer operator yet: run `mach operator register operator.yaml`, then `mach opt-in`"
            };
            report.fail(
                &registration,
                format!("{operator} is not registered with the AVS; {hint}"),
            );
        } else {
            match bls_id {
                Some(id) if id != status.operator_id => report.fail(
                    &registration,
                    format!(
                        "{operator} is registered with operator ID {}, but the BLS key file gives {id}; point NODE_BLS_KEY_FILE_HOST at the key you opted in with",
                        status.operator_id
                    ),
                ),
                Some(_) => report.ok(
                    &registration,
                    format!(
                        "{operator} is registered with operator ID {} in quorums {:?}",
                        status.operator_id, status.quorums
                    ),
                ),
                None => report.fail(
                    &registration,
                    format!(
                        "{operator} is registered with operator ID {}, but no BLS key could be read to compare (see the BLS key lines)",
                        status.operator_id
                    ),
                ),
            }
        }
        if !status.allowlist_enabled {
            report.ok(&allowlist, "the AVS has no allowlist");
        } else if status.allowlisted {
            report.ok(&allowlist, format!("{operator} is on the allowlist"));
        } else {
            report.fail(
                &allowlist,
                format!(
                    "{operator} is not on the AVS allowlist; send your address to the AVS team"
                ),
            );
        }
    }
}

/// The node's listen ports are free: the alert RPC, and the node API and metrics when enabled,
/// as the node's own configuration says (`None`: the settings did not load, already reported).
fn check_ports(report: &mut Report<'_>, node: Option<&mach_node::NodeConfig>) {
    let Some(node) = node else {
        report.fail(
            "ports",
            "not checked: the node settings above must load first",
        );
        return;
    };
    let ports = [
        ("OPERATOR_SERVER_URL", Some(node.server_addr), None),
        ("NODE_API_URL", node.node_api_addr, Some("ENABLE_NODE_API")),
        (
            "EIGEN_METRICS_URL",
            node.metrics_addr,
            Some("ENABLE_METRICS"),
        ),
    ];
    for (name, addr, switch) in ports {
        let check = format!("port {name}");
        let Some(addr) = addr else {
            let switch = switch.unwrap_or(name);
            report.ok(&check, format!("not used ({switch} is not true)"));
            continue;
        };
        match TcpListener::bind(addr) {
            Ok(listener) => {
                drop(listener);
                report.ok(&check, format!("{addr} is free"));
            }
            Err(e) => report.fail(
                &check,
                format!("cannot listen on {addr}: {e}; stop whatever uses it (a node already running?) or change {name}"),
            ),
        }
    }
}

/// The genesis file gives chain rules, and its OP Stack fork schedule agrees with the bundled
/// Superchain registry (or the registry does not list the chain, or `--chain-rules registry`
/// replaces it): the same settlement `mach verifier` makes at start. Returns the chain ID.
fn check_chain_rules(
    report: &mut Report<'_>,
    genesis: &Path,
    source: ScheduleSource,
) -> Option<u64> {
    let rules = std::fs::read_to_string(genesis)
        .map_err(|e| {
            format!(
                "cannot read {}: {e}; pass the verifier's genesis.json",
                genesis.display()
            )
        })
        .and_then(|text| {
            mach_verifier::ChainRules::from_genesis_json(&text)
                .map_err(|e| format!("{} is not a usable genesis file: {e}", genesis.display()))
        });
    let rules = match rules {
        Ok(rules) => rules,
        Err(fix) => {
            report.fail("chain rules", fix);
            return None;
        }
    };
    let chain_id = rules.chain_id;
    match mach_verifier::schedule::resolve(rules, source, true) {
        Ok(resolved) => report.ok("chain rules", resolved.note),
        Err(e) => report.fail("chain rules", e.to_string().replace('\n', " ")),
    }
    Some(chain_id)
}

/// `mach-config.toml` loads as `mach verifier` loads it ([`mach_verifier_live::VerifierConfig`])
/// and its rollup RPC answers `eth_chainId` (the genesis file's chain ID, when one was checked).
async fn check_verifier_config(
    report: &mut Report<'_>,
    path: &Path,
    genesis_chain_id: Option<u64>,
) {
    let parsed = std::fs::read_to_string(path)
        .map_err(|e| {
            format!(
                "cannot read {}: {e}; pass the verifier's mach-config.toml",
                path.display()
            )
        })
        .and_then(|text| {
            let table = text.parse::<toml::Table>().map_err(|e| {
                format!(
                    "{} is not valid TOML: {}",
                    path.display(),
                    e.to_string().trim()
                )
            })?;
            mach_verifier_live::VerifierConfig::from_toml(&text)
                .map(|_| table)
                .map_err(|e| format!("{}: {e}", path.display()))
        });
    let table = match parsed {
        Ok(table) => table,
        Err(fix) => {
            report.fail("verifier config", fix);
            report.fail(
                "rollup RPC",
                "cannot check without a valid mach-config.toml",
            );
            return;
        }
    };
    // The verifier defaults an unset URL; an operator's file should name its rollup.
    let url = ["collector", "fetcher"].iter().find_map(|section| {
        table
            .get(*section)
            .and_then(|s| s.get("url"))
            .and_then(|u| u.as_str())
            .map(|u| (format!("[{section}].url"), u.to_string()))
    });
    let Some((key, url)) = url else {
        report.fail(
            "verifier config",
            format!(
                "{} has no [collector] url; set it to the rollup's JSON-RPC endpoint",
                path.display()
            ),
        );
        report.fail("rollup RPC", "no rollup RPC configured");
        return;
    };
    report.ok(
        "verifier config",
        format!("{} parses; rollup RPC {key} = {url}", path.display()),
    );
    let chain_id = async {
        let parsed: url::Url = url
            .parse()
            .map_err(|e| format!("{key} {url:?} is not a URL: {e}"))?;
        let provider = ProviderBuilder::new().connect_http(parsed);
        match tokio::time::timeout(RPC_TIMEOUT, provider.get_chain_id()).await {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(e)) => Err(format!(
                "{url} did not answer eth_chainId: {e}; fix {key} in {} or start the rollup node",
                path.display()
            )),
            Err(_) => Err(format!(
                "{url} did not answer eth_chainId within {} s; fix {key} in {}",
                RPC_TIMEOUT.as_secs(),
                path.display()
            )),
        }
    };
    match (chain_id.await, genesis_chain_id) {
        (Ok(id), Some(expected)) if id != expected => report.fail(
            "rollup RPC",
            format!(
                "{url} is chain {id} but the genesis file is chain {expected}; fix {key} in {} or --genesis-config",
                path.display()
            ),
        ),
        (Ok(id), _) => report.ok("rollup RPC", format!("{url} is chain {id}")),
        (Err(fix), _) => report.fail("rollup RPC", fix),
    }
}
