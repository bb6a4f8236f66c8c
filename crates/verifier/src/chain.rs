//! Chain rules: which forks are active at a block, and the chain's EIP-1559 and blob parameters,
//! read from a geth-style `genesis.json` (`config` section), with the OP Stack rules when the
//! config has an `optimism` section, or from an op-node rollup config (`rollup.json`).
//!
//! OP Stack forks are cumulative: a fork whose own time is missing, or later than a later fork's,
//! is active from that later fork on. Each OP fork brings the Ethereum fork it is built on at its
//! own time: Canyon Shanghai, Ecotone Cancun, Isthmus Prague, Karst Osaka.

use std::collections::BTreeMap;

use alloy_eips::{eip1559::BaseFeeParams, eip7840::BlobParams};
use alloy_evm::eth::spec::EthExecutorSpec;
use alloy_hardforks::{EthereumHardfork, EthereumHardforks, ForkCondition};
use alloy_op_hardforks::{OpHardfork, OpHardforks};
use alloy_primitives::{address, Address, U256};
use serde_json::Value;

use crate::registry::{OpFork, RegistryChain};

/// Address of the Ethereum mainnet deposit contract, the default source of EIP-6110 deposit
/// requests when a Prague chain config names none.
pub const MAINNET_DEPOSIT_CONTRACT: Address =
    address!("0x00000000219ab540356cBB839Cbe05303d7705Fa");

/// A chain config that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainConfigError {
    /// The file is not JSON, or has no `config` object.
    #[error("chain config: {0}")]
    Malformed(String),
    /// A fork field is not a non-negative integer.
    #[error("chain config field `{field}` must be a non-negative integer, got {value}")]
    BadField {
        /// JSON key.
        field: String,
        /// What was there.
        value: String,
    },
    /// A fork network name (BlockchainTests `network`) that this verifier does not know.
    #[error("unknown network `{0}`: expected one of Paris/Merge, Shanghai, Cancun, Prague")]
    UnknownNetwork(String),
}

/// OP Stack rollup parameters (the `optimism` section of the config and the OP fork times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpParams {
    /// EIP-1559 elasticity multiplier (gas target = gas limit / elasticity).
    pub eip1559_elasticity: u64,
    /// EIP-1559 base fee max change denominator before Canyon.
    pub eip1559_denominator: u64,
    /// EIP-1559 base fee max change denominator from Canyon on (None: unchanged).
    pub eip1559_denominator_canyon: Option<u64>,
    /// A test-chain quirk, off for every real OP Stack chain (config `optimism` key
    /// `quirkDepositReceiptNonceAfter`, default false): deposit receipts carry the sender's nonce
    /// after the deposit instead of before it, and the receipts root commits to that. anvil 1.7's
    /// `--network optimism` does this; see docs/decisions.md.
    pub quirk_deposit_receipt_nonce_after: bool,
    /// The Superchain registry's per-chain `keep_karst_upgrade_gas` (Soneium: true): the chain
    /// kept the Karst activation block's extra gas limit. Carried for reports; it changes no rule
    /// checked here, since the verifier takes each block's gas limit from the block (the limit
    /// comes from L1 derivation, which the verifier does not redo).
    pub keep_karst_upgrade_gas: bool,
    /// Block number of the Bedrock activation (the chain's first OP Stack block).
    bedrock_block: u64,
    /// Effective activation time (seconds) of every scheduled OP fork, cumulative.
    forks: BTreeMap<OpFork, u64>,
}

impl OpParams {
    /// The effective activation time (seconds) of each scheduled OP fork.
    pub fn schedule(&self) -> &BTreeMap<OpFork, u64> {
        &self.forks
    }
}

/// Makes a fork schedule cumulative: a fork is active no later than any later fork.
fn cumulative(mut forks: BTreeMap<OpFork, u64>) -> BTreeMap<OpFork, u64> {
    let mut earliest_later: Option<u64> = None;
    for fork in OpFork::ALL.iter().rev() {
        let own = forks.get(fork).copied();
        let effective = match (own, earliest_later) {
            (Some(own), Some(later)) => Some(own.min(later)),
            (own, later) => own.or(later),
        };
        if let Some(time) = effective {
            forks.insert(*fork, time);
            earliest_later = Some(time);
        }
    }
    forks
}

