//! The OP Stack fork schedule of every Superchain rollup, from the Superchain registry.
//!
//! `crates/verifier/registry/` is a snapshot of ethereum-optimism/superchain-registry's
//! `superchain/configs/{mainnet,sepolia}` ([`snapshot`] names the commit; the folder's README
//! says how to refresh it). `build.rs` compiles every file in, and [`Registry::bundled`] parses
//! them once. A chain's `[hardforks]` table is the schedule its nodes follow; [`compare`] holds
//! the fork times of a genesis file against it, so a stale genesis (one that lacks a fork the
//! network has scheduled) is found before the verifier starts rejecting valid blocks at that
//! fork.
//!
//! Only what fork selection needs is read: name, chain id, `[hardforks]` and the EIP-1559
//! parameters of `[optimism]`; the other fields are ignored. A `*_time` key this code does not
//! know is an error, never skipped, so a refresh that brings a new fork fails until [`OpFork`]
//! learns it.

use std::{
    collections::{btree_map::Entry, BTreeMap},
    fmt,
    sync::OnceLock,
};

use serde::Deserialize;
use toml::{Table, Value};

// `BUNDLED_FILES: &[(&str, &str)]` (path relative to registry/, text), sorted by path, and
// `BUNDLED_SNAPSHOT: &str`; written by build.rs.
include!(concat!(env!("OUT_DIR"), "/superchain_registry.rs"));

/// OP Stack network upgrades after Bedrock, in activation order.
///
/// The order is the protocol's: a chain that runs one fork runs every earlier one, so
/// `a < b` means `a` activates no later than `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpFork {
    /// Deposit transaction fixes (gas accounting, sender nonce in receipts). Registry files do
    /// not list it; OP Stack node software takes it as active from genesis on every registry
    /// chain.
    Regolith,
    /// L2 counterpart of Ethereum's Shanghai; the EIP-1559 denominator switches to
    /// [`Eip1559Params::denominator_canyon`].
    Canyon,
    /// Span batches; changes derivation only, not block execution.
    Delta,
    /// L2 counterpart of Ethereum's Cancun; blob data availability and the L1 fee formula
    /// that prices blobs.
    Ecotone,
    /// FastLZ-based L1 cost estimate, Brotli channel compression, the P-256 verify precompile.
    Fjord,
    /// Input limit on the bn256 pairing precompile, shorter channel timeout.
    Granite,
    /// Stricter derivation; EIP-1559 parameters set through the SystemConfig and carried in
    /// the header's extra data.
    Holocene,
    /// L2 counterpart of Ethereum's Prague; withdrawals root of the L2-to-L1 message passer
    /// in the header, operator fee.
    Isthmus,
    /// Minimum base fee and data-availability footprint limit.
    Jovian,
    /// L2 counterpart of Ethereum's Osaka, with a smaller bn256 pairing input limit; its
    /// activation block carries one-time upgrade gas (see
    /// [`RegistryChain::keep_karst_upgrade_gas`]).
    Karst,
}

impl OpFork {
    /// Every fork, earliest first; `ALL[i] < ALL[i + 1]`.
    pub const ALL: [OpFork; 10] = [
        OpFork::Regolith,
        OpFork::Canyon,
        OpFork::Delta,
        OpFork::Ecotone,
        OpFork::Fjord,
        OpFork::Granite,
        OpFork::Holocene,
        OpFork::Isthmus,
        OpFork::Jovian,
        OpFork::Karst,
    ];

    /// The fork's name as the OP Stack specs write it, for logs and messages ("Isthmus").
    pub fn name(self) -> &'static str {
        match self {
            OpFork::Regolith => "Regolith",
            OpFork::Canyon => "Canyon",
            OpFork::Delta => "Delta",
            OpFork::Ecotone => "Ecotone",
            OpFork::Fjord => "Fjord",
            OpFork::Granite => "Granite",
            OpFork::Holocene => "Holocene",
            OpFork::Isthmus => "Isthmus",
            OpFork::Jovian => "Jovian",
            OpFork::Karst => "Karst",
        }
    }

    /// Key of the fork's activation time in a registry `[hardforks]` table ("isthmus_time").
    pub fn registry_key(self) -> &'static str {
        match self {
            OpFork::Regolith => "regolith_time",
            OpFork::Canyon => "canyon_time",
            OpFork::Delta => "delta_time",
            OpFork::Ecotone => "ecotone_time",
            OpFork::Fjord => "fjord_time",
            OpFork::Granite => "granite_time",
            OpFork::Holocene => "holocene_time",
            OpFork::Isthmus => "isthmus_time",
            OpFork::Jovian => "jovian_time",
            OpFork::Karst => "karst_time",
        }
    }

    /// Key of the fork's activation time in the `config` object of a geth-style genesis file
    /// ("isthmusTime").
    pub fn genesis_key(self) -> &'static str {
        match self {
            OpFork::Regolith => "regolithTime",
            OpFork::Canyon => "canyonTime",
            OpFork::Delta => "deltaTime",
            OpFork::Ecotone => "ecotoneTime",
            OpFork::Fjord => "fjordTime",
            OpFork::Granite => "graniteTime",
            OpFork::Holocene => "holoceneTime",
            OpFork::Isthmus => "isthmusTime",
            OpFork::Jovian => "jovianTime",
            OpFork::Karst => "karstTime",
        }
    }

    fn from_registry_key(key: &str) -> Option<OpFork> {
        OpFork::ALL
            .into_iter()
            .find(|fork| fork.registry_key() == key)
    }
}

