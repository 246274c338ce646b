//! `[audit]` in `config.toml` and the checked settings the audit runs with.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::kinds::{PatternError, PatternSpec, TagPatterns};

/// The suggested policy's name unless the config has a policy of that name already.
pub const POLICY_NAME: &str = "suggested";

/// Why `[audit]` was refused; the text starts with the offending key under `[audit]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditConfigError {
    #[error("patterns.{0}")]
    Pattern(#[from] PatternError),
    #[error("keep_within: {0:?} is not a duration like 30d, 12h or 2w")]
    KeepWithin(String),
    #[error("drift_newest: must be at least 1")]
    ZeroDriftNewest,
    #[error("keep_last: must be at least 1")]
    ZeroKeepLast,
}

impl AuditConfigError {
    /// The key at fault, under `[audit]`: `patterns.commit`, `keep_within`, ...
    pub fn key(&self) -> String {
        match self {
            AuditConfigError::Pattern(e) => format!("patterns.{}", e.kind.name()),
            AuditConfigError::KeepWithin(_) => "keep_within".into(),
            AuditConfigError::ZeroDriftNewest => "drift_newest".into(),
            AuditConfigError::ZeroKeepLast => "keep_last".into(),
        }
    }
}

/// `[audit]` in `config.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// A repository is stale, and a build tag old, when it is older than this many days
    /// (default 90).
    pub stale_days: Option<u32>,
    /// A floating tag has drifted when its image is not among the repository's newest N
    /// images (default 3).
    pub drift_newest: Option<usize>,
    /// `keep_last` of the suggested policy (default 10).
    pub keep_last: Option<usize>,
    /// `keep_within` of the suggested policy (default "30d").
    pub keep_within: Option<String>,
    /// Tag-kind patterns (regexes); a missing key keeps the default.
    #[serde(default)]
    pub patterns: PatternSpec,
}

/// Checked audit settings.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    pub patterns: TagPatterns,
    pub stale_days: u32,
    pub drift_newest: usize,
    pub keep_last: usize,
    pub keep_within: String,
    /// The name of the suggested policy: `suggested`, or one the config does not use yet.
    pub policy_name: String,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            patterns: TagPatterns::defaults(),
            stale_days: 90,
            drift_newest: 3,
            keep_last: 10,
            keep_within: "30d".into(),
            policy_name: POLICY_NAME.into(),
        }
    }
}

impl AuditSettings {
    /// The settings of a config; the error starts with the offending key.
    pub fn from_config(config: &AuditConfig) -> Result<Self, AuditConfigError> {
        let defaults = Self::default();
        let patterns = TagPatterns::compile(&config.patterns)?;
        let keep_within = config.keep_within.clone().unwrap_or(defaults.keep_within);
        if crate::cleanup::policy::parse_duration(&keep_within).is_none() {
            return Err(AuditConfigError::KeepWithin(keep_within));
        }
        let drift_newest = config.drift_newest.unwrap_or(defaults.drift_newest);
        if drift_newest == 0 {
            return Err(AuditConfigError::ZeroDriftNewest);
        }
        let keep_last = config.keep_last.unwrap_or(defaults.keep_last);
        if keep_last == 0 {
            return Err(AuditConfigError::ZeroKeepLast);
        }
        Ok(Self {
            patterns,
            stale_days: config.stale_days.unwrap_or(defaults.stale_days),
            drift_newest,
            keep_last,
            keep_within,
            policy_name: defaults.policy_name,
        })
    }

    /// Names the suggested policy so that its snippet can be pasted into a config that has
    /// these policies already: `suggested`, else `suggested-2`, `suggested-3`, ...
    pub fn avoiding<'a>(mut self, taken: impl IntoIterator<Item = &'a String>) -> Self {
        let taken: BTreeSet<&String> = taken.into_iter().collect();
        let mut n = 1;
        while taken.contains(&self.policy_name) {
            n += 1;
            self.policy_name = format!("{}-{n}", POLICY_NAME);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_key() {
        let bad_pattern = AuditConfig {
            patterns: PatternSpec {
                date: Some("(".into()),
                ..PatternSpec::default()
            },
            ..AuditConfig::default()
        };
        let err = AuditSettings::from_config(&bad_pattern).unwrap_err();
        assert_eq!(err.key(), "patterns.date");
        assert!(
            err.to_string()
                .starts_with("patterns.date: \"(\" is not a valid regex"),
            "{err}"
        );
        let bad_duration = AuditConfig {
            keep_within: Some("soon".into()),
            ..AuditConfig::default()
        };
        let err = AuditSettings::from_config(&bad_duration).unwrap_err();
        assert_eq!(err, AuditConfigError::KeepWithin("soon".into()));
        assert_eq!(err.key(), "keep_within");
        assert_eq!(
            err.to_string(),
            "keep_within: \"soon\" is not a duration like 30d, 12h or 2w"
        );
        for (config, key) in [
            (
                AuditConfig {
                    drift_newest: Some(0),
                    ..AuditConfig::default()
                },
                "drift_newest",
            ),
            (
                AuditConfig {
                    keep_last: Some(0),
                    ..AuditConfig::default()
                },
                "keep_last",
            ),
        ] {
            let err = AuditSettings::from_config(&config).unwrap_err();
            assert_eq!(err.key(), key);
            assert_eq!(err.to_string(), format!("{key}: must be at least 1"));
        }
        let settings = AuditSettings::from_config(&AuditConfig {
            stale_days: Some(7),
            ..AuditConfig::default()
        })
        .unwrap();
        assert_eq!((settings.stale_days, settings.drift_newest), (7, 3));
        let taken = ["suggested".to_string(), "suggested-2".to_string()];
        assert_eq!(settings.avoiding(&taken).policy_name, "suggested-3");
    }
}
