//! What the credential may do on a repository, known before trying.
//!
//! A token registry says it in the token it issues: asked for `pull,push,delete`, the token
//! server grants what the account may do, in the JWT's `access` claim (Docker's token spec,
//! which Distribution enforces) or in the OAuth2 `scope` field of its answer. Basic-auth and
//! open registries say nothing of the kind; [`Grants`] then names what is known (who we are
//! authenticated as) and leaves the rest unknown. No token is ever kept or shown here: only
//! the actions granted.

use base64::Engine as _;
use serde::Deserialize;

use super::client::Client;
use super::credentials::Credentials;
use super::error::RegistryError;
use super::reference::RepoName;

/// The actions asked for: everything regatta may do to a repository.
pub const ASKED_ACTIONS: &str = "pull,push,delete";

/// Actions granted on one repository by a token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Actions {
    pub pull: bool,
    pub push: bool,
    pub delete: bool,
    /// `*`: every action (Distribution's wildcard).
    pub all: bool,
}

impl Actions {
    /// From the action names of a grant (`pull`, `push`, `delete`, `*`; others are ignored).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut actions = Self::default();
        for name in names {
            match name.trim() {
                "pull" => actions.pull = true,
                "push" => actions.push = true,
                "delete" => actions.delete = true,
                "*" => actions.all = true,
                _ => {}
            }
        }
        actions
    }

    pub fn may_pull(&self) -> bool {
        self.all || self.pull
    }

    pub fn may_push(&self) -> bool {
        self.all || self.push
    }

    pub fn may_delete(&self) -> bool {
        self.all || self.delete
    }

    /// The granted actions as the registry names them: `pull`, `pull,push`, `*`, or `none`.
    pub fn names(&self) -> String {
        if self.all {
            return "*".to_string();
        }
        let names: Vec<&str> = [
            (self.pull, "pull"),
            (self.push, "push"),
            (self.delete, "delete"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(",")
        }
    }
}

/// What is known of what the credential may do on one repository.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Grants {
    /// The token server granted these actions (read from the token or its answer).
    Token { actions: Actions },
    /// The registry uses tokens, but this one is opaque and its answer names no scope.
    TokenUnknown,
    /// Basic auth as `username`: the registry accepted the user; what it may change is not
    /// known until tried.
    Basic { username: String },
    /// The registry asked for no credentials: pulling works; whether pushes and deletes are
    /// allowed is not known until tried.
    Open,
}

impl Grants {
    /// Whether a delete is allowed: `Some(false)` only when the registry said so.
    pub fn may_delete(&self) -> Option<bool> {
        match self {
            Grants::Token { actions } => Some(actions.may_delete()),
            _ => None,
        }
    }

    /// Whether a push is allowed: `Some(false)` only when the registry said so.
    pub fn may_push(&self) -> Option<bool> {
        match self {
            Grants::Token { actions } => Some(actions.may_push()),
            _ => None,
        }
    }

    /// A short column: `r`, `rw`, `rwd` (`-` for nothing granted, `?` for unknown).
    pub fn short(&self) -> &'static str {
        match self {
            Grants::Token { actions } => {
                match (actions.may_pull(), actions.may_push(), actions.may_delete()) {
                    (true, true, true) => "rwd",
                    (true, true, false) => "rw",
                    (true, false, true) => "rd",
                    (true, false, false) => "r",
                    (false, false, false) => "-",
                    _ => "?",
                }
            }
            _ => "?",
        }
    }

    /// One sentence for people: what is known and what is not.
    pub fn describe(&self) -> String {
        match self {
            Grants::Token { actions } if actions.all => {
                "the token grants every action (*)".to_string()
            }
            Grants::Token { actions } => format!("the token grants {}", actions.names()),
            Grants::TokenUnknown => {
                "the registry uses tokens but did not say what this one grants".to_string()
            }
            Grants::Basic { username } => format!(
                "authenticated as {username} over basic auth; whether {username} may push or delete is not known until tried"
            ),
            Grants::Open => "anonymous: the registry asks for no credentials, so pulling works; whether pushes and deletes are allowed is not known until tried".to_string(),
        }
    }
}