impl fmt::Display for OpFork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A chain's EIP-1559 base-fee parameters from its `[optimism]` table. From Holocene on the
/// chain's SystemConfig can replace them (the values then travel in the block header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eip1559Params {
    /// Elasticity multiplier: gas target = gas limit / elasticity. At least 1.
    pub elasticity: u64,
    /// Base-fee max change denominator before Canyon (the fee moves by at most
    /// 1/denominator per block). At least 1.
    pub denominator: u64,
    /// The denominator from Canyon on; `None` when the file does not set it. At least 1.
    pub denominator_canyon: Option<u64>,
}

/// One chain of the registry: what its config file says about fork activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryChain {
    /// Display name from the file ("Soneium").
    pub name: String,
    /// EIP-155 chain id; unique within a [`Registry`].
    pub chain_id: u64,
    /// The superchain the chain belongs to: its folder, "mainnet" or "sepolia".
    pub superchain: String,
    /// The config file, relative to the registry folder ("mainnet/soneium.toml").
    pub file: String,
    /// Fork activation times exactly as the chain's `[hardforks]` table writes them: L2 block
    /// timestamps in Unix seconds, 0 meaning from genesis. A fork the table does not list is
    /// absent, even when a later fork makes it active; [`RegistryChain::activation`] gives
    /// the effective time.
    pub forks: BTreeMap<OpFork, u64>,
    /// `pectra_blob_schedule_time`: the L1-origin timestamp (Unix seconds) before which the L1
    /// block info keeps computing the blob base fee with Cancun's parameters, and from which
    /// it uses Prague's. Set only for chains that ran faulty software when Prague activated on
    /// their L1; `None` for the rest.
    pub pectra_blob_schedule_time: Option<u64>,
    /// `keep_karst_upgrade_gas`: the chain activated Karst with software that did not take
    /// the one-time upgrade gas off the gas limit again, and its history keeps that inflated
    /// limit. Set per chain in its own file, never inherited from the superchain; false when
    /// absent.
    pub keep_karst_upgrade_gas: bool,
    /// The `[optimism]` EIP-1559 parameters; `None` when the file has no such table.
    pub eip1559: Option<Eip1559Params>,
}

impl RegistryChain {
    /// Effective activation time of `fork` (Unix seconds): its own time, or — forks being
    /// cumulative — the earliest time of any later fork that is set; `None` if neither.
    /// Regolith, which no registry file lists, is active from genesis (time 0) on every
    /// registry chain, as node software loads the registry (Soneium, OP Mainnet: Regolith at 0).
    pub fn activation(&self, fork: OpFork) -> Option<u64> {
        if fork == OpFork::Regolith && !self.forks.contains_key(&OpFork::Regolith) {
            return Some(0);
        }
        effective(&self.forks, fork)
    }

    /// Every fork the chain has scheduled, with its effective activation time
    /// ([`activation`](Self::activation)).
    pub fn schedule(&self) -> BTreeMap<OpFork, u64> {
        OpFork::ALL
            .iter()
            .filter_map(|fork| self.activation(*fork).map(|time| (*fork, time)))
            .collect()
    }
}

/// Own time of `fork` in `forks`, else the earliest time of a later fork.
fn effective(forks: &BTreeMap<OpFork, u64>, fork: OpFork) -> Option<u64> {
    forks
        .get(&fork)
        .copied()
        .or_else(|| forks.range(fork..).map(|(_, &time)| time).min())
}

/// The chains of a set of registry files, indexed by chain id.
#[derive(Debug, Clone)]
pub struct Registry {
    chains: Vec<RegistryChain>,
    by_id: BTreeMap<u64, usize>,
}

