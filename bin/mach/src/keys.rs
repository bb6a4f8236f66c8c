//! `mach keys …`: the key commands of the operator guide's first step.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use mach_chain::signer::{SignerChoice, SignerKind};
use mach_keys::{default_key_dir, KeyDir, KeyListing, KeyType, PasswordSource, SecretKey};
use serde_json::json;
use std::io::Read;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a new encrypted key file: NAME.ecdsa.key.json or NAME.bls.key.json.
    ///
    /// The password comes from --password-file, else OPERATOR_ECDSA_KEY_PASSWORD /
    /// OPERATOR_BLS_KEY_PASSWORD, else a prompt. Back up the file and its password: neither can
    /// be recovered.
    Create {
        #[command(flatten)]
        key_type: KeyTypeArg,
        /// Name of the key; the file is NAME.<type>.key.json.
        name: String,
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        password: NewPasswordArgs,
    },
    /// List the key files in the key directory with their public keys (no password needed).
    List {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Decrypt a key file, check it, and print its public key, address or operator ID.
    Show {
        #[command(flatten)]
        key_type: KeyTypeArg,
        /// The key file.
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        password: PasswordFileArg,
    },
    /// Encrypt an existing private key into a new key file.
    Import {
        #[command(flatten)]
        key_type: KeyTypeArg,
        /// The private key: hex for ECDSA; hex (0x…) or a decimal scalar for BLS. `-` reads it
        /// from standard input, which keeps it out of your shell history.
        #[arg(long, value_name = "KEY")]
        private_key: String,
        /// Name of the key; the file is NAME.<type>.key.json.
        name: String,
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        password: NewPasswordArgs,
    },
    /// Print the private key of a key file (ECDSA as 0x hex, BLS as a decimal scalar).
    Export {
        #[command(flatten)]
        key_type: KeyTypeArg,
        /// The key file.
        file: PathBuf,
        /// Confirm that the private key may be printed in clear text.
        #[arg(long)]
        reveal: bool,
        #[command(flatten)]
        password: PasswordFileArg,
    },
}

