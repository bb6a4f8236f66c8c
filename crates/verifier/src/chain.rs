//! Chain rules: which forks are active at a block, and the chain's EIP-1559 and blob parameters,
//! read from a geth-style `genesis.json` (`config` section), with the OP Stack rules when the
//! config has an `optimism` section.

use alloy_eips::{eip1559::BaseFeeParams, eip7840::BlobParams};
use alloy_evm::eth::spec::EthExecutorSpec;
use alloy_hardforks::{EthereumHardfork, EthereumHardforks, ForkCondition};
use alloy_op_hardforks::{OpHardfork, OpHardforks};
use alloy_primitives::{address, Address, U256};
use serde_json::Value;

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
    forks: Vec<(OpHardfork, ForkCondition)>,
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

const OP_TIME_FORKS: &[(&str, OpHardfork, Option<EthereumHardfork>)] = &[
    ("regolithTime", OpHardfork::Regolith, None),
    (
        "canyonTime",
        OpHardfork::Canyon,
        Some(EthereumHardfork::Shanghai),
    ),
    (
        "ecotoneTime",
        OpHardfork::Ecotone,
        Some(EthereumHardfork::Cancun),
    ),
    ("fjordTime", OpHardfork::Fjord, None),
    ("graniteTime", OpHardfork::Granite, None),
    ("holoceneTime", OpHardfork::Holocene, None),
    (
        "isthmusTime",
        OpHardfork::Isthmus,
        Some(EthereumHardfork::Prague),
    ),
    ("jovianTime", OpHardfork::Jovian, None),
];

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
                let mut op_forks = vec![(
                    OpHardfork::Bedrock,
                    ForkCondition::Block(bedrock.unwrap_or(0)),
                )];
                for (field, fork, implies) in OP_TIME_FORKS {
                    if let Some(time) = quantity(config, field)? {
                        op_forks.push((*fork, ForkCondition::Timestamp(time)));
                        // An OP fork brings the Ethereum fork it is built on, even when the
                        // config leaves that Ethereum field out.
                        if let Some(eth) = implies {
                            if !forks.iter().any(|(f, _)| f == eth) {
                                forks.push((*eth, ForkCondition::Timestamp(time)));
                            }
                        }
                    }
                }
                Some(OpParams {
                    eip1559_elasticity: quantity(section, "eip1559Elasticity")?.unwrap_or(6),
                    eip1559_denominator: quantity(section, "eip1559Denominator")?.unwrap_or(50),
                    eip1559_denominator_canyon: quantity(section, "eip1559DenominatorCanyon")?,
                    quirk_deposit_receipt_nonce_after: match section
                        .get("quirkDepositReceiptNonceAfter")
                    {
                        None | Some(Value::Null) => false,
                        Some(Value::Bool(on)) => *on,
                        Some(other) => {
                            return Err(ChainConfigError::BadField {
                                field: "quirkDepositReceiptNonceAfter".into(),
                                value: other.to_string(),
                            })
                        }
                    },
                    forks: op_forks,
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
        Ok(Self {
            chain_id,
            forks,
            deposit_contract,
            optimism,
        })
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
        self.optimism
            .as_ref()
            .and_then(|op| op.forks.iter().find(|(f, _)| *f == fork))
            .map(|(_, c)| *c)
            .unwrap_or(ForkCondition::Never)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn reads_the_soneium_genesis_config() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/genesis.json"
        );
        let json = std::fs::read_to_string(path)
            .expect("../shared/reference/genesis.json beside the repository");
        let rules = ChainRules::from_genesis_json(&json).unwrap();
        assert_eq!(rules.chain_id, 1868);
        assert!(rules.is_optimism());
        assert!(rules.is_cancun_active_at_timestamp(0));
        assert!(rules.is_ecotone_active_at_timestamp(0));
        assert!(!rules.is_holocene_active_at_timestamp(1_738_573_199));
        assert!(rules.is_holocene_active_at_timestamp(1_738_573_200));
        assert!(!rules.is_prague_active_at_timestamp(u64::MAX));
        assert_eq!(rules.base_fee_params_at(0), BaseFeeParams::new(250, 6));
        assert!(rules.is_paris_active_at_block(0));
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