impl Registry {
    /// The snapshot compiled into this crate (`crates/verifier/registry/`, see [`snapshot`]),
    /// parsed on first use and kept for the life of the process. An error means the vendored
    /// files hold something this code cannot read (after a refresh: usually a new fork); the
    /// crate's tests fail on it too.
    pub fn bundled() -> Result<&'static Registry, RegistryError> {
        static BUNDLED: OnceLock<Result<Registry, RegistryError>> = OnceLock::new();
        BUNDLED
            .get_or_init(|| Registry::parse(BUNDLED_FILES.iter().copied()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses registry files given as `(path relative to the registry folder, text)`, paths
    /// of the form `<superchain>/<file>.toml`. `superchain.toml` files are the superchains'
    /// defaults: they are checked (fork keys, times) but yield no chain, since each chain's
    /// own table already carries the times it inherits. Every other file is one chain; chains
    /// keep the order of `files`.
    pub fn parse<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Registry, RegistryError> {
        let mut registry = Registry {
            chains: Vec::new(),
            by_id: BTreeMap::new(),
        };
        for (file, text) in files {
            let Some((superchain, file_name)) = file.split_once('/') else {
                return Err(RegistryError::Path {
                    file: file.to_owned(),
                });
            };
            if superchain.is_empty() || file_name.contains('/') || !file_name.ends_with(".toml") {
                return Err(RegistryError::Path {
                    file: file.to_owned(),
                });
            }
            if file_name == "superchain.toml" {
                let parsed: SuperchainFile = from_toml(file, text)?;
                parse_hardforks(file, parsed.hardforks.as_ref())?;
                continue;
            }
            let chain = parse_chain(file, superchain, text)?;
            match registry.by_id.entry(chain.chain_id) {
                Entry::Occupied(first) => {
                    return Err(RegistryError::DuplicateChainId {
                        chain_id: chain.chain_id,
                        first: registry.chains[*first.get()].file.clone(),
                        second: chain.file,
                    });
                }
                Entry::Vacant(slot) => {
                    slot.insert(registry.chains.len());
                    registry.chains.push(chain);
                }
            }
        }
        Ok(registry)
    }

    /// The chain with EIP-155 id `chain_id`, if the registry has it.
    pub fn chain(&self, chain_id: u64) -> Option<&RegistryChain> {
        self.by_id
            .get(&chain_id)
            .and_then(|&index| self.chains.get(index))
    }

    /// Every chain, in the order their files were given (the bundled snapshot: by path).
    pub fn chains(&self) -> &[RegistryChain] {
        &self.chains
    }
}

/// Provenance of the bundled snapshot, `superchain-registry <commit prefix> (<commit date>)`,
/// e.g. "superchain-registry 8336d2ae (2026-08-04)"; for logs and version output. Taken at
/// build time from the `Commit:` line of `crates/verifier/registry/README.md`, which the
/// refresh script rewrites.
pub fn snapshot() -> &'static str {
    BUNDLED_SNAPSHOT
}

/// A fork whose effective activation time differs between a genesis file and the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkMismatch {
    /// The fork.
    pub fork: OpFork,
    /// Effective time (Unix seconds) from the genesis file; `None`: never activates there.
    pub genesis: Option<u64>,
    /// Effective time (Unix seconds) from the registry; `None`: not scheduled there.
    pub registry: Option<u64>,
}

impl fmt::Display for ForkMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: genesis {}, registry {}",
            self.fork,
            describe_time(self.genesis),
            describe_time(self.registry)
        )
    }
}

/// Forks whose effective activation differs between `genesis` (effective times taken from a
/// genesis file, keyed by fork) and `chain`, earliest fork first; empty when the schedules
/// agree. Both sides go through the same rule as [`RegistryChain::activation`], so a genesis
/// file that omits a fork a later one implies (Soneium's has no `deltaTime`) is no mismatch.
pub fn compare(genesis: &BTreeMap<OpFork, u64>, chain: &RegistryChain) -> Vec<ForkMismatch> {
    OpFork::ALL
        .into_iter()
        .filter_map(|fork| {
            let mismatch = ForkMismatch {
                fork,
                genesis: effective(genesis, fork),
                registry: chain.activation(fork),
            };
            (mismatch.genesis != mismatch.registry).then_some(mismatch)
        })
        .collect()
}

