//! `.env` files as the reference deployment writes them (`env.example`, `env.opt-example`):
//! `KEY=value` lines, `#` comments, optional `export`, single quotes taken literally, double
//! quotes with `\"` escapes, and `${VAR}` / `$VAR` expanded from earlier lines or the process
//! environment, the way docker compose and `run.sh` read them. [`Env`] is an env file merged
//! with the process environment, as every role reads its settings.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A line that is not `KEY=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvSyntaxError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for EnvSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for EnvSyntaxError {}

/// Parses `text`. `outer` looks up variables not defined earlier in the file (normally the
/// process environment); an undefined variable expands to the empty string.
pub fn parse_env(
    text: &str,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, EnvSyntaxError> {
    let mut vars = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            return Err(EnvSyntaxError {
                line: index + 1,
                reason: format!("expected KEY=value, got {raw:?}"),
            });
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(EnvSyntaxError {
                line: index + 1,
                reason: format!("invalid variable name {key:?}"),
            });
        }
        let lookup = |name: &str| vars.get(name).cloned().or_else(|| outer(name));
        let value = parse_value(value.trim(), &lookup).map_err(|reason| EnvSyntaxError {
            line: index + 1,
            reason,
        })?;
        vars.insert(key.to_string(), value);
    }
    Ok(vars)
}

fn parse_value(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    if let Some(rest) = value.strip_prefix('\'') {
        let end = rest.find('\'').ok_or("unterminated single quote")?;
        return Ok(rest[..end].to_string());
    }
    if let Some(rest) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        loop {
            match chars.next() {
                None => return Err("unterminated double quote".into()),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(c) => out.push(c),
                    None => return Err("unterminated double quote".into()),
                },
                Some(c) => out.push(c),
            }
        }
        return expand(&out, lookup);
    }
    // Unquoted: a ` #` starts a comment.
    let value = match value.find(" #") {
        Some(i) => value[..i].trim_end(),
        None => value,
    };
    expand(value, lookup)
}

/// The longest value a line may expand to: `${A}${A}` lines double a value each, so without a
/// bound a few hundred bytes of file could ask for gigabytes.
const MAX_VALUE_BYTES: usize = 64 * 1024;

fn expand(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
        } else {
            out.push_str(&lookup(name).unwrap_or_default());
            rest = &after[consumed..];
        }
        if out.len() > MAX_VALUE_BYTES {
            return Err(format!(
                "the value expands to more than {MAX_VALUE_BYTES} bytes"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Writes `vars` as `.env` text that [`parse_env`] reads back exactly, after an optional `#`
/// comment line. A value is written bare when it is plain, else in single quotes (taken
/// literally), else in double quotes; a value with a newline or a quote and also a `$` cannot
/// be written (double quotes expand `$`) and is refused, naming the variable.
pub fn format_env(comment: Option<&str>, vars: &[(&str, String)]) -> Result<String, String> {
    let mut text = String::new();
    if let Some(comment) = comment {
        for line in comment.lines() {
            text.push_str("# ");
            text.push_str(line);
            text.push('\n');
        }
    }
    for (name, value) in vars {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("invalid variable name {name:?}"));
        }
        let plain = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@,+=%".contains(c));
        let written = if plain {
            value.clone()
        } else if !value.contains(['\'', '\n', '\r']) {
            format!("'{value}'")
        } else if !value.contains('$') {
            let escaped = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            if escaped.contains('\r') {
                return Err(format!("{name}: a carriage return cannot be written"));
            }
            format!("\"{escaped}\"")
        } else {
            return Err(format!(
                "{name}: a value with both a quote or newline and a $ cannot be written to a .env file"
            ));
        };
        text.push_str(name);
        text.push('=');
        text.push_str(&written);
        text.push('\n');
    }
    Ok(text)
}

/// A settings problem: an env file that cannot be read or parsed, or a variable missing or
/// malformed; the message names the file or variable and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvError(pub String);

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EnvError {}

/// Settings from an operator `.env` file and the process environment, the way the reference
/// deployment reads them: a variable set in the environment wins over the file (docker compose's
/// rule), so secrets can stay out of the file.
#[derive(Debug, Default)]
pub struct Env {
    file: Option<PathBuf>,
    vars: BTreeMap<String, String>,
}

impl Env {
    /// Loads `path`, or `default` when no path is given and that file exists, or nothing.
    pub fn load(path: Option<&Path>, default: &str) -> Result<Self, EnvError> {
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(default)).filter(|p| p.is_file()),
        };
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| EnvError(format!("cannot read env file {}: {e}", path.display())))?;
        let vars = parse_env(&text, &|name| std::env::var(name).ok())
            .map_err(|e| EnvError(format!("env file {}: {e}", path.display())))?;
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
    pub fn require(&self, name: &str) -> Result<String, EnvError> {
        match self.get(name).filter(|v| !v.trim().is_empty()) {
            Some(value) => Ok(value.trim().to_string()),
            None => Err(EnvError(format!(
                "{name} is not set: {}",
                self.where_to_set()
            ))),
        }
    }

    /// The variable parsed as `T`, if set and non-empty.
    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, EnvError>
    where
        T::Err: fmt::Display,
    {
        match self.get(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|e| EnvError(format!("{name}={v:?} is invalid: {e}"))),
        }
    }

    fn where_to_set(&self) -> String {
        match &self.file {
            Some(file) => format!("set it in {} or the environment", file.display()),
            None => "set it in the environment or pass --env-file FILE".into(),
        }
    }
}

