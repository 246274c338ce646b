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