/// A registry file that cannot be used; every variant names the file (relative to the
/// registry folder) and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The path is not `<superchain>/<file>.toml`.
    #[error("registry file {file}: expected a path of the form <superchain>/<chain>.toml")]
    Path {
        /// The path given.
        file: String,
    },
    /// Not TOML, or a field has the wrong type.
    #[error("registry file {file}: {message}")]
    Toml {
        /// The file.
        file: String,
        /// The TOML parser's message, with the line.
        message: String,
    },
    /// A required top-level field is absent.
    #[error("registry file {file}: required field `{field}` is missing")]
    MissingField {
        /// The file.
        file: String,
        /// The field.
        field: &'static str,
    },
    /// `[hardforks]` schedules a fork [`OpFork`] does not know.
    #[error(
        "registry file {file}: [hardforks] has `{key}`, a fork this verifier does not know; \
         add it to OpFork (crates/verifier/src/registry.rs) and to the block rules before using \
         this registry snapshot"
    )]
    UnknownFork {
        /// The file.
        file: String,
        /// The `*_time` key.
        key: String,
    },
    /// `[hardforks]` has a setting that is neither a fork time nor a known flag.
    #[error(
        "registry file {file}: [hardforks] has `{key}`, a setting this verifier does not know; \
         find out what it changes in the registry's documentation and teach \
         crates/verifier/src/registry.rs before using this registry snapshot"
    )]
    UnknownSetting {
        /// The file.
        file: String,
        /// The key.
        key: String,
    },
    /// A `[hardforks]` time is not a non-negative integer.
    #[error(
        "registry file {file}: [hardforks] `{key}` must be a non-negative integer \
         (Unix seconds), got {value}"
    )]
    BadTime {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// What was there, as TOML.
        value: String,
    },
    /// A `[hardforks]` flag is not a boolean.
    #[error("registry file {file}: [hardforks] `{key}` must be true or false, got {value}")]
    BadFlag {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// What was there, as TOML.
        value: String,
    },
    /// An `[optimism]` EIP-1559 parameter is 0 (it divides).
    #[error("registry file {file}: [optimism] `{key}` must be at least 1, got 0")]
    ZeroEip1559 {
        /// The file.
        file: String,
        /// The key.
        key: &'static str,
    },
    /// Two files declare the same chain id.
    #[error("registry files {first} and {second} both declare chain id {chain_id}")]
    DuplicateChainId {
        /// The chain id.
        chain_id: u64,
        /// The file read first.
        first: String,
        /// The file read second.
        second: String,
    },
}

/// The fields of a chain file this module reads; serde ignores the rest.
#[derive(Deserialize)]
struct ChainFile {
    name: Option<String>,
    chain_id: Option<u64>,
    hardforks: Option<Table>,
    optimism: Option<OptimismTable>,
}

#[derive(Deserialize)]
struct OptimismTable {
    eip1559_elasticity: u64,
    eip1559_denominator: u64,
    eip1559_denominator_canyon: Option<u64>,
}

#[derive(Deserialize)]
struct SuperchainFile {
    hardforks: Option<Table>,
}

/// What a `[hardforks]` table says.
#[derive(Debug, Default)]
struct Hardforks {
    forks: BTreeMap<OpFork, u64>,
    pectra_blob_schedule_time: Option<u64>,
    keep_karst_upgrade_gas: bool,
}

const PECTRA_BLOB_SCHEDULE_KEY: &str = "pectra_blob_schedule_time";
const KEEP_KARST_UPGRADE_GAS_KEY: &str = "keep_karst_upgrade_gas";

fn parse_chain(file: &str, superchain: &str, text: &str) -> Result<RegistryChain, RegistryError> {
    let parsed: ChainFile = from_toml(file, text)?;
    let missing = |field| RegistryError::MissingField {
        file: file.to_owned(),
        field,
    };
    let name = parsed.name.ok_or_else(|| missing("name"))?;
    let chain_id = parsed.chain_id.ok_or_else(|| missing("chain_id"))?;
    let hardforks = parse_hardforks(file, parsed.hardforks.as_ref())?;
    let eip1559 = parsed
        .optimism
        .map(|optimism| {
            let nonzero = |key, value: u64| {
                if value == 0 {
                    Err(RegistryError::ZeroEip1559 {
                        file: file.to_owned(),
                        key,
                    })
                } else {
                    Ok(value)
                }
            };
            Ok::<_, RegistryError>(Eip1559Params {
                elasticity: nonzero("eip1559_elasticity", optimism.eip1559_elasticity)?,
                denominator: nonzero("eip1559_denominator", optimism.eip1559_denominator)?,
                denominator_canyon: optimism
                    .eip1559_denominator_canyon
                    .map(|value| nonzero("eip1559_denominator_canyon", value))
                    .transpose()?,
            })
        })
        .transpose()?;
    Ok(RegistryChain {
        name,
        chain_id,
        superchain: superchain.to_owned(),
        file: file.to_owned(),
        forks: hardforks.forks,
        pectra_blob_schedule_time: hardforks.pectra_blob_schedule_time,
        keep_karst_upgrade_gas: hardforks.keep_karst_upgrade_gas,
        eip1559,
    })
}

