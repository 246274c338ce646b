//! The committed demo is exactly what `examples/gen_demo` writes: regenerating it changes
//! nothing, so the bundled bytes are reviewable and reproducible.

#[allow(dead_code)]
#[path = "../examples/gen_demo/main.rs"]
mod gen_demo;

use std::path::Path;

#[test]
fn assets_demo_matches_the_generator() {
    let fresh = tempfile::tempdir().unwrap();
    gen_demo::generate(fresh.path()).unwrap();
    let want = gen_demo::tree(fresh.path()).unwrap();
    let have = gen_demo::tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo")).unwrap();
    let differing: Vec<_> = want
        .keys()
        .chain(have.keys())
        .filter(|p| want.get(*p) != have.get(*p))
        .collect();
    assert!(
        differing.is_empty(),
        "assets/demo differs from the generator (run `cargo run --example gen_demo`): {differing:?}"
    );
}

/// The Python interpreter of the virtualenv holding `spdx-tools` (the SPDX project's own
/// parser and validator) and `cryptography`: from `REGATTA_DEMO_PYTHON` (scripts/test sets
/// it), else `target/demo-venv`. None when neither exists: `cargo test` alone cannot install
/// them.
fn demo_python() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("REGATTA_DEMO_PYTHON") {
        return Some(p.into());
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/demo-venv/bin/python");
    p.exists().then_some(p)
}

/// Walks a layout's referrer tags: verifies each cosign signature and attestation (DSSE) with
/// the public key, validates each SPDX SBOM a fallback index lists; prints one line per
/// artifact, and fails on the first that does not check out.
const CHECK_ARTIFACTS: &str = r#"
import base64, json, os, sys, tempfile
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

layout, public_key = sys.argv[1:]
key = load_pem_public_key(open(public_key, "rb").read())
def blob(digest):
    return open(os.path.join(layout, "blobs/sha256", digest.split(":")[1]), "rb").read()
for entry in json.load(open(os.path.join(layout, "index.json")))["manifests"]:
    tag = entry.get("annotations", {}).get("org.opencontainers.image.ref.name", "")
    if not tag.startswith("sha256-"):
        continue
    doc = json.loads(blob(entry["digest"]))
    if tag.endswith(".sig"):
        layer = doc["layers"][0]
        payload = blob(layer["digest"])
        signature = layer["annotations"]["dev.cosignproject.cosign/signature"]
        key.verify(base64.b64decode(signature), payload)
        signed = json.loads(payload)["critical"]["image"]["docker-manifest-digest"]
        print("signature", tag, signed)
    elif tag.endswith(".att"):
        envelope = json.loads(blob(doc["layers"][0]["digest"]))
        body = base64.b64decode(envelope["payload"])
        kind = envelope["payloadType"].encode()
        pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)
        key.verify(base64.b64decode(envelope["signatures"][0]["sig"]), pae)
        statement = json.loads(body)
        print("attestation", tag, "sha256:" + statement["subject"][0]["digest"]["sha256"], statement["predicateType"])
    else:
        for listed in doc["manifests"]:
            if listed.get("artifactType") != "application/spdx+json":
                continue
            manifest = json.loads(blob(listed["digest"]))
            with tempfile.NamedTemporaryFile(suffix=".spdx.json") as f:
                f.write(blob(manifest["layers"][0]["digest"]))
                f.flush()
                document = parse_file(f.name)
            problems = validate_full_spdx_document(document)
            if problems:
                sys.exit(f"{tag}: invalid SPDX: {problems}")
            print("sbom", tag, manifest["subject"]["digest"], len(document.packages))
"#;

/// The demo's attached artifacts, checked by tools nobody here wrote: cosign's signatures
/// and attestations verify with the generator's public key (`cryptography`), and its SBOMs
/// are valid SPDX 2.3 (`spdx-tools`), each naming the release it belongs to.
#[test]
fn the_demo_signatures_verify_and_its_sboms_are_valid_spdx() {
    let Some(python) = demo_python() else {
        eprintln!(
            "skipped: no demo virtualenv (scripts/test creates it; or set REGATTA_DEMO_PYTHON)"
        );
        return;
    };
    let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/acme/api");
    let work = tempfile::tempdir().unwrap();
    let public_key = work.path().join("cosign.pub");
    std::fs::write(&public_key, gen_demo::artifacts::public_key_pem().unwrap()).unwrap();
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(CHECK_ARTIFACTS)
        .arg(&layout)
        .arg(&public_key)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The releases, from the layout's index.json.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let digest_of = |tag: &str| -> String {
        index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .and_then(|m| m["digest"].as_str())
            .unwrap_or_else(|| panic!("no tag {tag}"))
            .to_string()
    };
    for release in ["v1.3.0", "v1.2.3"] {
        let digest = digest_of(release);
        let hex = digest.trim_start_matches("sha256:");
        let line = |kind: &str, tag: String| -> Vec<String> {
            stdout
                .lines()
                .find(|l| l.starts_with(&format!("{kind} {tag} ")))
                .unwrap_or_else(|| panic!("{release}: no {kind} {tag} in\n{stdout}"))
                .split(' ')
                .skip(2)
                .map(str::to_string)
                .collect()
        };
        assert_eq!(
            line("signature", format!("sha256-{hex}.sig")),
            [digest.as_str()]
        );
        assert_eq!(
            line("attestation", format!("sha256-{hex}.att")),
            [digest.as_str(), "https://slsa.dev/provenance/v1"]
        );
        let sbom = line("sbom", format!("sha256-{hex}"));
        assert_eq!(sbom[0], digest);
        let packages: usize = sbom[1].parse().unwrap();
        assert!(packages > 40, "{release}: {packages} packages");
    }
}
