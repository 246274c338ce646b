//! Placeholder until the OCI layout source lands.
use std::path::Path;

use crate::registry::{RegistryError, RepoName};

pub struct LayoutSource;

impl LayoutSource {
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        Err(RegistryError::Io {
            path: path.display().to_string(),
            detail: "not yet".into(),
        })
    }
    pub fn single_repository(&self) -> Option<RepoName> {
        None
    }
}