/// The consensus rules of one chain: fork activations by block number or timestamp, chain id,
/// and for OP Stack chains the rollup parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRules {
    /// EIP-155 chain id, checked against signed transactions.
    pub chain_id: u64,
    forks: Vec<(EthereumHardfork, ForkCondition)>,
    /// Where EIP-6110 deposit events come from (Prague, Ethereum only).
    pub deposit_contract: Option<Address>,
    /// OP Stack parameters; `None` for an Ethereum (L1-rules) chain.
    pub optimism: Option<OpParams>,
}

const ETH_BLOCK_FORKS: &[(&str, EthereumHardfork)] = &[
    ("homesteadBlock", EthereumHardfork::Homestead),
    ("daoForkBlock", EthereumHardfork::Dao),
    ("eip150Block", EthereumHardfork::Tangerine),
    ("eip158Block", EthereumHardfork::SpuriousDragon),
    ("byzantiumBlock", EthereumHardfork::Byzantium),
    ("constantinopleBlock", EthereumHardfork::Constantinople),
    ("petersburgBlock", EthereumHardfork::Petersburg),
    ("istanbulBlock", EthereumHardfork::Istanbul),
    ("muirGlacierBlock", EthereumHardfork::MuirGlacier),
    ("berlinBlock", EthereumHardfork::Berlin),
    ("londonBlock", EthereumHardfork::London),
    ("arrowGlacierBlock", EthereumHardfork::ArrowGlacier),
    ("grayGlacierBlock", EthereumHardfork::GrayGlacier),
];

const ETH_TIME_FORKS: &[(&str, EthereumHardfork)] = &[
    ("shanghaiTime", EthereumHardfork::Shanghai),
    ("cancunTime", EthereumHardfork::Cancun),
    ("pragueTime", EthereumHardfork::Prague),
    ("osakaTime", EthereumHardfork::Osaka),
];

/// The Ethereum fork each OP fork brings, at the OP fork's time.
const OP_BRINGS: &[(OpFork, EthereumHardfork)] = &[
    (OpFork::Canyon, EthereumHardfork::Shanghai),
    (OpFork::Ecotone, EthereumHardfork::Cancun),
    (OpFork::Isthmus, EthereumHardfork::Prague),
    (OpFork::Karst, EthereumHardfork::Osaka),
];

/// The OP fork an alloy hardfork names (Bedrock and Interop are not scheduled by time here).
fn op_fork_of(fork: OpHardfork) -> Option<OpFork> {
    Some(match fork {
        OpHardfork::Regolith => OpFork::Regolith,
        OpHardfork::Canyon => OpFork::Canyon,
        OpHardfork::Ecotone => OpFork::Ecotone,
        OpHardfork::Fjord => OpFork::Fjord,
        OpHardfork::Granite => OpFork::Granite,
        OpHardfork::Holocene => OpFork::Holocene,
        OpHardfork::Isthmus => OpFork::Isthmus,
        OpHardfork::Jovian => OpFork::Jovian,
        OpHardfork::Karst => OpFork::Karst,
        _ => return None,
    })
}

fn quantity(config: &Value, field: &str) -> Result<Option<u64>, ChainConfigError> {
    let bad = |v: &Value| ChainConfigError::BadField {
        field: field.to_string(),
        value: v.to_string(),
    };
    match config.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(&Value::Number(n.clone()))),
        Some(Value::String(s)) => {
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            };
            parsed
                .map(Some)
                .ok_or_else(|| bad(&Value::String(s.clone())))
        }
        Some(other) => Err(bad(other)),
    }
}

fn flag(config: &Value, field: &str) -> Result<bool, ChainConfigError> {
    match config.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(on)) => Ok(*on),
        Some(other) => Err(ChainConfigError::BadField {
            field: field.to_string(),
            value: other.to_string(),
        }),
    }
}