#[derive(Args, Debug)]
pub struct KeyTypeArg {
    /// Which kind of key: `ecdsa` (the operator's Ethereum account) or `bls` (the AVS signing
    /// key).
    #[arg(long = "key-type", value_enum)]
    key_type: KeyTypeFlag,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KeyTypeFlag {
    Ecdsa,
    Bls,
}

impl From<&KeyTypeArg> for KeyType {
    fn from(arg: &KeyTypeArg) -> Self {
        match arg.key_type {
            KeyTypeFlag::Ecdsa => KeyType::Ecdsa,
            KeyTypeFlag::Bls => KeyType::Bls,
        }
    }
}

#[derive(Args, Debug)]
pub struct DirArg {
    /// Key directory [default: $EIGENLAYER_HOME/operator_keys, EIGENLAYER_HOME defaulting to
    /// ~/.eigenlayer].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

impl DirArg {
    fn key_dir(&self) -> Result<KeyDir> {
        Ok(KeyDir::new(match &self.dir {
            Some(dir) => dir.clone(),
            None => default_key_dir()?,
        }))
    }
}

#[derive(Args, Debug)]
pub struct PasswordFileArg {
    /// Read the password from this file (one trailing newline is ignored) instead of the
    /// environment or a prompt.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct NewPasswordArgs {
    #[command(flatten)]
    file: PasswordFileArg,
    /// Accept an empty password. Anyone who gets the file then has the key.
    #[arg(long)]
    allow_empty_password: bool,
}

pub fn run(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Create {
            key_type,
            name,
            dir,
            password,
        } => {
            let secret = SecretKey::random(KeyType::from(&key_type));
            write_key(&secret, &name, &dir, &password, "Created")
        }
        KeysCommand::Import {
            key_type,
            private_key,
            name,
            dir,
            password,
        } => {
            let text = if private_key == "-" {
                let mut buf = Zeroizing::new(String::new());
                std::io::stdin()
                    .read_to_string(&mut buf)
                    .context("cannot read the private key from standard input")?;
                buf
            } else {
                Zeroizing::new(private_key)
            };
            let secret = SecretKey::parse(KeyType::from(&key_type), &text)?;
            write_key(&secret, &name, &dir, &password, "Imported")
        }
        KeysCommand::List { dir } => list(&dir.key_dir()?),
        KeysCommand::Show {
            key_type,
            file,
            json,
            password,
        } => {
            let secret = SecretKey::open(KeyType::from(&key_type), &file, password.password_file)?;
            show(&secret, &file, json)
        }
        KeysCommand::Export {
            key_type,
            file,
            reveal,
            password,
        } => {
            if !reveal {
                bail!(
                    "export prints the private key in clear text; pass --reveal to confirm \
                     (use `mach keys show` to see only the public key)"
                );
            }
            let secret = SecretKey::open(KeyType::from(&key_type), &file, password.password_file)?;
            println!("{}", secret.reveal().as_str());
            Ok(())
        }
    }
}

fn write_key(
    secret: &SecretKey,
    name: &str,
    dir: &DirArg,
    password: &NewPasswordArgs,
    verb: &str,
) -> Result<()> {
    let key_type = secret.key_type();
    let source = PasswordSource::new(key_type, password.file.password_file.clone());
    let path = dir
        .key_dir()?
        .create(name, secret, &source, password.allow_empty_password)?;
    println!("{verb} {key_type} key file {}", path.display());
    match secret {
        SecretKey::Ecdsa(key) => println!("Address: {}", key.address()),
        SecretKey::Bls(key) => {
            println!("Public key (G1): {}", key.public_key());
            println!("Operator ID: {}", key.operator_id());
        }
    }
    println!(
        "Back up this file and its password somewhere safe: the key cannot be recovered without \
         both."
    );
    Ok(())
}

fn show(secret: &SecretKey, file: &Path, as_json: bool) -> Result<()> {
    match secret {
        SecretKey::Ecdsa(key) => {
            if as_json {
                println!("{}", json!({ "address": key.address().to_string() }));
            } else {
                println!("Key file: {}", file.display());
                println!("Key type: ECDSA");
                println!("Address: {}", key.address());
            }
        }
        SecretKey::Bls(key) => {
            let (x, y) = key.public_key().coordinates();
            let (g2x, g2y) = key.public_key_g2().to_solidity();
            if as_json {
                let value = json!({
                    "pubkey_g1": { "x": x.to_string(), "y": y.to_string() },
                    "pubkey_g2": {
                        "x": [g2x[0].to_string(), g2x[1].to_string()],
                        "y": [g2y[0].to_string(), g2y[1].to_string()],
                    },
                    "operator_id": key.operator_id().to_string(),
                });
                println!("{value}");
            } else {
                println!("Key file: {}", file.display());
                println!("Key type: BLS");
                println!("Public key G1: X={x} Y={y}");
                println!(
                    "Public key G2: X=[{}, {}] Y=[{}, {}] (contract order: imaginary part first)",
                    g2x[0], g2x[1], g2y[0], g2y[1]
                );
                println!("Operator ID: {}", key.operator_id());
            }
        }
    }
    Ok(())
}

fn list(dir: &KeyDir) -> Result<()> {
    let keys = dir.list()?;
    if keys.is_empty() {
        println!(
            "No key files in {}. Create one with `mach keys create --key-type ecdsa NAME`.",
            dir.path().display()
        );
        return Ok(());
    }
    println!("Keys in {}:", dir.path().display());
    print!("{}", KeyListing::table(&keys));
    Ok(())
}

/// An account's signer chosen by configuration alone: a key file or raw key on this machine
/// (today's options, unchanged), or a key that never leaves AWS KMS or a web3signer. Every remote
/// option has an environment variable (`--kms-key-id`: `MACH_KMS_KEY_ID`). The selection rules
/// are `mach_chain::signer::SignerChoice`'s.
#[derive(Args, Debug)]
pub struct SignerArgs {
    /// Where the key is: `keystore` (--ecdsa-key-file), `private-key` (--private-key),
    /// `aws-kms` (--kms-key-id) or `web3signer` (--web3signer-url, --signer-address). Default:
    /// keystore or private-key, whichever of their options is given.
    #[arg(long = "signer", env = "MACH_ECDSA_SIGNER", value_name = "KIND")]
    kind: Option<SignerKind>,
    /// The account's private key (hex). Visible to other local users in the process
    /// list: prefer a key file or a remote signer outside local devnets.
    #[arg(long, value_name = "KEY", conflicts_with = "ecdsa_key_file")]
    private_key: Option<String>,
    /// The account's ECDSA key file; its password comes from --password-file,
    /// OPERATOR_ECDSA_KEY_PASSWORD or a prompt.
    #[arg(long, value_name = "FILE")]
    ecdsa_key_file: Option<PathBuf>,
    /// Password file for the ECDSA key file.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// AWS KMS key ID, ARN or alias (`alias/…`) of an ECC_SECG_P256K1 SIGN_VERIFY key.
    #[arg(long, env = "MACH_KMS_KEY_ID", value_name = "ID")]
    kms_key_id: Option<String>,
    /// AWS region of the KMS key [default: the AWS SDK's: AWS_REGION, then the profile].
    #[arg(long, env = "MACH_KMS_REGION", value_name = "REGION")]
    kms_region: Option<String>,
    /// Another KMS endpoint than AWS's (a VPC endpoint; a test server).
    #[arg(long, env = "MACH_KMS_ENDPOINT", value_name = "URL")]
    kms_endpoint: Option<String>,
    /// web3signer's HTTP address, e.g. http://127.0.0.1:9000.
    #[arg(long, env = "MACH_WEB3SIGNER_URL", value_name = "URL")]
    web3signer_url: Option<String>,
    /// The account whose key web3signer holds.
    #[arg(long, env = "MACH_SIGNER_ADDRESS", value_name = "ADDRESS")]
    signer_address: Option<alloy::primitives::Address>,
    /// How long one request to the remote signer (KMS, web3signer) may take, in milliseconds.
    #[arg(
        long,
        env = "MACH_SIGNER_TIMEOUT_MS",
        value_name = "MS",
        default_value_t = 10_000
    )]
    signer_timeout_ms: u64,
}

impl SignerArgs {
    /// The settings as given, for the selection rules.
    pub fn choice(&self) -> SignerChoice {
        // A variable set to nothing (`MACH_KMS_REGION=` in an env file) is not a setting.
        let given = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        SignerChoice {
            kind: self.kind,
            private_key: given(&self.private_key),
            ecdsa_key_file: self.ecdsa_key_file.clone(),
            password_file: self.password_file.clone(),
            password: None,
            kms_key_id: given(&self.kms_key_id),
            kms_region: given(&self.kms_region),
            kms_endpoint: given(&self.kms_endpoint),
            web3signer_url: given(&self.web3signer_url),
            signer_address: self.signer_address,
        }
    }

    /// How long one remote signer request may take.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.signer_timeout_ms.max(1))
    }

    /// Builds the selected signer and checks it can sign: the key file decrypts, the KMS key's
    /// public key reads, web3signer answers and holds the address's key.
    pub async fn signer(&self) -> Result<mach_chain::EcdsaSigner> {
        let config = self.choice().config()?;
        config
            .build(self.timeout())
            .await
            .with_context(|| format!("the {} signer", config.kind()))
    }
}