/// Quorum numbers (`REG_QUORUM_NUMBERS`) from `0`, `0,1`, `0 1` or hex bytes `0x0001`.
pub fn parse_quorums(text: &str) -> Result<Vec<u8>, EnvError> {
    let text = text.trim();
    let quorums: Vec<u8> = if let Some(hex) = text.strip_prefix("0x") {
        alloy_primitives::hex::decode(hex)
            .map_err(|e| EnvError(format!("quorum numbers {text:?} are not hex bytes: {e}")))?
    } else {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u8>()
                    .map_err(|e| EnvError(format!("quorum number {s:?} is not 0-191: {e}")))
            })
            .collect::<Result<_, _>>()?
    };
    if quorums.is_empty() || quorums.iter().any(|q| *q > 191) {
        return Err(EnvError(format!(
            "quorum numbers {text:?}: give one or more of 0-191, e.g. 0 or 0,1"
        )));
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

    #[test]
    fn written_values_read_back_exactly() {
        let values = [
            "plain-value_1.2:3/4@host",
            "",
            "with space # not a comment",
            "$HOME and ${X} stay literal",
            "it's \"quoted\"\nand two lines \\ backslash",
            "p@ss w0rd!&*()",
        ];
        let vars: Vec<(&str, String)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (["A", "B", "C", "D", "E", "F"][i], v.to_string()))
            .collect();
        let text = format_env(Some("generated"), &vars).unwrap();
        let read = parse_env(&text, &|_| Some("from outside".into())).unwrap();
        for (name, value) in &vars {
            assert_eq!(read.get(*name), Some(value), "{name} in:\n{text}");
        }
        assert!(format_env(None, &[("X", "a'b$c".into())]).is_err());
        assert!(format_env(None, &[("X", "a\nb$c".into())]).is_err());
        assert!(format_env(None, &[("BAD NAME", "x".into())]).is_err());
    }

    #[test]
    fn reference_style_file() {
        let text = "\
# comment
USER_HOME=${HOME}
EIGENLAYER_HOME=${USER_HOME}/.eigenlayer
NODE_ECDSA_KEY_FILE_HOST=${EIGENLAYER_HOME}/operator_keys/opr.ecdsa.key.json
OPERATOR_BLS_KEY_PASSWORD='my pass /$'
OPERATOR_ECDSA_KEY_PASSWORD=
export LAYER1_CHAIN_ID=1 # mainnet
QUOTED=\"a \\\"b\\\" $LAYER1_CHAIN_ID\"
PRICE=$5
";
        let outer = |name: &str| (name == "HOME").then(|| "/home/op".to_string());
        let vars = parse_env(text, &outer).unwrap();
        assert_eq!(
            vars["NODE_ECDSA_KEY_FILE_HOST"],
            "/home/op/.eigenlayer/operator_keys/opr.ecdsa.key.json"
        );
        assert_eq!(vars["OPERATOR_BLS_KEY_PASSWORD"], "my pass /$");
        assert_eq!(vars["OPERATOR_ECDSA_KEY_PASSWORD"], "");
        assert_eq!(vars["LAYER1_CHAIN_ID"], "1");
        assert_eq!(vars["QUOTED"], "a \"b\" 1");
        assert_eq!(vars["PRICE"], "");
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse_env("A=1\nnot a line\n", &|_| None).unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse_env("A='open\n", &|_| None).unwrap_err();
        assert!(err.reason.contains("single quote"));
    }
}
