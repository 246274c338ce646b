//! Known kinds of waste in an image's merged filesystem: package manager caches and lists,
//! `.git` directories, and build toolchains left in a runtime image (gcc, a Go SDK, Rust's
//! rustup and cargo, the parts of a JDK a runtime lacks, C headers). Each kind is a rule
//! over a file's path ([`WasteKind::matches`]); only regular files count.

use serde::Serialize;

use super::entry::EntryKind;
use super::merge::Merged;

/// Known kinds of waste: what they are and where they live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WasteKind {
    AptLists,
    AptCache,
    ApkCache,
    PipCache,
    NpmCache,
    GitDir,
    /// gcc: its compilers and their support files.
    GccToolchain,
    /// A Go SDK (Go programs need none of it to run).
    GoSdk,
    /// rustup's toolchains and cargo's home (registry, git checkouts, installed tools).
    RustToolchain,
    /// What a JDK has and a Java runtime does not: `javac`, `jmods`, headers, sources.
    Jdk,
    /// C and C++ headers (what `-dev` packages bring).
    CHeaders,
}

impl WasteKind {
    pub const ALL: [WasteKind; 11] = [
        WasteKind::AptLists,
        WasteKind::AptCache,
        WasteKind::ApkCache,
        WasteKind::PipCache,
        WasteKind::NpmCache,
        WasteKind::GitDir,
        WasteKind::GccToolchain,
        WasteKind::GoSdk,
        WasteKind::RustToolchain,
        WasteKind::Jdk,
        WasteKind::CHeaders,
    ];

    /// What to tell people about it.
    pub fn advice(self) -> &'static str {
        match self {
            WasteKind::AptLists => {
                "apt package lists (rm -rf /var/lib/apt/lists/* in the same RUN)"
            }
            WasteKind::AptCache => "apt's downloaded packages (apt-get clean in the same RUN)",
            WasteKind::ApkCache => "apk's cache (apk add --no-cache)",
            WasteKind::PipCache => "pip's cache (pip install --no-cache-dir)",
            WasteKind::NpmCache => "npm's cache (npm cache clean --force, or a cache mount)",
            WasteKind::GitDir => ".git directories (add .git to .dockerignore)",
            WasteKind::GccToolchain => {
                "a C compiler, gcc (build in a multi-stage build, copy only the result)"
            }
            WasteKind::GoSdk => "the Go SDK (build in a multi-stage build, copy only the binary)",
            WasteKind::RustToolchain => {
                "a Rust toolchain, rustup and cargo (build in a multi-stage build, copy only the binary)"
            }
            WasteKind::Jdk => {
                "a JDK's compiler, jmods and sources (build in a multi-stage build, run on a JRE or a jlink runtime)"
            }
            WasteKind::CHeaders => {
                "C headers from -dev packages (build in a multi-stage build, install only runtime libraries)"
            }
        }
    }

    /// Whether a (relative) file path belongs to this kind. Only regular files are counted
    /// (the caller's rule), so a symlink such as `usr/bin/cc` adds nothing. The toolchain
    /// rules name places no runtime needs: the runtime parts of gcc (`libgcc_s`,
    /// `libstdc++`) live in `usr/lib/<triplet>/`, not in `usr/lib/gcc/`; a Java runtime has
    /// no `javac`, `jmods`, `include`, `src.zip` or `ct.sym`.
    pub fn matches(self, path: &str) -> bool {
        let has_dir = |name: &str| {
            path.split('/')
                .rev()
                .skip(1)
                .any(|component| component == name)
        };
        match self {
            WasteKind::AptLists => path.starts_with("var/lib/apt/lists/"),
            WasteKind::AptCache => path.starts_with("var/cache/apt/"),
            WasteKind::ApkCache => {
                path.starts_with("var/cache/apk/") || path.starts_with("etc/apk/cache/")
            }
            WasteKind::PipCache => path.contains(".cache/pip/"),
            WasteKind::NpmCache => has_dir(".npm") || path.contains(".cache/npm/"),
            WasteKind::GitDir => has_dir(".git"),
            WasteKind::GccToolchain => {
                ["usr/lib/gcc/", "usr/libexec/gcc/", "usr/lib/gcc-cross/"]
                    .iter()
                    .any(|p| path.starts_with(p))
                    || is_gcc_program(path)
            }
            WasteKind::GoSdk => {
                path.starts_with("usr/local/go/")
                    || path.starts_with("usr/lib/go/")
                    || path
                        .strip_prefix("usr/lib/go-")
                        .is_some_and(|rest| rest.contains('/'))
            }
            WasteKind::RustToolchain => {
                let home = path.strip_prefix("root/").or_else(|| {
                    path.strip_prefix("home/")
                        .and_then(|p| Some(p.split_once('/')?.1))
                });
                home.is_some_and(|h| h.starts_with(".rustup/") || h.starts_with(".cargo/"))
                    || path.starts_with("usr/local/rustup/")
                    || path.starts_with("usr/local/cargo/")
            }
            WasteKind::Jdk => is_jdk_only(path),
            WasteKind::CHeaders => {
                path.starts_with("usr/include/") || path.starts_with("usr/local/include/")
            }
        }
    }
}