impl Client {
    /// What the configured credential may do on `repo`: for a token registry, asks the token
    /// server for `pull,push,delete` and returns what it granted (the token itself is
    /// dropped); for basic-auth and open registries, what is known. Sends `GET /v2/` and, for
    /// token registries, one token request; changes nothing.
    pub async fn grants(&self, repo: &RepoName) -> Result<Grants, RegistryError> {
        // The API base answers with the challenge (or without one), teaching the scheme;
        // once a challenge was learned (by the probe, say), asking again adds nothing.
        if self.auth_parts().1.scheme().is_none() {
            self.ping().await?;
        }
        let credentials = self.credentials().await?.clone();
        let scope = format!("repository:{repo}:{ASKED_ACTIONS}");
        let (http, auth) = self.auth_parts();
        let host = &self.registry().host;
        match auth.issue(http, host, &credentials, &scope).await? {
            Some(issued) => Ok(grants_of_token(
                issued.value.expose(),
                issued.scope.as_deref(),
                repo,
            )),
            None => Ok(match (auth.scheme(), &credentials) {
                (Some(_), Credentials::Basic { username, .. }) => Grants::Basic {
                    username: username.clone(),
                },
                // A challenge answered with an identity token is a token flow; without any
                // credentials the ping above failed already.
                (Some(_), _) => Grants::TokenUnknown,
                (None, _) => Grants::Open,
            }),
        }
    }
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    access: Vec<AccessEntry>,
}

#[derive(Deserialize)]
struct AccessEntry {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    actions: Vec<String>,
}

/// The grants on `repo` that a token (and the answer that carried it) state: the JWT's
/// `access` claim when the token is a JWT (what Distribution enforces), else the answer's
/// `scope` field, else unknown. The signature is not checked: the registry does that; this
/// only reads what the token claims.
pub(crate) fn grants_of_token(token: &str, scope: Option<&str>, repo: &RepoName) -> Grants {
    if let Some(claims) = jwt_claims(token) {
        let names = claims
            .access
            .iter()
            .filter(|a| a.kind == "repository" && a.name == repo.as_str())
            .flat_map(|a| a.actions.iter().map(String::as_str));
        return Grants::Token {
            actions: Actions::from_names(names),
        };
    }
    match scope {
        Some(scope) => Grants::Token {
            actions: actions_in_scope(scope, repo),
        },
        None => Grants::TokenUnknown,
    }
}

