//! The operator's EigenLayer files, in the `eigenlayer` CLI's layout: `operator.yaml` (who the
//! operator is and where its key is) and `metadata.json` (what stakers see).

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

/// `operator.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorFile {
    /// The operator's EigenLayer details.
    pub operator: OperatorSection,
    /// The DelegationManager the operator registers with.
    #[serde(deserialize_with = "yaml_address")]
    pub el_delegation_manager_address: Address,
    /// L1 JSON-RPC endpoint.
    pub eth_rpc_url: String,
    /// L1 chain ID; the endpoint must report the same.
    pub chain_id: u64,
    /// The operator's ECDSA key file (`signer_type: local_keystore`).
    #[serde(default)]
    pub private_key_store_path: String,
    /// How the key is held: `local_keystore` (the key file above) or `web3` (a web3signer at
    /// `web3.url` holding the key of `operator.address`), as the `eigenlayer` CLI writes them.
    #[serde(default = "local_keystore")]
    pub signer_type: String,
    /// The web3signer (`signer_type: web3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web3: Option<Web3Section>,
}

/// The `web3:` section of `operator.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Web3Section {
    /// web3signer's HTTP address.
    #[serde(default)]
    pub url: String,
}

fn local_keystore() -> String {
    "local_keystore".into()
}

/// The `operator:` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSection {
    /// The operator's address (its ECDSA key's).
    #[serde(deserialize_with = "yaml_address")]
    pub address: Address,
    /// Who must approve delegations; the zero address lets anyone delegate.
    #[serde(deserialize_with = "yaml_address")]
    pub delegation_approver_address: Address,
    /// Blocks a staker must wait to undelegate.
    pub staker_opt_out_window_blocks: u32,
    /// Where `metadata.json` is published.
    pub metadata_url: String,
}

impl OperatorFile {
    /// Parses the YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        let file: Self = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        match file.signer_type.as_str() {
            "local_keystore" if file.private_key_store_path.trim().is_empty() => {
                Err("signer_type local_keystore needs private_key_store_path".into())
            }
            "web3" if file.web3_url().is_none() => {
                Err("signer_type web3 needs web3.url (web3signer's address)".into())
            }
            "local_keystore" | "web3" => Ok(file),
            other => Err(format!(
                "signer_type {other:?} is not supported; use local_keystore or web3, or pass \
                 --signer aws-kms|web3signer with its options to override operator.yaml's signer"
            )),
        }
    }

    /// `web3.url` when set.
    pub fn web3_url(&self) -> Option<&str> {
        self.web3
            .as_ref()
            .map(|w| w.url.trim())
            .filter(|url| !url.is_empty())
    }

    /// The YAML text.
    pub fn to_yaml(&self) -> Result<String, String> {
        serde_yaml::to_string(self).map_err(|e| e.to_string())
    }
}

/// An address from YAML, where an unquoted `0x…` that fits in 64 bits (the zero address,
/// `0x…dEaD`) arrives as an integer rather than a string.
fn yaml_address<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Address, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Address;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a 0x-prefixed 20-byte address")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Address, E> {
            v.trim()
                .parse()
                .map_err(|e| E::custom(format!("invalid address {v:?}: {e}")))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Address, E> {
            Ok(Address::left_padding_from(&v.to_be_bytes()))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Address, E> {
            u64::try_from(v)
                .map_err(|_| E::custom("negative address"))
                .and_then(|v| self.visit_u64(v))
        }
    }
    deserializer.deserialize_any(Visitor)
}

/// `metadata.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorMetadata {
    /// Display name.
    pub name: String,
    /// Website URL.
    #[serde(default)]
    pub website: String,
    /// What the operator is.
    pub description: String,
    /// URL of a PNG logo.
    #[serde(default)]
    pub logo: String,
    /// URL of the operator's X/Twitter profile.
    #[serde(default)]
    pub twitter: String,
}