/// gcc's programs in `usr/bin/` or `usr/local/bin/`: `gcc`, `g++`, `cc1*` and their
/// versioned or target-prefixed names (`gcc-12`, `x86_64-linux-gnu-g++-12`,
/// `x86_64-alpine-linux-musl-gcc`).
fn is_gcc_program(path: &str) -> bool {
    let Some(name) = path
        .strip_prefix("usr/bin/")
        .or_else(|| path.strip_prefix("usr/local/bin/"))
    else {
        return false;
    };
    if name.contains('/') {
        return false;
    }
    let driver = |d: &str| {
        name == d
            || name.starts_with(&format!("{d}-"))
            || name.ends_with(&format!("-{d}"))
            || name.contains(&format!("-{d}-"))
    };
    driver("gcc") || driver("g++") || name.starts_with("cc1")
}

/// The parts of a JDK that a Java runtime lacks, in a Java home: a directory under
/// `usr/lib/jvm/` or `opt/java/`, or one whose name starts with `jdk` or `openjdk`
/// (`opt/jdk-21`, `usr/local/openjdk-17`).
fn is_jdk_only(path: &str) -> bool {
    let components: Vec<&str> = path.split('/').collect();
    (0..components.len().saturating_sub(1)).any(|home| {
        let name = components[home];
        let parent = components[..home].join("/");
        let is_home = parent == "usr/lib/jvm"
            || parent == "opt/java"
            || name.starts_with("jdk")
            || name.starts_with("openjdk");
        if !is_home {
            return false;
        }
        let inside = &components[home + 1..];
        matches!(
            inside,
            ["jmods", _, ..] | ["include", _, ..] | ["bin", "javac"]
        ) || matches!(inside, ["lib", "src.zip" | "ct.sym" | "tools.jar"])
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownWaste {
    pub kind: WasteKind,
    pub advice: &'static str,
    pub files: usize,
    pub bytes: u64,
}

/// The known waste of `merged`, largest first; kinds with no file left out.
pub(super) fn known_waste(merged: &Merged) -> Vec<KnownWaste> {
    let mut out: Vec<KnownWaste> = WasteKind::ALL
        .iter()
        .map(|&kind| {
            let (files, bytes) = merged
                .entries
                .iter()
                .filter(|(p, m)| m.entry.kind == EntryKind::File && kind.matches(p))
                .fold((0usize, 0u64), |(n, b), (_, m)| {
                    (n + 1, b.saturating_add(m.entry.size))
                });
            KnownWaste {
                kind,
                advice: kind.advice(),
                files,
                bytes,
            }
        })
        .filter(|w| w.files > 0)
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.kind.cmp(&b.kind)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_waste_paths() {
        assert!(WasteKind::AptLists.matches("var/lib/apt/lists/deb.debian.org_dists"));
        assert!(WasteKind::GitDir.matches("src/app/.git/objects/ab/cd"));
        assert!(!WasteKind::GitDir.matches("src/app/.gitignore"));
        assert!(WasteKind::PipCache.matches("root/.cache/pip/http/x"));
        assert!(WasteKind::NpmCache.matches("root/.npm/_cacache/index"));
        assert!(!WasteKind::ApkCache.matches("var/cache/apt/archives/x.deb"));
    }

    #[test]
    fn toolchain_paths() {
        let gcc = WasteKind::GccToolchain;
        assert!(gcc.matches("usr/lib/gcc/x86_64-linux-gnu/12/cc1"));
        assert!(gcc.matches("usr/libexec/gcc/x86_64-alpine-linux-musl/13/cc1plus"));
        assert!(gcc.matches("usr/bin/x86_64-linux-gnu-gcc-12"));
        assert!(gcc.matches("usr/bin/g++-12"));
        assert!(gcc.matches("usr/bin/gcc"));
        assert!(gcc.matches("usr/local/bin/x86_64-alpine-linux-musl-g++"));
        // Runtime libraries of gcc, and programs whose names only look alike.
        assert!(!gcc.matches("usr/lib/x86_64-linux-gnu/libgcc_s.so.1"));
        assert!(!gcc.matches("usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"));
        assert!(!gcc.matches("usr/bin/gccgo-helper/x"));
        assert!(!gcc.matches("usr/bin/mygccthing"));

        let go = WasteKind::GoSdk;
        assert!(go.matches("usr/local/go/bin/go"));
        assert!(go.matches("usr/lib/go-1.19/pkg/tool/linux_amd64/compile"));
        assert!(go.matches("usr/lib/go/src/fmt/print.go"));
        assert!(!go.matches("usr/lib/go-1.19"));
        assert!(!go.matches("usr/local/gopher/x"));

        let rust = WasteKind::RustToolchain;
        assert!(rust.matches("root/.rustup/toolchains/stable/bin/rustc"));
        assert!(rust.matches("home/dev/.cargo/registry/cache/x.crate"));
        assert!(rust.matches("usr/local/cargo/bin/cargo"));
        assert!(rust.matches("usr/local/rustup/toolchains/x/lib/librustc_driver.so"));
        assert!(!rust.matches("app/.cargo/config.toml"));

        let jdk = WasteKind::Jdk;
        assert!(jdk.matches("usr/lib/jvm/java-17-openjdk-amd64/bin/javac"));
        assert!(jdk.matches("usr/lib/jvm/java-17-openjdk-amd64/jmods/java.base.jmod"));
        assert!(jdk.matches("opt/java/openjdk/lib/src.zip"));
        assert!(jdk.matches("opt/jdk-21/include/jni.h"));
        assert!(jdk.matches("usr/local/openjdk-8/lib/tools.jar"));
        // What a Java runtime needs.
        assert!(!jdk.matches("usr/lib/jvm/java-17-openjdk-amd64/bin/java"));
        assert!(!jdk.matches("opt/java/openjdk/lib/modules"));
        assert!(!jdk.matches("app/lib/src.zip"));

        assert!(WasteKind::CHeaders.matches("usr/include/stdio.h"));
        assert!(WasteKind::CHeaders.matches("usr/local/include/zlib.h"));
        assert!(!WasteKind::CHeaders.matches("usr/share/include/x"));
    }

    #[test]
    fn waste_kinds_serialize_in_snake_case() {
        let names: Vec<String> = WasteKind::ALL
            .iter()
            .map(|k| serde_json::to_string(k).expect("json"))
            .collect();
        assert!(
            names.contains(&"\"gcc_toolchain\"".to_string()),
            "{names:?}"
        );
        assert!(names.contains(&"\"go_sdk\"".to_string()));
        assert!(names.contains(&"\"rust_toolchain\"".to_string()));
        assert!(names.contains(&"\"jdk\"".to_string()));
        assert!(names.contains(&"\"c_headers\"".to_string()));
    }
}