/// Reads a `[hardforks]` table (absent: nothing scheduled). Every key must be a known fork
/// time, `pectra_blob_schedule_time` or `keep_karst_upgrade_gas`.
fn parse_hardforks(file: &str, table: Option<&Table>) -> Result<Hardforks, RegistryError> {
    let mut hardforks = Hardforks::default();
    for (key, value) in table.into_iter().flatten() {
        if key == KEEP_KARST_UPGRADE_GAS_KEY {
            hardforks.keep_karst_upgrade_gas = match value {
                Value::Boolean(flag) => *flag,
                other => {
                    return Err(RegistryError::BadFlag {
                        file: file.to_owned(),
                        key: key.clone(),
                        value: other.to_string(),
                    })
                }
            };
        } else if key == PECTRA_BLOB_SCHEDULE_KEY {
            hardforks.pectra_blob_schedule_time = Some(time(file, key, value)?);
        } else if let Some(fork) = OpFork::from_registry_key(key) {
            hardforks.forks.insert(fork, time(file, key, value)?);
        } else if key.ends_with("_time") {
            return Err(RegistryError::UnknownFork {
                file: file.to_owned(),
                key: key.clone(),
            });
        } else {
            return Err(RegistryError::UnknownSetting {
                file: file.to_owned(),
                key: key.clone(),
            });
        }
    }
    Ok(hardforks)
}

fn time(file: &str, key: &str, value: &Value) -> Result<u64, RegistryError> {
    match value {
        Value::Integer(seconds) => u64::try_from(*seconds).ok(),
        _ => None,
    }
    .ok_or_else(|| RegistryError::BadTime {
        file: file.to_owned(),
        key: key.to_owned(),
        value: value.to_string(),
    })
}

fn from_toml<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, RegistryError> {
    toml::from_str(text).map_err(|error| {
        let line = error.span().map(|span| {
            text.get(..span.start)
                .unwrap_or(text)
                .lines()
                .count()
                .max(1)
        });
        let message = match line {
            Some(line) => format!("line {line}: {}", error.message()),
            None => error.message().to_owned(),
        };
        RegistryError::Toml {
            file: file.to_owned(),
            message,
        }
    })
}

/// "1746806401 (2025-05-09 16:00:01 UTC)", or "none".
fn describe_time(time: Option<u64>) -> String {
    match time {
        Some(seconds) => format!("{seconds} ({})", utc(seconds)),
        None => "none".to_owned(),
    }
}