impl OperatorMetadata {
    /// Every problem with the fields, one message each (empty when valid): name and description
    /// present and bounded, URLs well formed, the logo a PNG, twitter on twitter.com or x.com.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push("name is empty".to_string());
        } else if self.name.chars().count() > 200 {
            problems.push("name is longer than 200 characters".to_string());
        }
        if self.description.trim().is_empty() {
            problems.push("description is empty".to_string());
        } else if self.description.chars().count() > 500 {
            problems.push("description is longer than 500 characters".to_string());
        }
        for (field, value) in [
            ("website", &self.website),
            ("logo", &self.logo),
            ("twitter", &self.twitter),
        ] {
            if !value.is_empty() && !is_http_url(value) {
                problems.push(format!("{field} {value:?} is not an http(s) URL"));
            }
        }
        if !self.logo.is_empty() && !self.logo.to_ascii_lowercase().ends_with(".png") {
            problems.push(format!("logo {:?} must be a .png image", self.logo));
        }
        if is_http_url(&self.twitter) {
            let host = url_host(&self.twitter);
            let known = ["twitter.com", "www.twitter.com", "x.com", "www.x.com"];
            if !known.contains(&host.as_str()) {
                problems.push(format!(
                    "twitter {:?} must be a twitter.com or x.com URL",
                    self.twitter
                ));
            }
        }
        problems
    }
}

/// Whether `s` looks like `http(s)://host[/…]` with a non-empty host and no spaces.
pub fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/') && !s.contains(char::is_whitespace))
}

fn url_host(s: &str) -> String {
    let rest = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
    rest.split(['/', '?', '#', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenlayer_cli_yaml_round_trip() {
        let text = "\
operator:
  address: 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
  delegation_approver_address: 0x0000000000000000000000000000000000000000
  staker_opt_out_window_blocks: 0
  metadata_url: https://example.com/metadata.json
el_delegation_manager_address: 0xA44151489861Fe9e3055d95adC98FbD462B948e7
eth_rpc_url: https://ethereum-holesky-rpc.publicnode.com
chain_id: 17000
private_key_store_path: /home/op/.eigenlayer/operator_keys/opr.ecdsa.key.json
signer_type: local_keystore
fireblocks:
  api_key: ''
";
        let file = OperatorFile::from_yaml(text).unwrap();
        assert_eq!(file.chain_id, 17000);
        assert_eq!(
            file.operator.metadata_url,
            "https://example.com/metadata.json"
        );
        assert_eq!(
            OperatorFile::from_yaml(&file.to_yaml().unwrap()).unwrap(),
            file
        );
        let web3 = text.replace("signer_type: local_keystore", "signer_type: web3")
            + "web3:\n  url: http://127.0.0.1:9000\n";
        let file = OperatorFile::from_yaml(&web3).unwrap();
        assert_eq!(file.web3_url(), Some("http://127.0.0.1:9000"));
        assert_eq!(
            OperatorFile::from_yaml(&file.to_yaml().unwrap()).unwrap(),
            file
        );
        let no_url = text.replace("signer_type: local_keystore", "signer_type: web3");
        assert!(OperatorFile::from_yaml(&no_url)
            .unwrap_err()
            .contains("web3.url"));
        let bad = text.replace("local_keystore", "fireblocks");
        assert!(OperatorFile::from_yaml(&bad)
            .unwrap_err()
            .contains("signer_type"));
    }

    #[test]
    fn metadata_problems() {
        let good = OperatorMetadata {
            name: "Op".into(),
            website: "https://op.example".into(),
            description: "Runs MACH".into(),
            logo: "https://op.example/logo.png".into(),
            twitter: "https://x.com/op".into(),
        };
        assert!(good.problems().is_empty());
        let bad = OperatorMetadata {
            name: " ".into(),
            website: "op.example".into(),
            description: String::new(),
            logo: "https://op.example/logo.jpg".into(),
            twitter: "https://facebook.com/op".into(),
        };
        let problems = bad.problems().join("; ");
        for expected in [
            "name is empty",
            "description is empty",
            "website",
            ".png",
            "x.com",
        ] {
            assert!(problems.contains(expected), "{problems}");
        }
    }
}
