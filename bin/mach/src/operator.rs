//! `mach operator …`: EigenLayer operator registration with the `eigenlayer` CLI's files
//! (`operator.yaml`, `metadata.json`).

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use mach_chain::registration;
use mach_chain::tx::format_ether;
use mach_primitives::operator::OperatorMetadata;
use mach_runtime::block_on;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use alloy::primitives::Address;

#[derive(Subcommand, Debug)]
pub enum OperatorCommand {
    /// Write operator.yaml and metadata.json (the `eigenlayer operator config create` files).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Register the operator with EigenLayer's DelegationManager.
    Register(OperatorFileArgs),
    /// Update the operator's delegation details and metadata URI from operator.yaml.
    Update(OperatorFileArgs),
    /// Show the operator's EigenLayer registration, shares and AVS registrations.
    Status {
        /// The operator.yaml file.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Ask for (or take from flags) the operator's settings and write the two files.
    Create(Box<ConfigArgs>),
}

#[derive(Args, Debug)]
pub struct OperatorFileArgs {
    /// The operator.yaml file.
    file: PathBuf,
    /// The operator's signer. Without these options, operator.yaml's: `signer_type:
    /// local_keystore` (private_key_store_path; its password from --password-file,
    /// OPERATOR_ECDSA_KEY_PASSWORD or a prompt) or `signer_type: web3` (web3.url). It must sign
    /// for operator.address.
    #[command(flatten)]
    signer: crate::keys::SignerArgs,
}

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Fail instead of asking for values not given as flags.
    #[arg(long)]
    non_interactive: bool,
    /// Directory to write operator.yaml and metadata.json in.
    #[arg(long, default_value = ".", value_name = "DIR")]
    dir: PathBuf,
    /// The operator's ECDSA key file (its address becomes the operator address).
    #[arg(long, value_name = "FILE", conflicts_with = "web3signer_url")]
    key_file: Option<PathBuf>,
    /// Instead of a key file: the web3signer holding the operator's key (`signer_type: web3`).
    #[arg(long, value_name = "URL", requires = "operator_address")]
    web3signer_url: Option<String>,
    /// The operator's address, whose key web3signer holds.
    #[arg(long, value_name = "ADDRESS", requires = "web3signer_url")]
    operator_address: Option<Address>,
    /// Who must approve delegations (zero address: anyone may delegate).
    #[arg(long, value_name = "ADDRESS")]
    delegation_approver: Option<Address>,
    /// Blocks a staker must wait to undelegate.
    #[arg(long, value_name = "BLOCKS")]
    staker_opt_out_window_blocks: Option<u32>,
    /// Public URL where metadata.json will be published.
    #[arg(long, value_name = "URL")]
    metadata_url: Option<String>,
    /// L1 JSON-RPC endpoint.
    #[arg(long, value_name = "URL")]
    rpc_url: Option<String>,
    /// L1 chain ID (1 mainnet, 17000 Holesky).
    #[arg(long)]
    chain_id: Option<u64>,
    /// EigenLayer DelegationManager address on that chain.
    #[arg(long, value_name = "ADDRESS")]
    delegation_manager: Option<Address>,
    /// Operator name shown to stakers (metadata.json).
    #[arg(long)]
    name: Option<String>,
    /// Operator website (metadata.json).
    #[arg(long)]
    website: Option<String>,
    /// Description shown to stakers (metadata.json).
    #[arg(long)]
    description: Option<String>,
    /// URL of a PNG logo (metadata.json).
    #[arg(long)]
    logo: Option<String>,
    /// X/Twitter profile URL (metadata.json).
    #[arg(long)]
    twitter: Option<String>,
}

pub fn run(cmd: OperatorCommand) -> Result<()> {
    match cmd {
        OperatorCommand::Config(ConfigCommand::Create(args)) => config_create(*args),
        OperatorCommand::Register(args) => block_on(register(args)),
        OperatorCommand::Update(args) => block_on(update(args)),
        OperatorCommand::Status { file } => block_on(status(file)),
    }
}

/// Asks on the terminal for values not given as flags.
struct Asker {
    interactive: bool,
    missing: Vec<&'static str>,
}

impl Asker {
    fn ask(
        &mut self,
        flag: &'static str,
        question: &str,
        default: Option<&str>,
    ) -> Result<Option<String>> {
        if !self.interactive {
            match default {
                Some(d) => return Ok(Some(d.to_string())),
                None => {
                    self.missing.push(flag);
                    return Ok(None);
                }
            }
        }
        let mut stderr = std::io::stderr();
        match default {
            Some(d) => write!(stderr, "{question} [{d}]: ")?,
            None => write!(stderr, "{question}: ")?,
        }
        stderr.flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let line = line.trim();
        Ok(Some(if line.is_empty() {
            default.unwrap_or_default().to_string()
        } else {
            line.to_string()
        }))
    }

    fn value<T: std::str::FromStr>(
        &mut self,
        given: Option<T>,
        flag: &'static str,
        question: &str,
        default: Option<&str>,
    ) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        if given.is_some() {
            return Ok(given);
        }
        match self.ask(flag, question, default)? {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|e| anyhow::anyhow!("{flag} {text:?}: {e}")),
        }
    }
}