/// Unix seconds as "YYYY-MM-DD hh:mm:ss UTC".
fn utc(seconds: u64) -> String {
    let (year, month, day) = civil_date(seconds / 86_400);
    let second_of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Gregorian (year, month 1-12, day 1-31) of the day `days` after 1970-01-01.
///
/// Counts in 400-year eras starting on 1 March, so that the leap day is the last day of its
/// year: an era has 146 097 days, and within it a year is 365 days plus one every 4th year,
/// less one every 100th, plus one in the 400th.
fn civil_date(days: u64) -> (u64, u64, u64) {
    // 0000-03-01 is 719 468 days before 1970-01-01.
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, (28 or 29) days repeat
    // in a 153-day pattern of five months.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn bundled() -> &'static Registry {
        Registry::bundled().unwrap_or_else(|error| panic!("bundled registry: {error}"))
    }

    fn chain(chain_id: u64) -> &'static RegistryChain {
        bundled()
            .chain(chain_id)
            .unwrap_or_else(|| panic!("chain {chain_id} not in registry"))
    }

    fn schedule(times: &[(OpFork, u64)]) -> BTreeMap<OpFork, u64> {
        times.iter().copied().collect()
    }

    #[test]
    fn bundled_snapshot_parses() {
        let registry = bundled();
        let superchains = BUNDLED_FILES
            .iter()
            .filter(|(file, _)| file.ends_with("/superchain.toml"));
        assert_eq!(superchains.count(), 2);
        assert_eq!(registry.chains().len(), BUNDLED_FILES.len() - 2);
        for chain in registry.chains() {
            assert!(
                chain.superchain == "mainnet" || chain.superchain == "sepolia",
                "{}",
                chain.file
            );
            assert_eq!(registry.chain(chain.chain_id), Some(chain));
        }
        // "superchain-registry 8336d2ae (2026-08-04)" for the snapshot this was written with.
        let (commit, date) = snapshot()
            .strip_prefix("superchain-registry ")
            .and_then(|rest| rest.split_once(' '))
            .unwrap();
        assert_eq!(commit.len(), 8, "{}", snapshot());
        assert!(
            commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            snapshot()
        );
        assert_eq!(date.len(), "(2026-08-04)".len(), "{}", snapshot());
    }

    #[test]
    fn soneium() {
        let soneium = chain(1868);
        assert_eq!(soneium.name, "Soneium");
        assert_eq!(soneium.superchain, "mainnet");
        assert_eq!(soneium.file, "mainnet/soneium.toml");
        assert_eq!(soneium.forks.get(&OpFork::Holocene), Some(&1_738_573_200));
        assert_eq!(soneium.forks.get(&OpFork::Isthmus), Some(&1_746_806_401));
        assert_eq!(soneium.forks.get(&OpFork::Jovian), Some(&1_764_691_201));
        assert_eq!(soneium.forks.get(&OpFork::Karst), Some(&1_783_526_401));
        assert!(soneium.keep_karst_upgrade_gas);
        assert_eq!(soneium.pectra_blob_schedule_time, None);
        assert_eq!(
            soneium.eip1559,
            Some(Eip1559Params {
                elasticity: 6,
                denominator: 50,
                denominator_canyon: Some(250)
            })
        );
        assert_eq!(soneium.forks.get(&OpFork::Regolith), None);
        assert_eq!(soneium.activation(OpFork::Regolith), Some(0));
        assert_eq!(soneium.activation(OpFork::Granite), Some(0));
    }

    #[test]
    fn op_mainnet() {
        let op = chain(10);
        assert_eq!(op.name, "OP Mainnet");
        assert_eq!(op.forks.get(&OpFork::Canyon), Some(&1_704_992_401));
        assert_eq!(op.forks.get(&OpFork::Ecotone), Some(&1_710_374_401));
        assert_eq!(op.forks.get(&OpFork::Isthmus), Some(&1_746_806_401));
        assert_eq!(op.forks.get(&OpFork::Karst), Some(&1_783_526_401));
        assert!(op.keep_karst_upgrade_gas);
        // No Regolith in the file: active from genesis, as node software reads the registry.
        assert_eq!(op.activation(OpFork::Regolith), Some(0));
    }

    #[test]
    fn op_sepolia() {
        let op_sepolia = chain(11_155_420);
        assert_eq!(op_sepolia.name, "OP Sepolia Testnet");
        assert_eq!(op_sepolia.superchain, "sepolia");
        assert_eq!(op_sepolia.file, "sepolia/op.toml");
        assert_eq!(op_sepolia.forks.get(&OpFork::Isthmus), Some(&1_744_905_600));
        assert_eq!(op_sepolia.forks.get(&OpFork::Karst), Some(&1_781_712_001));
        assert_eq!(op_sepolia.pectra_blob_schedule_time, Some(1_742_486_400));
    }

    #[test]
    fn unichain() {
        let unichain = chain(130);
        assert_eq!(unichain.name, "Unichain");
        assert_eq!(unichain.forks.get(&OpFork::Granite), Some(&0));
        assert_eq!(unichain.forks.get(&OpFork::Holocene), Some(&1_736_445_601));
        assert_eq!(unichain.forks.get(&OpFork::Jovian), Some(&1_764_691_201));
        assert_eq!(unichain.activation(OpFork::Regolith), Some(0));
        assert!(unichain.keep_karst_upgrade_gas);
    }

    #[test]
    fn unscheduled_fork_has_no_activation() {
        // World Chain schedules Jovian but not Karst.
        let world = chain(480);
        assert_eq!(world.activation(OpFork::Jovian), Some(1_777_593_600));
        assert_eq!(world.activation(OpFork::Karst), None);
        assert!(!world.keep_karst_upgrade_gas);
    }

    #[test]
    fn compare_equal_schedule_is_empty() {
        let soneium = chain(1868);
        assert_eq!(compare(&soneium.forks, soneium), Vec::new());
    }

    #[test]
    fn compare_stale_soneium_genesis() {
        // The fork fields of the Soneium genesis.json operators were given (config section):
        // regolithTime through graniteTime 0 except deltaTime (absent), holoceneTime
        // 1738573200, nothing later.
        let genesis = schedule(&[
            (OpFork::Regolith, 0),
            (OpFork::Canyon, 0),
            (OpFork::Ecotone, 0),
            (OpFork::Fjord, 0),
            (OpFork::Granite, 0),
            (OpFork::Holocene, 1_738_573_200),
        ]);
        let mismatches = compare(&genesis, chain(1868));
        assert_eq!(
            mismatches,
            vec![
                ForkMismatch {
                    fork: OpFork::Isthmus,
                    genesis: None,
                    registry: Some(1_746_806_401)
                },
                ForkMismatch {
                    fork: OpFork::Jovian,
                    genesis: None,
                    registry: Some(1_764_691_201)
                },
                ForkMismatch {
                    fork: OpFork::Karst,
                    genesis: None,
                    registry: Some(1_783_526_401)
                },
            ]
        );
        assert_eq!(
            mismatches[0].to_string(),
            "Isthmus: genesis none, registry 1746806401 (2025-05-09 16:00:01 UTC)"
        );
    }

    #[test]
    fn compare_reports_different_times() {
        let mut genesis = chain(1868).forks.clone();
        genesis.insert(OpFork::Holocene, 1_738_573_201);
        let mismatches = compare(&genesis, chain(1868));
        assert_eq!(mismatches.len(), 1);
        assert_eq!(
            mismatches[0].to_string(),
            "Holocene: genesis 1738573201 (2025-02-03 09:00:01 UTC), \
             registry 1738573200 (2025-02-03 09:00:00 UTC)"
        );
    }

    const MINIMAL_CHAIN: &str = r#"