impl ChainRules {
    /// Reads the rules from a whole `genesis.json` (uses its `config` object).
    pub fn from_genesis_json(json: &str) -> Result<Self, ChainConfigError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| ChainConfigError::Malformed(e.to_string()))?;
        let config = value
            .get("config")
            .ok_or_else(|| ChainConfigError::Malformed("no `config` object".into()))?;
        Self::from_config(config)
    }

    /// Reads the rules from a geth chain `config` object.
    pub fn from_config(config: &Value) -> Result<Self, ChainConfigError> {
        let chain_id = quantity(config, "chainId")?
            .ok_or_else(|| ChainConfigError::Malformed("no `chainId`".into()))?;
        let mut forks = vec![(EthereumHardfork::Frontier, ForkCondition::Block(0))];
        for (field, fork) in ETH_BLOCK_FORKS {
            if let Some(block) = quantity(config, field)? {
                forks.push((*fork, ForkCondition::Block(block)));
            }
        }
        // eip155Block coincides with eip158Block on every real chain; revm has one spec for both.
        let op_section = config.get("optimism");
        let merge_block = quantity(config, "mergeNetsplitBlock")?;
        let ttd = config
            .get("terminalTotalDifficulty")
            .filter(|v| !v.is_null());
        let bedrock = quantity(config, "bedrockBlock")?;
        if ttd.is_some() || merge_block.is_some() || op_section.is_some() {
            let block = merge_block.or(bedrock).unwrap_or(0);
            forks.push((
                EthereumHardfork::Paris,
                ForkCondition::TTD {
                    activation_block_number: block,
                    fork_block: merge_block,
                    total_difficulty: U256::ZERO,
                },
            ));
        }
        for (field, fork) in ETH_TIME_FORKS {
            if let Some(time) = quantity(config, field)? {
                forks.push((*fork, ForkCondition::Timestamp(time)));
            }
        }
        let optimism = match op_section {
            None => None,
            Some(section) => {
                let mut op_forks = BTreeMap::new();
                for fork in OpFork::ALL {
                    if let Some(time) = quantity(config, fork.genesis_key())? {
                        op_forks.insert(fork, time);
                    }
                }
                Some(OpParams {
                    eip1559_elasticity: quantity(section, "eip1559Elasticity")?.unwrap_or(6),
                    eip1559_denominator: quantity(section, "eip1559Denominator")?.unwrap_or(50),
                    eip1559_denominator_canyon: quantity(section, "eip1559DenominatorCanyon")?,
                    quirk_deposit_receipt_nonce_after: flag(
                        section,
                        "quirkDepositReceiptNonceAfter",
                    )?,
                    keep_karst_upgrade_gas: flag(section, "keepKarstUpgradeGas")?,
                    bedrock_block: bedrock.unwrap_or(0),
                    forks: cumulative(op_forks),
                })
            }
        };
        let deposit_contract = match config.get("depositContractAddress").and_then(Value::as_str) {
            Some(s) => Some(s.parse().map_err(|_| ChainConfigError::BadField {
                field: "depositContractAddress".into(),
                value: s.into(),
            })?),
            None if optimism.is_none() => Some(MAINNET_DEPOSIT_CONTRACT),
            None => None,
        };
        let mut rules = Self {
            chain_id,
            forks,
            deposit_contract,
            optimism,
        };
        rules.bring_ethereum_forks();
        Ok(rules)
    }

    /// Reads the rules of an OP Stack chain from its op-node / kona rollup config
    /// (`rollup.json`: `l2_chain_id`, `regolith_time` … `karst_time`, and the EIP-1559 parameters
    /// in `chain_op_config`, or in `base_fee_params` and `canyon_base_fee_params`). Numbers may be
    /// JSON integers or quantity strings.
    pub fn from_rollup_config(config: &Value) -> Result<Self, ChainConfigError> {
        let chain_id = quantity(config, "l2_chain_id")?.ok_or_else(|| {
            ChainConfigError::Malformed("rollup config has no `l2_chain_id`".into())
        })?;
        let mut op_forks = BTreeMap::new();
        for fork in OpFork::ALL {
            if let Some(time) = quantity(config, fork.registry_key())? {
                op_forks.insert(fork, time);
            }
        }
        let (elasticity, denominator, denominator_canyon) =
            match config.get("chain_op_config").filter(|v| !v.is_null()) {
                Some(op) => (
                    quantity(op, "eip1559Elasticity")?,
                    quantity(op, "eip1559Denominator")?,
                    quantity(op, "eip1559DenominatorCanyon")?,
                ),
                None => {
                    let before = config.get("base_fee_params").unwrap_or(&Value::Null);
                    let canyon = config.get("canyon_base_fee_params").unwrap_or(&Value::Null);
                    (
                        quantity(before, "elasticity_multiplier")?,
                        quantity(before, "max_change_denominator")?,
                        quantity(canyon, "max_change_denominator")?,
                    )
                }
            };
        let (Some(elasticity), Some(denominator)) = (elasticity, denominator) else {
            return Err(ChainConfigError::Malformed(
                "rollup config has no EIP-1559 parameters (`chain_op_config` or `base_fee_params`)"
                    .into(),
            ));
        };
        let bedrock_block = config
            .get("genesis")
            .and_then(|g| g.get("l2"))
            .map(|l2| quantity(l2, "number"))
            .transpose()?
            .flatten()
            .unwrap_or(0);
        Ok(Self::optimism(
            chain_id,
            OpParams {
                eip1559_elasticity: elasticity,
                eip1559_denominator: denominator,
                eip1559_denominator_canyon: denominator_canyon,
                quirk_deposit_receipt_nonce_after: false,
                keep_karst_upgrade_gas: flag(config, "keep_karst_upgrade_gas")?,
                bedrock_block,
                forks: cumulative(op_forks),
            },
        ))
    }

    /// OP Stack rules from the rollup parameters alone: every block-numbered Ethereum fork and
    /// the merge from genesis, the time-based ones as the OP forks bring them.
    fn optimism(chain_id: u64, op: OpParams) -> Self {
        let mut forks: Vec<(EthereumHardfork, ForkCondition)> = ETH_BLOCK_FORKS
            .iter()
            .filter(|(_, fork)| *fork != EthereumHardfork::Dao)
            .map(|(_, fork)| (*fork, ForkCondition::Block(0)))
            .collect();
        forks.insert(0, (EthereumHardfork::Frontier, ForkCondition::Block(0)));
        forks.push((
            EthereumHardfork::Paris,
            ForkCondition::TTD {
                activation_block_number: op.bedrock_block,
                fork_block: None,
                total_difficulty: U256::ZERO,
            },
        ));
        let mut rules = Self {
            chain_id,
            forks,
            deposit_contract: None,
            optimism: Some(op),
        };
        rules.bring_ethereum_forks();
        rules
    }

    /// On an OP Stack chain, sets each Ethereum fork an OP fork brings to that OP fork's time
    /// (whatever the genesis says of the Ethereum fork): the OP fork decides.
    fn bring_ethereum_forks(&mut self) {
        let Some(op) = &self.optimism else {
            return;
        };
        for (op_fork, eth_fork) in OP_BRINGS {
            if let Some(time) = op.forks.get(op_fork) {
                self.forks.retain(|(f, _)| f != eth_fork);
                self.forks
                    .push((*eth_fork, ForkCondition::Timestamp(*time)));
            }
        }
    }

    /// These rules with the OP fork schedule, EIP-1559 parameters and per-chain flags of the
    /// Superchain registry's entry for the chain (`--chain-rules registry`). Unchanged for a
    /// chain without OP Stack rules.
    pub fn with_registry(&self, chain: &RegistryChain) -> Self {
        let mut rules = self.clone();
        if let Some(op) = &mut rules.optimism {
            op.forks = chain.schedule();
            op.keep_karst_upgrade_gas = chain.keep_karst_upgrade_gas;
            if let Some(params) = &chain.eip1559 {
                op.eip1559_elasticity = params.elasticity;
                op.eip1559_denominator = params.denominator;
                op.eip1559_denominator_canyon = params.denominator_canyon;
            }
        }
        rules.bring_ethereum_forks();
        rules
    }

    /// Ethereum rules with every fork up to and including `network` active from genesis, as
    /// BlockchainTests name them (`Paris`/`Merge`, `Shanghai`, `Cancun`, `Prague`), chain id 1.
    pub fn ethereum_network(network: &str) -> Result<Self, ChainConfigError> {
        let last = match network {
            "Paris" | "Merge" => EthereumHardfork::Paris,
            "Shanghai" => EthereumHardfork::Shanghai,
            "Cancun" => EthereumHardfork::Cancun,
            "Prague" => EthereumHardfork::Prague,
            other => return Err(ChainConfigError::UnknownNetwork(other.to_string())),
        };
        let mut forks = Vec::new();
        for fork in [
            EthereumHardfork::Frontier,
            EthereumHardfork::Homestead,
            EthereumHardfork::Tangerine,
            EthereumHardfork::SpuriousDragon,
            EthereumHardfork::Byzantium,
            EthereumHardfork::Constantinople,
            EthereumHardfork::Petersburg,
            EthereumHardfork::Istanbul,
            EthereumHardfork::MuirGlacier,
            EthereumHardfork::Berlin,
            EthereumHardfork::London,
            EthereumHardfork::ArrowGlacier,
            EthereumHardfork::GrayGlacier,
        ] {
            forks.push((fork, ForkCondition::Block(0)));
        }
        forks.push((
            EthereumHardfork::Paris,
            ForkCondition::TTD {
                activation_block_number: 0,
                fork_block: None,
                total_difficulty: U256::ZERO,
            },
        ));
        for fork in [
            EthereumHardfork::Shanghai,
            EthereumHardfork::Cancun,
            EthereumHardfork::Prague,
        ] {
            if fork > last {
                break;
            }
            forks.push((fork, ForkCondition::Timestamp(0)));
        }
        Ok(Self {
            chain_id: 1,
            forks,
            deposit_contract: Some(MAINNET_DEPOSIT_CONTRACT),
            optimism: None,
        })
    }

    /// True for an OP Stack chain.
    pub fn is_optimism(&self) -> bool {
        self.optimism.is_some()
    }

    /// EIP-1559 parameters for a block at `timestamp` (before any Holocene override from the
    /// parent's extra data).
    pub fn base_fee_params_at(&self, timestamp: u64) -> BaseFeeParams {
        match &self.optimism {
            None => BaseFeeParams::ethereum(),
            Some(op) => {
                let denominator = match op.eip1559_denominator_canyon {
                    Some(canyon) if self.is_canyon_active_at_timestamp(timestamp) => canyon,
                    _ => op.eip1559_denominator,
                };
                BaseFeeParams::new(u128::from(denominator), u128::from(op.eip1559_elasticity))
            }
        }
    }

    /// Blob parameters (EIP-4844 / EIP-7691) for a block at `timestamp`; `None` before Cancun.
    pub fn blob_params_at(&self, timestamp: u64) -> Option<BlobParams> {
        if self.is_osaka_active_at_timestamp(timestamp) {
            Some(BlobParams::osaka())
        } else if self.is_prague_active_at_timestamp(timestamp) {
            Some(BlobParams::prague())
        } else if self.is_cancun_active_at_timestamp(timestamp) {
            Some(BlobParams::cancun())
        } else {
            None
        }
    }
}

