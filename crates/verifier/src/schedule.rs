//! Which OP Stack fork schedule a chain is validated by, and whether it can be trusted.
//!
//! Operators hand the verifier a geth-style `genesis.json`, and those files go stale: the
//! reference Soneium genesis lists forks only to Holocene, while Soneium has since activated
//! Isthmus, Jovian and Karst. Validating by a stale schedule judges every newer block by old
//! rules, which is a false alert on every block. So before validating, the genesis file's OP
//! fork times (and EIP-1559 parameters) are compared with the bundled Superchain registry's
//! entry for the same chain ID ([`check`]), and [`resolve`] decides what to validate by:
//!
//! - [`ScheduleSource::Genesis`] (the default): the genesis file, if the registry agrees or does
//!   not list the chain; on a difference, an error naming every fork, both times and the fix
//!   (modes that judge blocks refuse to start; unsafe mode, which judges nothing, warns and
//!   checks headers by the registry's schedule).
//! - [`ScheduleSource::Registry`] (`--chain-rules registry`): the registry's schedule, EIP-1559
//!   parameters and per-chain flags replace the genesis file's.

use std::fmt;

use crate::{
    chain::ChainRules,
    registry::{compare, snapshot, ForkMismatch, Registry, RegistryChain, RegistryError},
};

/// Where the OP Stack fork schedule comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScheduleSource {
    /// The genesis file, checked against the Superchain registry.
    #[default]
    Genesis,
    /// The Superchain registry's entry for the chain ID.
    Registry,
}

impl std::str::FromStr for ScheduleSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "genesis" => Ok(Self::Genesis),
            "registry" => Ok(Self::Registry),
            other => Err(format!(
                "unknown chain rules source {other:?}: expected \"genesis\" or \"registry\""
            )),
        }
    }
}

impl fmt::Display for ScheduleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Genesis => "genesis",
            Self::Registry => "registry",
        })
    }
}

/// One way a genesis file's OP Stack rules differ from the registry's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// A fork activates at another time (or only in one of them).
    Fork(ForkMismatch),
    /// An EIP-1559 parameter differs.
    Eip1559 {
        /// Which parameter.
        parameter: &'static str,
        /// The genesis file's value.
        genesis: Option<u64>,
        /// The registry's value.
        registry: Option<u64>,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = |v: &Option<u64>| v.map_or_else(|| "none".to_string(), |v| v.to_string());
        match self {
            Self::Fork(mismatch) => write!(f, "{mismatch}"),
            Self::Eip1559 {
                parameter,
                genesis,
                registry,
            } => write!(
                f,
                "{parameter}: genesis {}, registry {}",
                value(genesis),
                value(registry)
            ),
        }
    }
}

/// How a chain's genesis rules compare with the bundled registry.
#[derive(Debug, Clone)]
pub enum ScheduleCheck<'r> {
    /// Not an OP Stack chain: the registry does not apply.
    NotOpStack,
    /// The registry does not list this chain ID.
    Unlisted {
        /// The genesis file's chain ID.
        chain_id: u64,
    },
    /// The genesis file agrees with the registry's entry.
    Agrees {
        /// The registry's entry.
        chain: &'r RegistryChain,
    },
    /// The genesis file differs from the registry's entry.
    Differs {
        /// The registry's entry.
        chain: &'r RegistryChain,
        /// Every difference, forks first.
        differences: Vec<Difference>,
    },
}

/// Compares the OP Stack fork schedule and EIP-1559 parameters of `rules` (read from a genesis
/// file) with `registry`'s entry for the same chain ID.
pub fn check<'r>(rules: &ChainRules, registry: &'r Registry) -> ScheduleCheck<'r> {
    let Some(op) = &rules.optimism else {
        return ScheduleCheck::NotOpStack;
    };
    let Some(chain) = registry.chain(rules.chain_id) else {
        return ScheduleCheck::Unlisted {
            chain_id: rules.chain_id,
        };
    };
    let mut differences: Vec<Difference> = compare(op.schedule(), chain)
        .into_iter()
        .map(Difference::Fork)
        .collect();
    if let Some(params) = &chain.eip1559 {
        let pairs = [
            (
                "EIP-1559 elasticity",
                Some(op.eip1559_elasticity),
                Some(params.elasticity),
            ),
            (
                "EIP-1559 denominator",
                Some(op.eip1559_denominator),
                Some(params.denominator),
            ),
            (
                "EIP-1559 denominator from Canyon",
                op.eip1559_denominator_canyon,
                params.denominator_canyon,
            ),
        ];
        for (parameter, genesis, registry) in pairs {
            if genesis != registry {
                differences.push(Difference::Eip1559 {
                    parameter,
                    genesis,
                    registry,
                });
            }
        }
    }
    if differences.is_empty() {
        ScheduleCheck::Agrees { chain }
    } else {
        ScheduleCheck::Differs { chain, differences }
    }
}

