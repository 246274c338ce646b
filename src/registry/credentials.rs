//! Where credentials come from, and a `Secret` that never prints itself.

use std::fmt;

use super::error::RegistryError;

/// A password or token. `Debug` and `Display` print a placeholder, so a secret cannot reach a
/// log line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: only for building an `Authorization` header or a token request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Resolved credentials for one registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: Secret,
    },
    /// An OAuth2 refresh token (Docker's `identitytoken`), exchanged at the token realm.
    IdentityToken(Secret),
}

/// How to obtain credentials; resolved once per client.
#[derive(Clone, Debug, Default)]
pub enum CredentialSource {
    /// Docker's `config.json` (`$DOCKER_CONFIG` or `~/.docker`), then Podman's `auth.json`;
    /// anonymous when neither has an entry for the host.
    #[default]
    DockerConfig,
    /// No credentials at all.
    Anonymous,
    /// A username and password given directly.
    Plain { username: String, password: Secret },
    /// A username and a shell command whose standard output is the password.
    Command { username: String, command: String },
}

impl CredentialSource {
    /// Resolves to credentials for `host` (`host[:port]`). Runs a command or credential helper
    /// when configured, so it is blocking work on a worker thread.
    pub async fn resolve(
        &self,
        host: &str,
        docker_hub: bool,
    ) -> Result<Credentials, RegistryError> {
        match self {
            CredentialSource::Anonymous => Ok(Credentials::Anonymous),
            CredentialSource::Plain { username, password } => Ok(Credentials::Basic {
                username: username.clone(),
                password: password.clone(),
            }),
            CredentialSource::Command { username, command } => {
                let password = run_password_command(host, command).await?;
                Ok(Credentials::Basic {
                    username: username.clone(),
                    password,
                })
            }
            CredentialSource::DockerConfig => {
                let key = if docker_hub {
                    "https://index.docker.io/v1/".to_string()
                } else {
                    host.to_string()
                };
                let host_name = host.to_string();
                tokio::task::spawn_blocking(move || docker_config_lookup(&host_name, &key))
                    .await
                    .map_err(|e| RegistryError::Credentials {
                        host: host.to_string(),
                        detail: format!("credential lookup did not finish: {e}"),
                    })?
            }
        }
    }
}

/// Credential files in the order Docker and Podman consult them.
fn credential_files() -> Vec<std::path::PathBuf> {
    use std::path::PathBuf;
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = env("HOME");
    let mut files = Vec::new();
    match env("DOCKER_CONFIG") {
        Some(dir) => files.push(dir.join("config.json")),
        None => files.extend(home.as_ref().map(|h| h.join(".docker/config.json"))),
    }
    files.extend(env("REGISTRY_AUTH_FILE"));
    files.extend(env("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")));
    files.extend(home.map(|h| h.join(".config/containers/auth.json")));
    files
}

fn docker_config_lookup(host: &str, key: &str) -> Result<Credentials, RegistryError> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential as D};
    for path in credential_files() {
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        let found =
            docker_credential::get_credential_from_reader(std::io::BufReader::new(file), key);
        return match found {
            Ok(D::UsernamePassword(username, password)) => Ok(Credentials::Basic {
                username,
                password: Secret::new(password),
            }),
            Ok(D::IdentityToken(token)) => Ok(Credentials::IdentityToken(Secret::new(token))),
            Err(E::NoCredentialConfigured) => continue,
            // Never echo a helper's output: it may hold the secret.
            Err(E::HelperFailure { helper, .. }) => Err(RegistryError::Credentials {
                host: host.to_string(),
                // `helper` is the full program name, `docker-credential-NAME`.
                detail: format!(
                    "the credential helper {helper} failed (named in {}); its output is not shown, as it may hold the secret: `echo {host} | {helper} get` shows why",
                    path.display()
                ),
            }),
            Err(other) => Err(RegistryError::Credentials {
                host: host.to_string(),
                detail: format!("{}: {other}", path.display()),
            }),
        };
    }
    Ok(Credentials::Anonymous)
}

async fn run_password_command(host: &str, command: &str) -> Result<Secret, RegistryError> {
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| RegistryError::Credentials {
            host: host.to_string(),
            detail: format!("cannot run password_command: {e}"),
        })?;
    if !output.status.success() {
        return Err(RegistryError::Credentials {
            host: host.to_string(),
            detail: format!("password_command exited with {}", output.status),
        });
    }
    let text = String::from_utf8(output.stdout).map_err(|_| RegistryError::Credentials {
        host: host.to_string(),
        detail: "password_command printed something that is not UTF-8".to_string(),
    })?;
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        let c = Credentials::Basic {
            username: "u".into(),
            password: s,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn password_command_output_is_the_password() {
        let src = CredentialSource::Command {
            username: "u".into(),
            command: "printf 'pw with space\\n'".into(),
        };
        let Credentials::Basic { password, .. } = src.resolve("h", false).await.unwrap() else {
            panic!("expected basic credentials")
        };
        assert_eq!(password.expose(), "pw with space");
        let failing = CredentialSource::Command {
            username: "u".into(),
            command: "exit 3".into(),
        };
        assert!(failing.resolve("h", false).await.is_err());
    }
}
