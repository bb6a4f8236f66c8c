//! The key directory: where key files live, how they are named, how they are written safely.

use crate::file::{KeyFile, PublicKeyInfo, SecretKey};
use crate::{KeyError, KeyType, PasswordSource};
use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `$EIGENLAYER_HOME/operator_keys`, with `EIGENLAYER_HOME` defaulting to `~/.eigenlayer`: where
/// the `eigenlayer` CLI keeps keys and the operator guide expects them.
pub fn default_key_dir() -> Result<PathBuf, KeyError> {
    let home = match std::env::var_os("EIGENLAYER_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    KeyError::NoKeyDir("neither EIGENLAYER_HOME nor HOME is set; pass --dir".into())
                })?;
            PathBuf::from(home).join(".eigenlayer")
        }
    };
    Ok(home.join("operator_keys"))
}

/// One key file found by [`KeyDir::list`].
#[derive(Clone, Debug)]
pub struct KeyListing {
    /// The key name: the file name without its `.ecdsa.key.json` / `.bls.key.json` suffix.
    pub name: String,
    /// The type the file name declares.
    pub key_type: KeyType,
    /// The file.
    pub path: PathBuf,
    /// The public part, or why it could not be read.
    pub public: Result<PublicKeyInfo, String>,
}

impl KeyListing {
    /// The listing as a table (`mach keys list`): a header line, then one aligned line per
    /// key with its name, type, address or public key, and operator ID.
    pub fn table(keys: &[KeyListing]) -> String {
        let rows: Vec<[String; 4]> = keys
            .iter()
            .map(|k| {
                let (public, operator_id) = match &k.public {
                    Ok(PublicKeyInfo::Ecdsa { address }) => (address.to_string(), "-".to_string()),
                    Ok(PublicKeyInfo::Bls { public_key }) => {
                        (public_key.to_string(), public_key.operator_id().to_string())
                    }
                    Err(reason) => (format!("(unreadable: {reason})"), "-".to_string()),
                };
                [k.name.clone(), k.key_type.to_string(), public, operator_id]
            })
            .collect();
        let header = ["NAME", "TYPE", "ADDRESS / PUBLIC KEY", "OPERATOR ID"].map(String::from);
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let mut table = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            table += &format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {}\n",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
        }
        table
    }
}

/// A directory of key files.
#[derive(Clone, Debug)]
pub struct KeyDir {
    path: PathBuf,
}

impl KeyDir {
    /// The directory at `path` (it need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the key `name` of `key_type` lives: `DIR/NAME.ecdsa.key.json` or
    /// `DIR/NAME.bls.key.json`.
    pub fn file_path(&self, name: &str, key_type: KeyType) -> Result<PathBuf, KeyError> {
        let valid = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(KeyError::InvalidName {
                name: name.to_string(),
            });
        }
        Ok(self.path.join(format!("{name}{}", key_type.file_suffix())))
    }

    /// Writes a new key file with mode 0600, creating the directory with mode 0700 if needed.
    /// Never replaces an existing file. Returns the file's path.
    pub fn write_new(
        &self,
        name: &str,
        key_type: KeyType,
        contents: &[u8],
    ) -> Result<PathBuf, KeyError> {
        let path = self.file_path(name, key_type)?;
        if path.exists() {
            return Err(KeyError::AlreadyExists { path });
        }
        self.ensure_dir()?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => KeyError::AlreadyExists { path: path.clone() },
                _ => KeyError::Write {
                    path: path.clone(),
                    source,
                },
            })?;
        let written = file.write_all(contents).and_then(|()| file.sync_all());
        if let Err(source) = written {
            // A half-written key file is worse than none: it would shadow a retry.
            let _ = std::fs::remove_file(&path);
            return Err(KeyError::Write { path, source });
        }
        Ok(path)
    }

    /// Encrypts `key` into the new key file `name`, with a new password from `password` (the
    /// empty one refused unless `allow_empty`). A taken name fails before a password is asked
    /// for. Returns the file's path.
    pub fn create(
        &self,
        name: &str,
        key: &SecretKey,
        password: &PasswordSource,
        allow_empty: bool,
    ) -> Result<PathBuf, KeyError> {
        let key_type = key.key_type();
        let path = self.file_path(name, key_type)?;
        if path.exists() {
            return Err(KeyError::AlreadyExists { path });
        }
        let contents = key.encrypt(&password.new_key(allow_empty)?)?;
        let path = self.write_new(name, key_type, &contents)?;
        tracing::info!(file = %path.display(), key_type = key_type.flag(), "key file written");
        Ok(path)
    }

    fn ensure_dir(&self) -> Result<(), KeyError> {
        if self.path.is_dir() {
            if let Ok(meta) = std::fs::metadata(&self.path) {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        dir = %self.path.display(),
                        mode = format!("{mode:o}"),
                        "key directory is readable by other users; run `chmod 700 {}`",
                        self.path.display()
                    );
                }
            }
            return Ok(());
        }
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.path)
            .map_err(|source| KeyError::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Every `*.ecdsa.key.json` and `*.bls.key.json` in the directory, sorted by name then type.
    /// A missing directory has no keys. Unreadable files are listed with the reason.
    pub fn list(&self) -> Result<Vec<KeyListing>, KeyError> {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(KeyError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| KeyError::Read {
                path: self.path.clone(),
                source,
            })?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let Some((name, key_type)) = [KeyType::Ecdsa, KeyType::Bls].into_iter().find_map(|t| {
                file_name
                    .strip_suffix(t.file_suffix())
                    .map(|n| (n.to_string(), t))
            }) else {
                continue;
            };
            let path = entry.path();
            let public = KeyFile::read(&path, Some(key_type))
                .map(|f| f.public().clone())
                .map_err(|e| e.to_string());
            keys.push(KeyListing {
                name,
                key_type,
                path,
                public,
            });
        }
        keys.sort_by(|a, b| (&a.name, a.key_type.flag()).cmp(&(&b.name, b.key_type.flag())));
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_file_names() {
        let dir = KeyDir::new("/keys");
        assert_eq!(
            dir.file_path("opr", KeyType::Ecdsa).unwrap(),
            PathBuf::from("/keys/opr.ecdsa.key.json")
        );
        assert_eq!(
            dir.file_path("op-1.b_2", KeyType::Bls).unwrap(),
            PathBuf::from("/keys/op-1.b_2.bls.key.json")
        );
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(
                dir.file_path(bad, KeyType::Bls).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn writes_0600_in_0700_and_refuses_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::new(tmp.path().join("a/keys"));
        let path = dir.write_new("k", KeyType::Bls, b"{}").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(dir.path()), 0o700);
        assert!(matches!(
            dir.write_new("k", KeyType::Bls, b"{}"),
            Err(KeyError::AlreadyExists { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
    }
}
