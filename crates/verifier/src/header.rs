//! Header rules that need only the parent header and the chain rules: numbering, time, gas
//! limit, EIP-1559 base fee, fork-dependent fields, extra data and the post-merge constants.

use alloy_consensus::{Header, EMPTY_OMMER_ROOT_HASH};
use alloy_eips::{
    eip1559::{BaseFeeParams, INITIAL_BASE_FEE},
    eip7685::EMPTY_REQUESTS_HASH,
};
use alloy_hardforks::EthereumHardforks;
use alloy_op_hardforks::OpHardforks;
use alloy_primitives::{B256, B64, U256};
use alloy_trie::EMPTY_ROOT_HASH;

use crate::{chain::ChainRules, error::BlockError};

/// Largest gas limit a header may carry (geth's `MaxGasLimit`, 2^63 - 1).
pub const MAX_GAS_LIMIT: u64 = 0x7fff_ffff_ffff_ffff;
/// Smallest gas limit a header may carry.
pub const MIN_GAS_LIMIT: u64 = 5000;
/// A block's gas limit moves by less than parent / this per block (Ethereum rules).
pub const GAS_LIMIT_BOUND_DIVISOR: u64 = 1024;
/// Longest extra data before Holocene, in bytes.
pub const MAX_EXTRA_DATA: usize = 32;

fn field(field: &'static str, problem: &'static str) -> BlockError {
    BlockError::HeaderField { field, problem }
}

/// Requires an optional field to be present exactly when `active`.
fn presence<T>(value: &Option<T>, active: bool, name: &'static str) -> Result<(), BlockError> {
    match (value.is_some(), active) {
        (true, true) | (false, false) => Ok(()),
        (false, true) => Err(field(
            name,
            "missing, the fork active at this block requires it",
        )),
        (true, false) => Err(field(name, "present before the fork that introduces it")),
    }
}

/// Extra data version of the Holocene EIP-1559 parameters.
pub const HOLOCENE_EXTRA_DATA_VERSION: u8 = 0;
/// Extra data version of Jovian: the Holocene parameters and a minimum base fee.
pub const JOVIAN_EXTRA_DATA_VERSION: u8 = 1;

/// The OP Stack fee parameters a header's extra data carries from Holocene on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpFeeParams {
    /// EIP-1559 max change denominator (0 with a 0 elasticity: the chain's Canyon parameters).
    pub denominator: u32,
    /// EIP-1559 elasticity multiplier.
    pub elasticity: u32,
    /// Jovian: the smallest base fee the next block may have, in wei (0 before Jovian).
    pub min_base_fee: u64,
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(word)
}

/// The OP Stack Holocene EIP-1559 parameters in a header's extra data: version byte 0, then
/// the max change denominator and the elasticity as big-endian u32.
pub fn holocene_params(extra_data: &[u8]) -> Result<(u32, u32), BlockError> {
    if extra_data.len() != 9 {
        return Err(BlockError::ExtraData(format!(
            "Holocene extra data is 9 bytes (version 0, denominator, elasticity), got {}",
            extra_data.len()
        )));
    }
    if extra_data[0] != HOLOCENE_EXTRA_DATA_VERSION {
        return Err(BlockError::ExtraData(format!(
            "Holocene extra data version must be 0, got {}",
            extra_data[0]
        )));
    }
    Ok((be_u32(&extra_data[1..5]), be_u32(&extra_data[5..9])))
}

/// The OP Stack Jovian fee parameters in a header's extra data: version byte 1, the Holocene
/// denominator and elasticity (big-endian u32), then the minimum base fee (big-endian u64).
pub fn jovian_params(extra_data: &[u8]) -> Result<OpFeeParams, BlockError> {
    if extra_data.len() != 17 {
        return Err(BlockError::ExtraData(format!(
            "Jovian extra data is 17 bytes (version 1, denominator, elasticity, minimum base fee), got {}",
            extra_data.len()
        )));
    }
    if extra_data[0] != JOVIAN_EXTRA_DATA_VERSION {
        return Err(BlockError::ExtraData(format!(
            "Jovian extra data version must be 1, got {}",
            extra_data[0]
        )));
    }
    let mut min_base_fee = [0u8; 8];
    min_base_fee.copy_from_slice(&extra_data[9..17]);
    Ok(OpFeeParams {
        denominator: be_u32(&extra_data[1..5]),
        elasticity: be_u32(&extra_data[5..9]),
        min_base_fee: u64::from_be_bytes(min_base_fee),
    })
}