/// Why the chain rules cannot be settled.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The genesis file's schedule differs from the registry's.
    #[error("the genesis file's OP Stack rules for {name} (chain {chain_id}) differ from the Superchain registry ({snapshot}):\n{list}\nValidating by them would judge the chain's blocks by the wrong rules and could accuse valid blocks. Fix: use a genesis file with the registry's fork times, or start with `--chain-rules registry` to validate by the registry's schedule.", list = bullet_list(differences))]
    Stale {
        /// The chain's name in the registry.
        name: String,
        /// The chain ID.
        chain_id: u64,
        /// Every difference.
        differences: Vec<Difference>,
        /// Which registry snapshot says so.
        snapshot: &'static str,
    },
    /// `--chain-rules registry` for a chain the registry does not list.
    #[error("chain {chain_id} is not in the bundled Superchain registry ({snapshot}): validate it by its genesis file (`--chain-rules genesis`), or refresh the registry snapshot if the chain has joined it")]
    Unlisted {
        /// The chain ID.
        chain_id: u64,
        /// The snapshot searched.
        snapshot: &'static str,
    },
    /// `--chain-rules registry` for a chain without OP Stack rules.
    #[error("the genesis file has no `optimism` section: the Superchain registry only describes OP Stack chains; use `--chain-rules genesis`")]
    NotOpStack,
    /// The bundled registry did not parse (a build defect).
    #[error("bundled Superchain registry: {0}")]
    Registry(#[from] RegistryError),
}