impl EthereumHardforks for ChainRules {
    fn ethereum_fork_activation(&self, fork: EthereumHardfork) -> ForkCondition {
        self.forks
            .iter()
            .find(|(f, _)| *f == fork)
            .map(|(_, c)| *c)
            .unwrap_or(ForkCondition::Never)
    }
}

impl EthExecutorSpec for ChainRules {
    fn deposit_contract_address(&self) -> Option<Address> {
        self.deposit_contract
    }
}

impl OpHardforks for ChainRules {
    fn op_fork_activation(&self, fork: OpHardfork) -> ForkCondition {
        let Some(op) = &self.optimism else {
            return ForkCondition::Never;
        };
        if fork == OpHardfork::Bedrock {
            return ForkCondition::Block(op.bedrock_block);
        }
        op_fork_of(fork)
            .and_then(|fork| op.forks.get(&fork))
            .map_or(ForkCondition::Never, |time| ForkCondition::Timestamp(*time))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// The reference Soneium genesis as operators have it (forks to Holocene only).
    const SONEIUM_GENESIS: &str = include_str!("../tests/data/soneium-genesis.json");

    #[test]
    fn reads_the_soneium_genesis_config() {
        let rules = ChainRules::from_genesis_json(SONEIUM_GENESIS).unwrap();
        assert_eq!(rules.chain_id, 1868);
        assert!(rules.is_optimism());
        assert!(rules.is_cancun_active_at_timestamp(0));
        assert!(rules.is_ecotone_active_at_timestamp(0));
        assert!(!rules.is_holocene_active_at_timestamp(1_738_573_199));
        assert!(rules.is_holocene_active_at_timestamp(1_738_573_200));
        assert!(!rules.is_prague_active_at_timestamp(u64::MAX));
        assert!(!rules.is_jovian_active_at_timestamp(u64::MAX));
        assert_eq!(rules.base_fee_params_at(0), BaseFeeParams::new(250, 6));
        assert!(rules.is_paris_active_at_block(0));
    }

    #[test]
    fn the_registry_brings_isthmus_jovian_karst_and_their_ethereum_forks() {
        let registry = crate::registry::Registry::bundled().unwrap();
        let soneium = registry.chain(1868).unwrap();
        let rules = ChainRules::from_genesis_json(SONEIUM_GENESIS)
            .unwrap()
            .with_registry(soneium);
        for (op, time) in [
            (OpHardfork::Isthmus, 1_746_806_401),
            (OpHardfork::Jovian, 1_764_691_201),
            (OpHardfork::Karst, 1_783_526_401),
        ] {
            assert_eq!(rules.op_fork_activation(op), ForkCondition::Timestamp(time));
        }
        assert!(!rules.is_prague_active_at_timestamp(1_746_806_400));
        assert!(rules.is_prague_active_at_timestamp(1_746_806_401));
        assert!(!rules.is_osaka_active_at_timestamp(1_783_526_400));
        assert!(rules.is_osaka_active_at_timestamp(1_783_526_401));
        assert!(rules.optimism.as_ref().unwrap().keep_karst_upgrade_gas);
        assert_eq!(
            rules.op_fork_activation(OpHardfork::Regolith),
            ForkCondition::Timestamp(0)
        );
    }

    #[test]
    fn op_forks_are_cumulative_and_bring_their_ethereum_forks() {
        let rules = ChainRules::from_rollup_config(&serde_json::json!({
            "l2_chain_id": "0x385",
            "holocene_time": 100, "karst_time": "0x1f4", "isthmus_time": 600,
            "base_fee_params": {"max_change_denominator": "0x32", "elasticity_multiplier": 6},
            "canyon_base_fee_params": {"max_change_denominator": 250, "elasticity_multiplier": 6},
            "genesis": {"l2": {"number": 7}},
        }))
        .unwrap();
        assert_eq!(rules.chain_id, 901);
        // Canyon and Ecotone are unscheduled but Holocene is: active with it.
        assert!(!rules.is_canyon_active_at_timestamp(99));
        assert!(rules.is_canyon_active_at_timestamp(100));
        assert!(rules.is_shanghai_active_at_timestamp(100));
        assert!(rules.is_cancun_active_at_timestamp(100));
        // Isthmus later than Karst: active with Karst.
        assert!(rules.is_isthmus_active_at_timestamp(500));
        assert!(rules.is_prague_active_at_timestamp(500));
        assert!(rules.is_osaka_active_at_timestamp(500));
        assert!(!rules.is_jovian_active_at_timestamp(499));
        assert!(rules.is_jovian_active_at_timestamp(500));
        assert_eq!(rules.base_fee_params_at(0), BaseFeeParams::new(50, 6));
        assert_eq!(rules.base_fee_params_at(100), BaseFeeParams::new(250, 6));
        assert_eq!(
            rules.op_fork_activation(OpHardfork::Bedrock),
            ForkCondition::Block(7)
        );
        assert!(ChainRules::from_rollup_config(&serde_json::json!({"l2_chain_id": 1})).is_err());
    }

    #[test]
    fn genesis_karst_time_is_read() {
        let mut genesis: Value = serde_json::from_str(SONEIUM_GENESIS).unwrap();
        genesis["config"]["karstTime"] = 50.into();
        let rules = ChainRules::from_config(&genesis["config"]).unwrap();
        assert!(rules.is_karst_active_at_timestamp(50));
        assert!(rules.is_jovian_active_at_timestamp(50));
        assert!(rules.is_osaka_active_at_timestamp(50));
        assert!(!rules.is_osaka_active_at_timestamp(49));
    }

    #[test]
    fn cancun_network_has_no_prague() {
        let rules = ChainRules::ethereum_network("Cancun").unwrap();
        assert!(rules.is_cancun_active_at_timestamp(0));
        assert!(!rules.is_prague_active_at_timestamp(0));
        assert_eq!(rules.blob_params_at(0), Some(BlobParams::cancun()));
        assert!(ChainRules::ethereum_network("Frontier2").is_err());
    }
}