/// The fee parameters in the extra data of an OP Stack block at `timestamp`: Jovian's format
/// from Jovian on, Holocene's before; `None` before Holocene (extra data is free then).
pub fn op_fee_params(
    rules: &ChainRules,
    extra_data: &[u8],
    timestamp: u64,
) -> Result<Option<OpFeeParams>, BlockError> {
    if rules.is_jovian_active_at_timestamp(timestamp) {
        return jovian_params(extra_data).map(Some);
    }
    if rules.is_holocene_active_at_timestamp(timestamp) {
        let (denominator, elasticity) = holocene_params(extra_data)?;
        return Ok(Some(OpFeeParams {
            denominator,
            elasticity,
            min_base_fee: 0,
        }));
    }
    Ok(None)
}

/// The fee parameters a child of `parent` at `timestamp` gets from its parent: the EIP-1559
/// parameters (on OP Stack chains from a Holocene parent on, those of the parent's extra data;
/// both zero there means the chain's Canyon parameters) and the minimum base fee (a Jovian
/// parent's; else 0).
pub fn base_fee_params(
    rules: &ChainRules,
    parent: &Header,
    timestamp: u64,
) -> Result<(BaseFeeParams, u64), BlockError> {
    let from_parent = if rules.is_optimism() {
        op_fee_params(rules, &parent.extra_data, parent.timestamp)?
    } else {
        None
    };
    Ok(match from_parent {
        Some(p) if p.denominator != 0 || p.elasticity != 0 => (
            BaseFeeParams::new(u128::from(p.denominator), u128::from(p.elasticity)),
            p.min_base_fee,
        ),
        Some(p) => (rules.base_fee_params_at(timestamp), p.min_base_fee),
        None => (rules.base_fee_params_at(timestamp), 0),
    })
}

/// The EIP-1559 base fee the child of `parent` must carry (`None` before London). On OP Stack
/// chains from a Jovian parent on, the parent's gas counts as the larger of its gas used and
/// its blob gas used (the DA footprint), and the result is at least the parent's minimum base
/// fee.
pub fn expected_base_fee(
    rules: &ChainRules,
    parent: &Header,
    number: u64,
    timestamp: u64,
) -> Result<Option<u64>, BlockError> {
    if !rules.is_london_active_at_block(number) {
        return Ok(None);
    }
    if !rules.is_london_active_at_block(parent.number) || parent.base_fee_per_gas.is_none() {
        return Ok(Some(INITIAL_BASE_FEE));
    }
    let (params, min_base_fee) = base_fee_params(rules, parent, timestamp)?;
    if params.elasticity_multiplier == 0 || params.max_change_denominator == 0 {
        return Err(BlockError::ExtraData(
            "parent's EIP-1559 parameters have a zero".into(),
        ));
    }
    let gas_metered =
        if rules.is_optimism() && rules.is_jovian_active_at_timestamp(parent.timestamp) {
            parent.gas_used.max(parent.blob_gas_used.unwrap_or(0))
        } else {
            parent.gas_used
        };
    let next = alloy_eips::eip1559::calc_next_block_base_fee(
        gas_metered,
        parent.gas_limit,
        parent.base_fee_per_gas.unwrap_or_default(),
        params,
    );
    Ok(Some(next.max(min_base_fee)))
}

