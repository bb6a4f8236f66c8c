//! Where key passwords come from: a password file, the environment variable the reference
//! deployment uses (`OPERATOR_ECDSA_KEY_PASSWORD` / `OPERATOR_BLS_KEY_PASSWORD`), or a prompt on
//! the terminal, in that order.

use crate::{KeyError, KeyType};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// How to obtain the password of one key type.
#[derive(Clone, Debug)]
pub struct PasswordSource {
    key_type: KeyType,
    file: Option<PathBuf>,
    given: Option<Zeroizing<String>>,
    prompt: bool,
}

impl PasswordSource {
    /// Password file first (if given), then the key type's environment variable, then a prompt
    /// when standard input is a terminal.
    pub fn new(key_type: KeyType, file: Option<PathBuf>) -> Self {
        Self {
            key_type,
            file,
            given: None,
            prompt: std::io::stdin().is_terminal(),
        }
    }

    /// Uses `password` (for example the variable's value from an env file) before the process
    /// environment; a password file still comes first.
    pub fn with_password(mut self, password: Option<String>) -> Self {
        self.given = password.map(Zeroizing::new);
        self
    }

    /// The password of an existing key file. A set but empty environment variable means the
    /// empty password, as the reference node reads it.
    pub fn unlock(&self, key_path: &Path) -> Result<Zeroizing<String>, KeyError> {
        self.resolve(&|name| std::env::var(name).ok(), &|| {
            let prompt = format!("Password for {}: ", key_path.display());
            read_prompt(&prompt)
        })
    }

    /// A password for a new key file. Asks twice when prompting. The empty password is refused
    /// unless `allow_empty`.
    pub fn new_key(&self, allow_empty: bool) -> Result<Zeroizing<String>, KeyError> {
        let key_type = self.key_type;
        let password = self.resolve(&|name| std::env::var(name).ok(), &|| {
            let first = read_prompt(&format!("Enter a password for the new {key_type} key: "))?;
            let second = read_prompt("Repeat the password: ")?;
            if first != second {
                return Err(KeyError::Password(
                    "the two passwords differ; nothing was written".into(),
                ));
            }
            Ok(first)
        })?;
        if password.is_empty() && !allow_empty {
            return Err(KeyError::Password(format!(
                "refusing to encrypt the key with an empty password; choose a password, or pass \
                 --allow-empty-password if you really mean it (check {} and --password-file)",
                self.key_type.password_env()
            )));
        }
        Ok(password)
    }

    fn resolve(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        prompt: &dyn Fn() -> Result<Zeroizing<String>, KeyError>,
    ) -> Result<Zeroizing<String>, KeyError> {
        if let Some(file) = &self.file {
            return read_password_file(file);
        }
        if let Some(given) = &self.given {
            return Ok(given.clone());
        }
        let var = self.key_type.password_env();
        if let Some(value) = env(var) {
            return Ok(Zeroizing::new(value));
        }
        if self.prompt {
            return prompt();
        }
        Err(KeyError::Password(format!(
            "no password for the {} key: set {var}, pass --password-file FILE, or run in a terminal \
             to be asked",
            self.key_type
        )))
    }
}

/// The password in `path`, without one trailing line break.
fn read_password_file(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        KeyError::Password(format!("cannot read password file {}: {e}", path.display()))
    })?;
    let text = Zeroizing::new(text);
    let trimmed = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    Ok(Zeroizing::new(trimmed.to_string()))
}

fn read_prompt(prompt: &str) -> Result<Zeroizing<String>, KeyError> {
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|e| KeyError::Password(format!("cannot read the password from the terminal: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(file: Option<PathBuf>, prompt: bool) -> PasswordSource {
        PasswordSource {
            key_type: KeyType::Bls,
            file,
            given: None,
            prompt,
        }
    }

    fn no_prompt() -> Result<Zeroizing<String>, KeyError> {
        panic!("prompted")
    }

    #[test]
    fn file_beats_env_and_loses_one_newline() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("pw");
        std::fs::write(&f, "secret \n").unwrap();
        let env = |_: &str| Some("from-env".to_string());
        let got = source(Some(f.clone()), true)
            .resolve(&env, &no_prompt)
            .unwrap();
        assert_eq!(got.as_str(), "secret ");
        std::fs::write(&f, "a\r\n\n").unwrap();
        let got = source(Some(f), true).resolve(&env, &no_prompt).unwrap();
        assert_eq!(got.as_str(), "a\r\n");
    }

    #[test]
    fn given_password_beats_env_but_not_file() {
        let env = |_: &str| Some("from-env".to_string());
        let given = source(None, false).with_password(Some("from-env-file".into()));
        assert_eq!(
            given.resolve(&env, &no_prompt).unwrap().as_str(),
            "from-env-file"
        );
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("pw");
        std::fs::write(&f, "from-file").unwrap();
        let both = source(Some(f), false).with_password(Some("x".into()));
        assert_eq!(
            both.resolve(&env, &no_prompt).unwrap().as_str(),
            "from-file"
        );
    }

    #[test]
    fn env_set_but_empty_is_the_empty_password() {
        let env = |name: &str| (name == "OPERATOR_BLS_KEY_PASSWORD").then(String::new);
        assert_eq!(
            source(None, true)
                .resolve(&env, &no_prompt)
                .unwrap()
                .as_str(),
            ""
        );
    }

    #[test]
    fn prompt_only_when_nothing_else_and_terminal() {
        let env = |_: &str| None;
        let asked = || Ok(Zeroizing::new("typed".to_string()));
        assert_eq!(
            source(None, true).resolve(&env, &asked).unwrap().as_str(),
            "typed"
        );
        let err = source(None, false)
            .resolve(&env, &asked)
            .unwrap_err()
            .to_string();
        assert!(err.contains("OPERATOR_BLS_KEY_PASSWORD"), "{err}");
        assert!(err.contains("--password-file"), "{err}");
    }

    #[test]
    fn missing_password_file_is_named() {
        let err = source(Some("/nonexistent/pw".into()), false)
            .resolve(&|_| None, &no_prompt)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/pw"), "{err}");
    }
}
