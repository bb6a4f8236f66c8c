//! Settings from an operator `.env` file and the process environment, the way the reference
//! deployment reads them: a variable set in the environment wins over the file (docker compose's
//! rule), so secrets can stay out of the file.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The merged view of one env file and the process environment.
#[derive(Debug, Default)]
pub struct Env {
    file: Option<PathBuf>,
    vars: BTreeMap<String, String>,
}

impl Env {
    /// Loads `path`, or `default` when no path is given and that file exists, or nothing.
    pub fn load(path: Option<&Path>, default: &str) -> Result<Self> {
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(default)).filter(|p| p.is_file()),
        };
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read env file {}", path.display()))?;
        let vars = mach_primitives::env::parse_env(&text, &|name| std::env::var(name).ok())
            .with_context(|| format!("env file {}", path.display()))?;
        tracing::debug!(file = %path.display(), variables = vars.len(), "env file loaded");
        Ok(Self {
            file: Some(path),
            vars,
        })
    }

    /// The variable from the environment, else from the file; empty values count as set.
    pub fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.vars.get(name).cloned())
    }

    /// The variable, non-empty, or an error naming it and where it is read from.
    pub fn require(&self, name: &str) -> Result<String> {
        match self.get(name).filter(|v| !v.trim().is_empty()) {
            Some(value) => Ok(value.trim().to_string()),
            None => anyhow::bail!("{name} is not set: {}", self.where_to_set()),
        }
    }

    /// The variable parsed as `T`, if set and non-empty.
    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|e| anyhow::anyhow!("{name}={v:?} is invalid: {e}")),
        }
    }

    fn where_to_set(&self) -> String {
        match &self.file {
            Some(file) => format!("set it in {} or the environment", file.display()),
            None => "set it in the environment or pass --env-file FILE".into(),
        }
    }
}

/// Quorum numbers from `0`, `0,1`, `0 1` or hex bytes `0x0001`.
pub fn parse_quorums(text: &str) -> Result<Vec<u8>> {
    let text = text.trim();
    let quorums: Vec<u8> = if let Some(hex) = text.strip_prefix("0x") {
        alloy::hex::decode(hex)
            .with_context(|| format!("quorum numbers {text:?} are not hex bytes"))?
    } else {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u8>()
                    .with_context(|| format!("quorum number {s:?} is not 0-191"))
            })
            .collect::<Result<_>>()?
    };
    if quorums.is_empty() || quorums.iter().any(|q| *q > 191) {
        anyhow::bail!("quorum numbers {text:?}: give one or more of 0-191, e.g. 0 or 0,1");
    }
    Ok(quorums)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_forms() {
        assert_eq!(parse_quorums("0").unwrap(), vec![0]);
        assert_eq!(parse_quorums("0, 1").unwrap(), vec![0, 1]);
        assert_eq!(parse_quorums("0x0001").unwrap(), vec![0, 1]);
        assert!(parse_quorums("").is_err());
        assert!(parse_quorums("300").is_err());
        assert!(parse_quorums("0xzz").is_err());
    }
}