/// On an OP Stack chain, a header that carries a field of a fork the rules do not have active
/// at its timestamp: the chain activated that fork and the chain config does not know it yet.
/// Judging the block by the older rules would accuse a valid block, so this is
/// [`BlockError::ConfigOutOfDate`], never a verdict.
pub fn later_fork_fields(rules: &ChainRules, header: &Header) -> Result<(), BlockError> {
    if !rules.is_optimism() {
        return Ok(());
    }
    let ts = header.timestamp;
    let out_of_date = |what: &str, fork: &str| {
        Err(BlockError::ConfigOutOfDate(format!(
            "the header has {what}, which {fork} introduced, and the chain config does not have {fork} active at timestamp {ts}"
        )))
    };
    if header.requests_hash.is_some() && !rules.is_isthmus_active_at_timestamp(ts) {
        return out_of_date("a requests hash", "Isthmus");
    }
    let extra = &header.extra_data;
    if !rules.is_jovian_active_at_timestamp(ts)
        && extra.len() == 17
        && extra[0] == JOVIAN_EXTRA_DATA_VERSION
    {
        return out_of_date("version-1 extra data (minimum base fee)", "Jovian");
    }
    if !rules.is_holocene_active_at_timestamp(ts)
        && extra.len() == 9
        && extra[0] == HOLOCENE_EXTRA_DATA_VERSION
    {
        return out_of_date("version-0 extra data (EIP-1559 parameters)", "Holocene");
    }
    if !rules.is_isthmus_active_at_timestamp(ts)
        && header
            .withdrawals_root
            .is_some_and(|root| root != EMPTY_ROOT_HASH)
    {
        return out_of_date(
            "a withdrawals root other than the empty root (the L2ToL1MessagePasser storage root)",
            "Isthmus",
        );
    }
    if header.withdrawals_root.is_some() && !rules.is_canyon_active_at_timestamp(ts) {
        return out_of_date("a withdrawals root", "Canyon");
    }
    let cancun_fields = header.blob_gas_used.is_some()
        || header.excess_blob_gas.is_some()
        || header.parent_beacon_block_root.is_some();
    if cancun_fields && !rules.is_ecotone_active_at_timestamp(ts) {
        return out_of_date("blob gas fields or a parent beacon block root", "Ecotone");
    }
    Ok(())
}