fn config_create(args: ConfigArgs) -> Result<()> {
    let interactive = !args.non_interactive && std::io::stdin().is_terminal();
    let mut asker = Asker {
        interactive,
        missing: Vec::new(),
    };
    let key = match (args.web3signer_url, args.operator_address) {
        (Some(url), Some(address)) => {
            Some(registration::NewOperatorKey::Web3Signer { url, address })
        }
        _ => asker
            .value(
                args.key_file,
                "--key-file",
                "ECDSA key file of the operator",
                None,
            )?
            .map(registration::NewOperatorKey::KeyFile),
    };
    let approver: Option<Address> = asker.value(
        args.delegation_approver,
        "--delegation-approver",
        "Delegation approver address (zero: anyone may delegate)",
        Some("0x0000000000000000000000000000000000000000"),
    )?;
    let window: Option<u32> = asker.value(
        args.staker_opt_out_window_blocks,
        "--staker-opt-out-window-blocks",
        "Staker opt-out window in blocks",
        Some("0"),
    )?;
    let metadata_url: Option<String> = asker.value(
        args.metadata_url,
        "--metadata-url",
        "Public URL of metadata.json",
        None,
    )?;
    let rpc_url: Option<String> = asker.value(args.rpc_url, "--rpc-url", "L1 RPC URL", None)?;
    let chain_id: Option<u64> = asker.value(
        args.chain_id,
        "--chain-id",
        "L1 chain ID (1 mainnet, 17000 Holesky)",
        None,
    )?;
    let delegation_manager: Option<Address> = asker.value(
        args.delegation_manager,
        "--delegation-manager",
        "EigenLayer DelegationManager address",
        None,
    )?;
    let name: Option<String> = asker.value(args.name, "--name", "Operator name", None)?;
    let website: Option<String> =
        asker.value(args.website, "--website", "Website URL", Some(""))?;
    let description: Option<String> =
        asker.value(args.description, "--description", "Description", None)?;
    let logo: Option<String> = asker.value(args.logo, "--logo", "Logo URL (.png)", Some(""))?;
    let twitter: Option<String> =
        asker.value(args.twitter, "--twitter", "X/Twitter URL", Some(""))?;
    if !asker.missing.is_empty() {
        bail!(
            "missing values: pass {} (or run in a terminal without --non-interactive to be asked)",
            asker.missing.join(", ")
        );
    }
    let (
        Some(key),
        Some(approver),
        Some(window),
        Some(metadata_url),
        Some(rpc_url),
        Some(chain_id),
        Some(delegation_manager),
        Some(name),
        Some(description),
    ) = (
        key,
        approver,
        window,
        metadata_url,
        rpc_url,
        chain_id,
        delegation_manager,
        name,
        description,
    )
    else {
        bail!("missing values");
    };
    let metadata = OperatorMetadata {
        name,
        website: website.unwrap_or_default(),
        description,
        logo: logo.unwrap_or_default(),
        twitter: twitter.unwrap_or_default(),
    };
    let new = registration::NewOperator {
        key,
        delegation_approver: approver,
        staker_opt_out_window_blocks: window,
        metadata_url,
        rpc_url,
        chain_id,
        delegation_manager,
    };
    let (file, yaml_path) = registration::write_config(&args.dir, new, &metadata)?;
    let metadata_path = args.dir.join("metadata.json");
    println!(
        "Wrote {} and {}",
        yaml_path.display(),
        metadata_path.display()
    );
    println!(
        "Publish metadata.json at {} before `mach operator register {}`.",
        file.operator.metadata_url,
        yaml_path.display()
    );
    Ok(())
}

async fn register(args: OperatorFileArgs) -> Result<()> {
    let (file, conn) =
        registration::connect_operator(&args.file, &args.signer.choice(), args.signer.timeout())
            .await?;
    registration::register(&conn, &file).await?;
    println!("Operator is registered successfully to EigenLayer");
    println!(
        "Address: {}  (balance left {} ETH)",
        conn.sender,
        format_ether(conn.balance().await?)
    );
    Ok(())
}

async fn update(args: OperatorFileArgs) -> Result<()> {
    let (file, conn) =
        registration::connect_operator(&args.file, &args.signer.choice(), args.signer.timeout())
            .await?;
    registration::update(&conn, &file, &args.file).await?;
    println!("Operator details and metadata URI updated");
    Ok(())
}

async fn status(path: PathBuf) -> Result<()> {
    let (file, status) = registration::status(&path).await?;
    println!("Operator: {}", file.operator.address);
    if !status.registered {
        println!(
            "Registered with EigenLayer: no (run `mach operator register {}`)",
            path.display()
        );
        return Ok(());
    }
    println!("Registered with EigenLayer: yes");
    println!(
        "Delegation approver: {}",
        status.details.delegation_approver
    );
    println!(
        "Staker opt-out window: {} blocks",
        status.details.staker_opt_out_window_blocks
    );
    if let Some(reason) = &status.events_unavailable {
        println!("Metadata, shares, AVSs: unknown (the RPC refused the log queries: {reason})");
        return Ok(());
    }
    println!(
        "Metadata URI: {}",
        status.metadata_uri.as_deref().unwrap_or("(none found)")
    );
    if status.shares.is_empty() {
        println!("Shares: none");
    }
    for (strategy, shares) in &status.shares {
        println!("Shares in strategy {strategy}: {shares}");
    }
    if status.avs_registrations.is_empty() {
        println!("AVS registrations: none");
    }
    for (avs, registered) in &status.avs_registrations {
        println!(
            "AVS {avs}: {}",
            if *registered {
                "registered"
            } else {
                "deregistered"
            }
        );
    }
    Ok(())
}