/// The payload of a JWT (`header.payload.signature`), if `token` is one.
fn jwt_claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The actions on `repo` in an OAuth2 scope string (`repository:a/b:pull,push other:...`).
fn actions_in_scope(scope: &str, repo: &RepoName) -> Actions {
    let names = scope.split_whitespace().filter_map(|one| {
        let (kind, rest) = one.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        (kind == "repository" && name == repo.as_str()).then_some(actions)
    });
    Actions::from_names(names.flat_map(|a| a.split(',')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str) -> RepoName {
        RepoName::parse(name).expect("a repository name")
    }

    fn jwt(claims: serde_json::Value) -> String {
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.c2lnbmF0dXJl",
            b64(&serde_json::json!({"alg": "ES256", "typ": "JWT"})),
            b64(&claims)
        )
    }

    #[test]
    fn the_access_claim_of_a_jwt_names_the_grants_of_this_repository_only() {
        let token = jwt(serde_json::json!({
            "iss": "x",
            "access": [
                {"type": "repository", "name": "team/other", "actions": ["pull", "push", "delete"]},
                {"type": "repository", "name": "team/app", "actions": ["pull"]},
                {"type": "registry", "name": "catalog", "actions": ["*"]},
            ]
        }));
        let grants = grants_of_token(&token, None, &repo("team/app"));
        assert_eq!(
            grants,
            Grants::Token {
                actions: Actions {
                    pull: true,
                    ..Actions::default()
                }
            }
        );
        assert_eq!(grants.short(), "r");
        assert_eq!(grants.may_delete(), Some(false));
        assert_eq!(grants.describe(), "the token grants pull");
    }

    #[test]
    fn a_wildcard_grants_everything_and_an_empty_access_nothing() {
        let all = jwt(serde_json::json!({"access": [
            {"type": "repository", "name": "a", "actions": ["*"]}
        ]}));
        let grants = grants_of_token(&all, None, &repo("a"));
        assert_eq!(grants.short(), "rwd");
        assert_eq!(grants.may_delete(), Some(true));
        assert!(grants.describe().contains('*'));
        let none = jwt(serde_json::json!({"access": []}));
        let grants = grants_of_token(&none, None, &repo("a"));
        assert_eq!(grants.short(), "-");
        assert_eq!(grants.describe(), "the token grants none");
    }

    #[test]
    fn an_opaque_token_falls_back_to_the_answers_scope_or_unknown() {
        let grants = grants_of_token(
            "opaque-token",
            Some("repository:a:pull,push repository:b:delete"),
            &repo("a"),
        );
        assert_eq!(grants.short(), "rw");
        assert_eq!(grants.may_push(), Some(true));
        assert_eq!(grants.may_delete(), Some(false));
        assert_eq!(
            grants_of_token("opaque-token", None, &repo("a")),
            Grants::TokenUnknown
        );
        assert_eq!(Grants::TokenUnknown.may_delete(), None);
    }

    #[test]
    fn basic_and_open_registries_say_what_is_known_and_what_is_not() {
        let basic = Grants::Basic {
            username: "alice".into(),
        };
        assert_eq!(basic.may_delete(), None);
        assert_eq!(basic.short(), "?");
        assert!(basic.describe().starts_with("authenticated as alice"));
        assert!(basic.describe().contains("not known"));
        assert!(Grants::Open.describe().contains("pulling works"));
    }

    /// Through the client against a token registry whose token server answers an opaque
    /// token with OAuth2's `scope` field: asked for pull,push,delete (the request shows it),
    /// granted pull,push.
    #[tokio::test]
    async fn the_client_asks_for_every_action_and_reads_an_oauth2_scope() {
        use wiremock::matchers::{path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        let challenge = format!(r#"Bearer realm="{}/token",service="svc""#, server.uri());
        Mock::given(path("/token"))
            .and(query_param("scope", "repository:team/app:pull,push,delete"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "opaque-abc", "expires_in": 300,
                "scope": "repository:team/app:pull,push"
            })))
            .mount(&server)
            .await;
        Mock::given(path("/token"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "t0"})),
            )
            .with_priority(10)
            .mount(&server)
            .await;
        Mock::given(path("/v2/"))
            .and(wiremock::matchers::header("authorization", "Bearer t0"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        Mock::given(path("/v2/"))
            .respond_with(
                ResponseTemplate::new(401).insert_header("WWW-Authenticate", challenge.as_str()),
            )
            .with_priority(10)
            .mount(&server)
            .await;
        let addr = crate::registry::RegistryAddr::parse(&server.address().to_string())
            .expect("the server's address");
        let client = Client::new(
            addr,
            crate::registry::ClientOptions {
                credentials: crate::registry::CredentialSource::Anonymous,
                ..crate::registry::ClientOptions::default()
            },
        )
        .expect("a client");
        let grants = client.grants(&repo("team/app")).await.expect("grants");
        assert_eq!(grants.short(), "rw");
        assert_eq!(grants.may_delete(), Some(false));
        assert!(!format!("{grants:?}").contains("opaque-abc"));
    }
}