/// Checks every rule of `header` that depends only on `parent` (whose hash is `parent_hash`)
/// and the chain rules. Body-dependent and execution-dependent fields are checked elsewhere.
pub fn validate_header(
    rules: &ChainRules,
    parent: &Header,
    parent_hash: B256,
    header: &Header,
) -> Result<(), BlockError> {
    if header.parent_hash != parent_hash {
        return Err(BlockError::ParentHash {
            expected: parent_hash,
            got: header.parent_hash,
        });
    }
    let expected_number = parent.number.saturating_add(1);
    if header.number != expected_number {
        return Err(BlockError::Number {
            expected: expected_number,
            got: header.number,
        });
    }
    if header.timestamp <= parent.timestamp {
        return Err(BlockError::Timestamp {
            parent: parent.timestamp,
            got: header.timestamp,
        });
    }
    let ts = header.timestamp;
    later_fork_fields(rules, header)?;

    // Extra data.
    let op_params = if rules.is_optimism() {
        op_fee_params(rules, &header.extra_data, ts)?
    } else {
        None
    };
    if let Some(params) = op_params {
        if params.denominator == 0 && params.elasticity != 0 {
            return Err(BlockError::ExtraData(
                "EIP-1559 denominator is zero with a non-zero elasticity".into(),
            ));
        }
    } else if header.extra_data.len() > MAX_EXTRA_DATA {
        return Err(BlockError::ExtraData(format!(
            "at most {MAX_EXTRA_DATA} bytes, got {}",
            header.extra_data.len()
        )));
    }

    // Gas limit and gas used.
    let (min, max) = if rules.is_optimism() {
        (0, MAX_GAS_LIMIT)
    } else {
        let mut parent_limit = parent.gas_limit;
        if rules.is_london_active_at_block(header.number)
            && !rules.is_london_active_at_block(parent.number)
        {
            parent_limit =
                parent_limit.saturating_mul(BaseFeeParams::ethereum().elasticity_multiplier as u64);
        }
        let delta = parent_limit / GAS_LIMIT_BOUND_DIVISOR;
        (
            parent_limit
                .saturating_sub(delta)
                .saturating_add(1)
                .max(MIN_GAS_LIMIT),
            parent_limit
                .saturating_add(delta)
                .saturating_sub(1)
                .min(MAX_GAS_LIMIT),
        )
    };
    if header.gas_limit < min || header.gas_limit > max {
        return Err(BlockError::GasLimit {
            parent: parent.gas_limit,
            min,
            max,
            got: header.gas_limit,
        });
    }
    if header.gas_used > header.gas_limit {
        return Err(BlockError::GasUsedOverLimit {
            limit: header.gas_limit,
            used: header.gas_used,
        });
    }

    // EIP-1559 base fee.
    let expected = expected_base_fee(rules, parent, header.number, ts)?;
    if header.base_fee_per_gas != expected {
        return Err(BlockError::BaseFee {
            expected,
            got: header.base_fee_per_gas,
        });
    }

    // Proof of stake constants.
    if rules.is_paris_active_at_block(header.number) {
        if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
            return Err(BlockError::Uncles {
                count: 0,
                ommers_hash: header.ommers_hash,
            });
        }
        if header.difficulty != U256::ZERO {
            return Err(BlockError::Difficulty(header.difficulty));
        }
        if header.nonce != B64::ZERO {
            return Err(BlockError::Nonce(header.nonce));
        }
    } else {
        return Err(BlockError::Unsupported(
            "proof-of-work blocks (before the merge)".into(),
        ));
    }

    // Fork-dependent fields.
    presence(
        &header.withdrawals_root,
        rules.is_shanghai_active_at_timestamp(ts),
        "withdrawals_root",
    )?;
    let cancun = rules.is_cancun_active_at_timestamp(ts);
    presence(&header.blob_gas_used, cancun, "blob_gas_used")?;
    presence(&header.excess_blob_gas, cancun, "excess_blob_gas")?;
    presence(
        &header.parent_beacon_block_root,
        cancun,
        "parent_beacon_block_root",
    )?;
    presence(
        &header.requests_hash,
        rules.is_prague_active_at_timestamp(ts),
        "requests_hash",
    )?;

    if let Some(excess) = header.excess_blob_gas {
        let expected = if rules.is_optimism() {
            0
        } else {
            expected_excess_blob_gas(rules, parent, ts)
        };
        if excess != expected {
            return Err(BlockError::ExcessBlobGas {
                expected,
                got: excess,
            });
        }
    }
    if rules.is_optimism() {
        // OP Stack chains carry no blobs. Before Jovian blob gas used is zero; from Jovian on
        // it is the block's DA footprint (checked against execution), bounded by the gas limit.
        if let Some(used) = header.blob_gas_used {
            let max = if rules.is_jovian_active_at_timestamp(ts) {
                header.gas_limit
            } else {
                0
            };
            if used > max {
                return Err(BlockError::BlobGasUsed {
                    expected: max,
                    got: used,
                });
            }
        }
        if let Some(hash) = header.requests_hash {
            if hash != EMPTY_REQUESTS_HASH {
                return Err(BlockError::RequestsHash {
                    expected: EMPTY_REQUESTS_HASH,
                    got: Some(hash),
                });
            }
        }
    } else if let (Some(used), Some(params)) = (header.blob_gas_used, rules.blob_params_at(ts)) {
        let max = params.max_blob_gas_per_block();
        if used > max || used % alloy_eips::eip4844::DATA_GAS_PER_BLOB != 0 {
            return Err(BlockError::BlobGasUsed {
                expected: max,
                got: used,
            });
        }
    }
    Ok(())
}

/// EIP-4844 excess blob gas of the child of `parent` at `timestamp` (Cancun and Prague rules;
/// a pre-Cancun parent counts as zero excess and zero used).
pub fn expected_excess_blob_gas(rules: &ChainRules, parent: &Header, timestamp: u64) -> u64 {
    let Some(params) = rules.blob_params_at(timestamp) else {
        return 0;
    };
    if !rules.is_cancun_active_at_timestamp(parent.timestamp) {
        return 0;
    }
    let excess = parent.excess_blob_gas.unwrap_or(0);
    let used = parent.blob_gas_used.unwrap_or(0);
    if rules.is_osaka_active_at_timestamp(timestamp) {
        return params.next_block_excess_blob_gas_osaka(
            excess,
            used,
            parent.base_fee_per_gas.unwrap_or(0),
        );
    }
    (excess + used).saturating_sub(params.target_blob_gas_per_block())
}