fn bullet_list(differences: &[Difference]) -> String {
    differences
        .iter()
        .map(|d| format!("  - {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The rules a verifier validates by, and what to tell the operator about them.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The rules.
    pub rules: ChainRules,
    /// One log line: where the schedule came from and how it compares with the registry.
    pub note: String,
    /// The genesis file differs from the registry (unsafe mode starts anyway, by the registry's
    /// schedule): log the note as a warning.
    pub warning: bool,
}

/// Settles the rules to validate by from the genesis file's `rules` and `source`, against the
/// bundled registry. With `strict_schedule` (modes that judge blocks: strict and safe) a genesis
/// file that differs from the registry is an error; without (unsafe mode), a warning, and the
/// registry's schedule is used.
pub fn resolve(
    rules: ChainRules,
    source: ScheduleSource,
    strict_schedule: bool,
) -> Result<Resolved, ScheduleError> {
    resolve_with(rules, source, strict_schedule, Registry::bundled()?)
}

/// [`resolve`] against a given registry.
pub fn resolve_with(
    rules: ChainRules,
    source: ScheduleSource,
    strict_schedule: bool,
    registry: &Registry,
) -> Result<Resolved, ScheduleError> {
    let snapshot = snapshot();
    let check = check(&rules, registry);
    let resolved = |rules, note: String, warning| {
        Ok(Resolved {
            rules,
            note,
            warning,
        })
    };
    match (source, check) {
        (ScheduleSource::Registry, ScheduleCheck::NotOpStack) => Err(ScheduleError::NotOpStack),
        (ScheduleSource::Registry, ScheduleCheck::Unlisted { chain_id }) => {
            Err(ScheduleError::Unlisted { chain_id, snapshot })
        }
        (
            ScheduleSource::Registry,
            ScheduleCheck::Agrees { chain } | ScheduleCheck::Differs { chain, .. },
        ) => {
            let rules = rules.with_registry(chain);
            let note = format!(
                "validating {} (chain {}) by the Superchain registry's schedule ({snapshot}): {}",
                chain.name,
                chain.chain_id,
                schedule_summary(&rules)
            );
            resolved(rules, note, false)
        }
        (ScheduleSource::Genesis, ScheduleCheck::NotOpStack) => resolved(
            rules,
            "not an OP Stack chain: validating by the genesis file's forks".into(),
            false,
        ),
        (ScheduleSource::Genesis, ScheduleCheck::Unlisted { chain_id }) => {
            let note = format!(
                "chain {chain_id} is not in the bundled Superchain registry ({snapshot}): validating by the genesis file's fork schedule as given: {}",
                schedule_summary(&rules)
            );
            resolved(rules, note, false)
        }
        (ScheduleSource::Genesis, ScheduleCheck::Agrees { chain }) => {
            let note = format!(
                "the genesis file's OP Stack schedule for {} (chain {}) agrees with the Superchain registry ({snapshot}): {}",
                chain.name,
                chain.chain_id,
                schedule_summary(&rules)
            );
            resolved(rules, note, false)
        }
        (ScheduleSource::Genesis, ScheduleCheck::Differs { chain, differences }) => {
            let error = ScheduleError::Stale {
                name: chain.name.clone(),
                chain_id: chain.chain_id,
                differences,
                snapshot,
            };
            if strict_schedule {
                return Err(error);
            }
            // Unsafe mode judges nothing, but checks headers: by a stale schedule it would stop
            // at the first block of a fork the genesis lacks. The registry's schedule is known
            // to be the chain's.
            let note = format!(
                "{error}\nUnsafe mode executes nothing and never alerts: starting, with the registry's schedule for header checks."
            );
            resolved(rules.with_registry(chain), note, true)
        }
    }
}

/// The OP forks of `rules` with their activation times, for logs: `Canyon@0 … Karst@1783526401`.
pub fn schedule_summary(rules: &ChainRules) -> String {
    match &rules.optimism {
        None => "no OP Stack forks".into(),
        Some(op) if op.schedule().is_empty() => "no OP Stack forks after Bedrock".into(),
        Some(op) => op
            .schedule()
            .iter()
            .map(|(fork, time)| format!("{}@{time}", fork.name()))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::registry::OpFork;
    use serde_json::Value;

    /// The reference Soneium genesis as operators have it (forks to Holocene only).
    const SONEIUM_GENESIS: &str = include_str!("../tests/data/soneium-genesis.json");

    fn soneium() -> ChainRules {
        ChainRules::from_genesis_json(SONEIUM_GENESIS).unwrap()
    }

    /// A genesis config of `chain` with its effective fork schedule written out (fork `skip`
    /// left out).
    fn genesis_of(chain: &RegistryChain, skip: Option<OpFork>) -> ChainRules {
        let mut config: Value = serde_json::json!({
            "chainId": chain.chain_id, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
            "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0,
            "petersburgBlock": 0, "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0,
            "mergeNetsplitBlock": 0, "terminalTotalDifficulty": 0, "bedrockBlock": 0,
            "optimism": {},
        });
        if let Some(params) = &chain.eip1559 {
            config["optimism"] = serde_json::json!({
                "eip1559Elasticity": params.elasticity,
                "eip1559Denominator": params.denominator,
                "eip1559DenominatorCanyon": params.denominator_canyon,
            });
        }
        // A current genesis file lists every fork (Regolith at 0 on every registry chain).
        for (fork, time) in chain.schedule() {
            if Some(fork) != skip {
                config[fork.genesis_key()] = time.into();
            }
        }
        ChainRules::from_config(&config).unwrap()
    }

    #[test]
    fn the_stale_soneium_genesis_is_refused_naming_each_missing_fork() {
        let error = resolve(soneium(), ScheduleSource::Genesis, true).unwrap_err();
        let ScheduleError::Stale { differences, .. } = &error else {
            panic!("{error}");
        };
        let forks: Vec<OpFork> = differences
            .iter()
            .map(|d| match d {
                Difference::Fork(m) => m.fork,
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(forks, [OpFork::Isthmus, OpFork::Jovian, OpFork::Karst]);
        let text = error.to_string();
        for needle in [
            "Soneium (chain 1868)",
            "Isthmus: genesis none, registry 1746806401",
            "Jovian: genesis none, registry 1764691201",
            "Karst: genesis none, registry 1783526401",
            "--chain-rules registry",
        ] {
            assert!(text.contains(needle), "{needle:?} in {text}");
        }
    }

    #[test]
    fn unsafe_mode_warns_and_the_registry_schedule_replaces_a_stale_one() {
        let warned = resolve(soneium(), ScheduleSource::Genesis, false).unwrap();
        assert!(warned.warning);
        assert!(
            warned.note.contains("Jovian: genesis none"),
            "{}",
            warned.note
        );
        let schedule = warned.rules.optimism.as_ref().unwrap().schedule();
        assert_eq!(schedule[&OpFork::Jovian], 1_764_691_201);

        let by_registry = resolve(soneium(), ScheduleSource::Registry, true).unwrap();
        assert!(!by_registry.warning);
        let schedule = by_registry.rules.optimism.as_ref().unwrap().schedule();
        assert_eq!(schedule[&OpFork::Karst], 1_783_526_401);
        assert!(
            by_registry.note.contains("Karst@1783526401"),
            "{}",
            by_registry.note
        );
    }

    #[test]
    fn every_registry_chain_accepts_its_own_schedule_and_refuses_a_stale_one() {
        let registry = Registry::bundled().unwrap();
        for chain in registry.chains() {
            let current = genesis_of(chain, None);
            assert!(
                matches!(check(&current, registry), ScheduleCheck::Agrees { .. }),
                "{}: {:?}",
                chain.file,
                check(&current, registry)
            );
            resolve_with(current, ScheduleSource::Genesis, true, registry).unwrap();
            // Leave out the newest fork (its genesis key), as a stale genesis file does.
            let Some((&newest, _)) = chain.forks.iter().next_back() else {
                continue;
            };
            let stale = genesis_of(chain, Some(newest));
            let error = resolve_with(stale.clone(), ScheduleSource::Genesis, true, registry)
                .expect_err(&chain.file);
            assert!(error.to_string().contains(newest.name()), "{error}");
            resolve_with(stale, ScheduleSource::Registry, true, registry).unwrap();
        }
    }

    #[test]
    fn other_eip1559_parameters_are_a_difference() {
        let registry = Registry::bundled().unwrap();
        let chain = registry.chain(1868).unwrap();
        let mut rules = genesis_of(chain, None);
        rules.optimism.as_mut().unwrap().eip1559_denominator_canyon = Some(251);
        let ScheduleCheck::Differs { differences, .. } = check(&rules, registry) else {
            panic!("a different denominator must be a difference");
        };
        assert_eq!(
            differences[0].to_string(),
            "EIP-1559 denominator from Canyon: genesis 251, registry 250"
        );
    }

    #[test]
    fn chains_outside_the_registry_keep_their_genesis() {
        let mut genesis: Value = serde_json::from_str(SONEIUM_GENESIS).unwrap();
        genesis["config"]["chainId"] = 901.into();
        let rules = ChainRules::from_config(&genesis["config"]).unwrap();
        let resolved = resolve(rules.clone(), ScheduleSource::Genesis, true).unwrap();
        assert!(resolved
            .note
            .contains("not in the bundled Superchain registry"));
        assert_eq!(resolved.rules, rules);
        let error = resolve(rules, ScheduleSource::Registry, true).unwrap_err();
        assert!(matches!(
            error,
            ScheduleError::Unlisted { chain_id: 901, .. }
        ));

        let ethereum = ChainRules::ethereum_network("Prague").unwrap();
        assert!(resolve(ethereum.clone(), ScheduleSource::Genesis, true).is_ok());
        assert!(matches!(
            resolve(ethereum, ScheduleSource::Registry, true),
            Err(ScheduleError::NotOpStack)
        ));
    }

    /// The genesis files this repository ships for Soneium (compose and Helm) are current.
    #[test]
    fn shipped_soneium_genesis_files_agree_with_the_registry() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let compose =
            std::fs::read_to_string(root.join("deploy/compose/configs/chain/soneium/genesis.json"))
                .unwrap();
        let values =
            std::fs::read_to_string(root.join("deploy/helm/mach-operator/values-soneium.yaml"))
                .unwrap();
        let indent = |line: &str| line.len() - line.trim_start().len();
        let mut lines = values
            .lines()
            .skip_while(|line| line.trim() != "genesis: |");
        let key = indent(lines.next().unwrap());
        let embedded: String = lines
            .take_while(|line| line.trim().is_empty() || indent(line) > key)
            .collect::<Vec<_>>()
            .join("\n");
        let registry = Registry::bundled().unwrap();
        for text in [compose, embedded] {
            let rules = ChainRules::from_genesis_json(&text).unwrap();
            assert!(
                matches!(check(&rules, registry), ScheduleCheck::Agrees { .. }),
                "{:?}",
                check(&rules, registry)
            );
        }
    }
}
