//! The storage read from S3: the same Distribution tree, uploaded with boto3 to a local
//! S3-compatible server (moto), gives exactly the numbers the directory gives. Prints the
//! requests the S3 reading made (moto's own request log) and its time.

mod support;

use std::time::Instant;

use serde_json::Value;
use support::below_api::{APP, abandon_upload, delete_manifest, multiarch, repushed};
use support::cli::Sandbox;
use support::moto::Moto;
use support::registry::TestRegistry;

/// The report without what differs by nature between a directory and a bucket: where it is,
/// the requests, and modification times (a file's mtime, an object's upload time).
fn comparable(mut storage: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in [
                    "location",
                    "requests",
                    "pushed",
                    "tagged",
                    "abandoned_before",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut storage);
    for history in storage["tag_history"]
        .as_array_mut()
        .expect("tag_history")
        .iter_mut()
    {
        if let Some(before) = history["before"].as_array_mut() {
            before.sort_by_key(|b| b["digest"].as_str().unwrap_or("").to_string());
        }
    }
    storage
}

#[test]
fn the_numbers_from_the_bucket_equal_the_numbers_from_the_directory() {
    let registry = TestRegistry::start();
    let mut truth = registry.push(&repushed());
    truth.merge(registry.push(&multiarch()));
    let tmp = truth.tagged(APP, "tmp").digest.clone();
    delete_manifest(&registry, &mut truth, APP, &tmp);
    abandon_upload(&registry, APP, &[3u8; 2048]);

    let home = Sandbox::new();
    let root = registry.storage_root();
    let args = |storage: &str| {
        vec![
            "du".to_string(),
            registry.addr(),
            "--storage".to_string(),
            storage.to_string(),
            "--uploads-older-than".to_string(),
            "0s".to_string(),
            "--json".to_string(),
        ]
    };
    let from_dir = home.run(&args(root.to_str().expect("utf-8"))).ok().json();

    let moto = Moto::start();
    moto.upload_tree("registry", "reg", &root);
    let env: Vec<(&str, String)> = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let before = moto.requests().len();
    let start = Instant::now();
    let run = home.run_env(&args("s3://registry/reg"), &env);
    let took = start.elapsed();
    let from_bucket = run.ok().json();
    let requests = moto.requests().len() - before;

    let dir = &from_dir["storage"];
    let bucket = &from_bucket["storage"];
    assert_eq!(
        dir["registry"]["physical_bytes"].as_u64(),
        Some(registry.blob_store_bytes())
    );
    assert_eq!(comparable(bucket.clone()), comparable(dir.clone()));
    assert_eq!(bucket["location"], "s3://registry/reg");
    let listings = bucket["requests"]["listings"].as_u64().expect("listings");
    let reads = bucket["requests"]["reads"].as_u64().expect("reads");
    // Every listing and read is at least one request; moto saw them all (pages included).
    assert!(
        requests as u64 >= listings + reads,
        "{requests} < {listings} + {reads}"
    );
    println!(
        "S3 reading: {requests} requests to moto ({listings} listings, {reads} reads), {took:.2?} for the whole du run"
    );
}