name = "Test Chain"
chain_id = 7
[hardforks]
  canyon_time = 0
  isthmus_time = 100
[optimism]
  eip1559_elasticity = 6
  eip1559_denominator = 50
"#;

    fn parse_error(files: &[(&str, &str)]) -> String {
        match Registry::parse(files.iter().copied()) {
            Ok(registry) => panic!("parsed, expected an error: {registry:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn parse_minimal_chain() {
        let registry = Registry::parse([("mainnet/test.toml", MINIMAL_CHAIN)]).unwrap();
        let test = registry.chain(7).unwrap();
        assert_eq!(
            test.forks,
            schedule(&[(OpFork::Canyon, 0), (OpFork::Isthmus, 100)])
        );
        assert_eq!(test.activation(OpFork::Holocene), Some(100));
        assert_eq!(test.activation(OpFork::Jovian), None);
        assert!(!test.keep_karst_upgrade_gas);
        assert_eq!(
            test.eip1559,
            Some(Eip1559Params {
                elasticity: 6,
                denominator: 50,
                denominator_canyon: None
            })
        );
    }

    #[test]
    fn unknown_fork_is_an_error() {
        let text = MINIMAL_CHAIN.replace("isthmus_time = 100", "nova_time = 100");
        let message = parse_error(&[("mainnet/test.toml", &text)]);
        assert!(message.contains("mainnet/test.toml"), "{message}");
        assert!(message.contains("`nova_time`"), "{message}");
        assert!(message.contains("does not know"), "{message}");
        assert!(message.contains("add it to OpFork"), "{message}");

        let superchain = "name = \"Mainnet\"\n[hardforks]\nnova_time = 5\n";
        let message = parse_error(&[("mainnet/superchain.toml", superchain)]);
        assert!(message.contains("mainnet/superchain.toml"), "{message}");
        assert!(message.contains("`nova_time`"), "{message}");
    }

    #[test]
    fn unknown_setting_is_an_error() {
        let text = MINIMAL_CHAIN.replace("isthmus_time = 100", "keep_nova_gas = true");
        let message = parse_error(&[("mainnet/test.toml", &text)]);
        assert!(message.contains("mainnet/test.toml"), "{message}");
        assert!(message.contains("`keep_nova_gas`"), "{message}");
    }

    #[test]
    fn non_integer_time_is_an_error() {
        for bad in ["\"100\"", "-1", "1.5"] {
            let text =
                MINIMAL_CHAIN.replace("isthmus_time = 100", &format!("isthmus_time = {bad}"));
            let message = parse_error(&[("sepolia/test.toml", &text)]);
            assert!(message.contains("sepolia/test.toml"), "{message}");
            assert!(message.contains("`isthmus_time`"), "{message}");
            assert!(message.contains("non-negative integer"), "{message}");
        }
    }

    #[test]
    fn bad_flag_is_an_error() {
        let text = MINIMAL_CHAIN.replace("isthmus_time = 100", "keep_karst_upgrade_gas = 1");
        let message = parse_error(&[("sepolia/test.toml", &text)]);
        assert!(message.contains("sepolia/test.toml"), "{message}");
        assert!(
            message.contains("`keep_karst_upgrade_gas` must be true or false"),
            "{message}"
        );
    }

    #[test]
    fn duplicate_chain_id_is_an_error() {
        let message = parse_error(&[
            ("mainnet/a.toml", MINIMAL_CHAIN),
            ("sepolia/b.toml", MINIMAL_CHAIN),
        ]);
        assert_eq!(
            message,
            "registry files mainnet/a.toml and sepolia/b.toml both declare chain id 7"
        );
    }

    #[test]
    fn missing_chain_id_is_an_error() {
        let text = MINIMAL_CHAIN.replace("chain_id = 7\n", "");
        let message = parse_error(&[("mainnet/test.toml", &text)]);
        assert_eq!(
            message,
            "registry file mainnet/test.toml: required field `chain_id` is missing"
        );
    }

    #[test]
    fn wrong_type_and_bad_toml_name_file_and_line() {
        let text = MINIMAL_CHAIN.replace("chain_id = 7", "chain_id = \"seven\"");
        let message = parse_error(&[("mainnet/test.toml", &text)]);
        assert!(
            message.starts_with("registry file mainnet/test.toml: line 3:"),
            "{message}"
        );

        let message = parse_error(&[("mainnet/test.toml", "name = \n")]);
        assert!(
            message.starts_with("registry file mainnet/test.toml: line 1:"),
            "{message}"
        );

        let message = parse_error(&[("test.toml", MINIMAL_CHAIN)]);
        assert!(message.contains("<superchain>/<chain>.toml"), "{message}");
    }

    #[test]
    fn zero_eip1559_parameter_is_an_error() {
        let text = MINIMAL_CHAIN.replace("eip1559_elasticity = 6", "eip1559_elasticity = 0");
        let message = parse_error(&[("mainnet/test.toml", &text)]);
        assert!(message.contains("mainnet/test.toml"), "{message}");
        assert!(
            message.contains("`eip1559_elasticity` must be at least 1"),
            "{message}"
        );
    }

    /// The registry documents that a chain with `superchain_time` inherits every superchain-wide
    /// time at or after it, written into the chain's own file; a time at or before the chain's
    /// genesis (`[genesis] l2_time`) becomes 0. Check the snapshot keeps that promise, since
    /// this module reads only the chain's own table. For times at or before genesis the files
    /// write either 0 (Metal, Unichain) or the superchain's time (Ethernity, Lisk, Ink
    /// Sepolia); both mean active from genesis, so both pass.
    #[test]
    fn chains_carry_inherited_superchain_times() {
        let raw = |file: &str| -> Table {
            let (_, text) = BUNDLED_FILES
                .iter()
                .find(|(path, _)| *path == file)
                .unwrap();
            toml::from_str(text).unwrap()
        };
        let integer = |table: &Table, key: &str| table.get(key).and_then(Value::as_integer);
        let mut checked = 0;
        for chain in bundled().chains() {
            let own = raw(&chain.file);
            let Some(superchain_time) = integer(&own, "superchain_time") else {
                continue;
            };
            let superchain_time = u64::try_from(superchain_time).unwrap();
            let genesis_time = own
                .get("genesis")
                .and_then(Value::as_table)
                .and_then(|genesis| integer(genesis, "l2_time"))
                .map(|time| u64::try_from(time).unwrap())
                .unwrap_or_else(|| panic!("{} has no [genesis] l2_time", chain.file));
            let superchain_file = format!("{}/superchain.toml", chain.superchain);
            let superchain = raw(&superchain_file);
            let defaults = parse_hardforks(
                &superchain_file,
                superchain.get("hardforks").and_then(Value::as_table),
            )
            .unwrap();
            let inherited = |own: Option<u64>, default: u64| match own {
                Some(own) if default > genesis_time => own == default,
                Some(own) => own == default || own == 0,
                None => false,
            };
            for (&fork, &default) in &defaults.forks {
                let own = chain.forks.get(&fork).copied();
                assert!(
                    default < superchain_time || inherited(own, default),
                    "{}: {fork} is {own:?}, but {superchain_file} has {default} \
                     (superchain_time {superchain_time}, genesis {genesis_time})",
                    chain.file
                );
            }
            if let Some(default) = defaults.pectra_blob_schedule_time {
                let own = chain.pectra_blob_schedule_time;
                assert!(
                    default < superchain_time || inherited(own, default),
                    "{}: pectra_blob_schedule_time is {own:?}, but {superchain_file} has {default}",
                    chain.file
                );
            }
            checked += 1;
        }
        // 18 in the snapshot of 2026-08-04; chains join the standard set, they rarely leave it.
        assert!(checked >= 18, "only {checked} chains with superchain_time");
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(86_399), "1970-01-01 23:59:59 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(951_868_800), "2000-03-01 00:00:00 UTC");
        assert_eq!(utc(1_709_164_800), "2024-02-29 00:00:00 UTC");
        assert_eq!(utc(1_735_689_599), "2024-12-31 23:59:59 UTC");
        assert_eq!(utc(1_746_806_401), "2025-05-09 16:00:01 UTC");
        assert_eq!(utc(1_783_526_401), "2026-07-08 16:00:01 UTC");
        assert_eq!(utc(4_107_542_400), "2100-03-01 00:00:00 UTC");
    }

    #[test]
    fn fork_keys() {
        assert_eq!(OpFork::Isthmus.name(), "Isthmus");
        assert_eq!(OpFork::Isthmus.registry_key(), "isthmus_time");
        assert_eq!(OpFork::Isthmus.genesis_key(), "isthmusTime");
        for pair in OpFork::ALL.windows(2) {
            assert!(pair[0] < pair[1]);
        }
        for fork in OpFork::ALL {
            assert_eq!(OpFork::from_registry_key(fork.registry_key()), Some(fork));
            let lower = fork.name().to_lowercase();
            assert_eq!(fork.registry_key(), format!("{lower}_time"));
            assert_eq!(fork.genesis_key(), format!("{lower}Time"));
        }
    }
}
