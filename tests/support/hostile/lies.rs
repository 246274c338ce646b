//! The lies, one repository each: what [`Builder::lie`] serves for every [`Lie`].

use serde_json::{Value, json};

use super::content::{Builder, CREATED, Desc, layer, million_tags};
use super::{
    DEEP, HISTORY, Lie, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Reply, Route, THOUSANDS, redirect,
    reply, sha,
};

impl Builder {
    pub(super) fn lie(&mut self, lie: Lie) {
        let repo = lie.repo();
        let fake = |n: u32| sha(format!("{repo} fake {n}").as_bytes());
        match lie {
            Lie::NegativeSize => {
                let config = self.config_of(repo);
                let body = format!(
                    r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{},"layers":[{{"mediaType":"{OCI_LAYER}","digest":"{}","size":-5}}]}}"#,
                    config.json(),
                    fake(1)
                );
                self.manifest(repo, &["v1"], OCI_MANIFEST, body.into_bytes());
                self.tags(repo, json!(["v1"]));
            }
            Lie::AbsurdSize => {
                let config = self.config_of(repo);
                let layers =
                    vec![json!({"mediaType": OCI_LAYER, "digest": fake(1), "size": u64::MAX})];
                self.raw_image(repo, &config, layers);
            }
            Lie::OverflowingSum => {
                // With the config, a wrapping sum comes to a few hundred bytes.
                let half = (1u64 << 63) + 56;
                let config = self.config_of(repo);
                let layers = vec![
                    json!({"mediaType": OCI_LAYER, "digest": fake(1), "size": half}),
                    json!({"mediaType": OCI_LAYER, "digest": fake(2), "size": half}),
                ];
                self.raw_image(repo, &config, layers);
            }
            Lie::ImageTooLarge => {
                // Each layer believable (2^52 bytes), the image not (3 * 2^52 > 2^53).
                let config = self.config_of(repo);
                let layers = (1..=3)
                    .map(|n| json!({"mediaType": OCI_LAYER, "digest": fake(n), "size": 1u64 << 52}))
                    .collect();
                self.raw_image(repo, &config, layers);
            }
            Lie::IndexTooLarge => {
                // Each platform believable (2^52 bytes), the index's union not.
                let children: Vec<(Desc, &str)> = ["amd64", "arm64", "s390x"]
                    .into_iter()
                    .enumerate()
                    .map(|(n, arch)| {
                        let config = self.blob(
                            repo,
                            OCI_CONFIG,
                            Self::config_bytes(repo, Some(CREATED), arch),
                        );
                        let big = json!({"mediaType": OCI_LAYER, "digest": fake(n as u32), "size": 1u64 << 52});
                        let body = serde_json::to_vec(&json!({
                            "schemaVersion": 2,
                            "mediaType": OCI_MANIFEST,
                            "config": config.json(),
                            "layers": [big],
                        }))
                        .expect("json");
                        (self.manifest(repo, &[], OCI_MANIFEST, body), arch)
                    })
                    .collect();
                self.index(repo, &["v1"], &children);
                self.tags(repo, json!(["v1"]));
            }
            Lie::ConfigSizeMismatch => {
                let mut config = self.config_of(repo);
                config.size += 100;
                let layers = vec![self.blob(repo, OCI_LAYER, layer(repo, "1", 200)).json()];
                self.raw_image(repo, &config, layers);
            }
            Lie::ChildSizeMismatch => {
                let child = self.image(repo, &[], "amd64", &[layer(repo, "1", 300)]);
                let mut claimed = child.manifest.clone();
                claimed.size += 1;
                self.index(repo, &["v1"], &[(claimed, "amd64")]);
                self.tags(repo, json!(["v1"]));
            }
            Lie::ContentLengthMismatch => {
                let config = self.config_of(repo);
                let path = format!("/v2/{repo}/blobs/{}", config.digest);
                let Some(Route::Fixed(r)) = self.routes.get(&path).cloned() else {
                    unreachable!("the config was just served")
                };
                self.routes.insert(
                    path,
                    Route::ShortBody {
                        declared: r.body.len() + 50,
                        reply: r,
                    },
                );
                let layers = vec![self.blob(repo, OCI_LAYER, layer(repo, "1", 200)).json()];
                self.raw_image(repo, &config, layers);
            }
            Lie::NestedShallow => {
                let amd = self.image(repo, &[], "amd64", &[layer(repo, "amd", 600)]);
                let arm = self.image(repo, &[], "arm64", &[layer(repo, "arm", 800)]);
                let inner = self.index(
                    repo,
                    &[],
                    &[
                        (amd.manifest.clone(), "amd64"),
                        (arm.manifest.clone(), "arm64"),
                    ],
                );
                let outer = self.index(repo, &["v1"], &[(inner.clone(), "amd64")]);
                self.tags(repo, json!(["v1"]));
                self.record(repo, &["v1"], &outer, &[&amd, &arm], &[&inner]);
            }
            Lie::NestedDeep => {
                let image = self.image(repo, &[], "amd64", &[layer(repo, "1", 500)]);
                let mut inner = image.manifest.clone();
                for level in 0..DEEP {
                    let tags: &[&str] = if level + 1 == DEEP { &["v1"] } else { &[] };
                    inner = self.index(repo, tags, &[(inner, "amd64")]);
                }
                self.tags(repo, json!(["v1"]));
            }
            Lie::ManyPlatforms => {
                let children: Vec<(Desc, &str)> = (0..THOUSANDS as u32)
                    .map(|n| {
                        let d = Desc {
                            media_type: OCI_MANIFEST,
                            digest: fake(n),
                            size: 500,
                        };
                        (d, "amd64")
                    })
                    .collect();
                self.index(repo, &["v1"], &children);
                self.tags(repo, json!(["v1"]));
            }
            Lie::ManyLayers => {
                let config = self.config_of(repo);
                let layers = (0..THOUSANDS as u32)
                    .map(|n| json!({"mediaType": OCI_LAYER, "digest": fake(n), "size": 1000}))
                    .collect();
                self.raw_image(repo, &config, layers);
            }
            Lie::DuplicateLayers => {
                let once = layer(repo, "1", 1200);
                let built = self.image(
                    repo,
                    &["v1"],
                    "amd64",
                    &[once.clone(), layer(repo, "2", 300), once.clone(), once],
                );
                self.tags(repo, json!(["v1"]));
                self.record(repo, &["v1"], &built.manifest.clone(), &[&built], &[]);
            }
            Lie::MissingChild => {
                let child = self.image(repo, &[], "amd64", &[layer(repo, "1", 300)]);
                let missing = Desc {
                    media_type: OCI_MANIFEST,
                    digest: fake(1),
                    size: 400,
                };
                self.index(
                    repo,
                    &["v1"],
                    &[(child.manifest.clone(), "amd64"), (missing, "arm64")],
                );
                self.tags(repo, json!(["v1"]));
            }
            Lie::WrongTypeChild => {
                // The index lists an image config where a platform manifest should be.
                let config = Self::config_bytes(repo, Some(CREATED), "arm64");
                let digest = sha(&config);
                self.routes.insert(
                    format!("/v2/{repo}/manifests/{digest}"),
                    Route::Fixed(reply(200, OCI_CONFIG, config.clone())),
                );
                let child = Desc {
                    media_type: OCI_MANIFEST,
                    digest,
                    size: config.len() as u64,
                };
                self.index(repo, &["v1"], &[(child, "arm64")]);
                self.tags(repo, json!(["v1"]));
            }
            Lie::DigestHeaderMismatch => {
                let built = self.image(repo, &[], "amd64", &[layer(repo, "1", 300)]);
                let Some(Route::Fixed(mut r)) = self
                    .routes
                    .get(&format!("/v2/{repo}/manifests/{}", built.manifest.digest))
                    .cloned()
                else {
                    unreachable!("the manifest was just served")
                };
                let claimed = fake(1);
                r.headers.retain(|(k, _)| k != "Docker-Content-Digest");
                r.headers
                    .push(("Docker-Content-Digest".into(), claimed.clone()));
                for reference in ["v1", claimed.as_str()] {
                    self.routes.insert(
                        format!("/v2/{repo}/manifests/{reference}"),
                        Route::Fixed(r.clone()),
                    );
                }
                self.tags(repo, json!(["v1"]));
            }
            Lie::BodyChanges => {
                let first = self.image(repo, &[], "amd64", &[layer(repo, "1", 300)]);
                let second = self.image(repo, &[], "amd64", &[layer(repo, "2", 300)]);
                let get = |b: &Builder, d: &Desc| match b
                    .routes
                    .get(&format!("/v2/{repo}/manifests/{}", d.digest))
                {
                    Some(Route::Fixed(r)) => r.clone(),
                    _ => unreachable!("the manifest was just served"),
                };
                let (head, body) = (get(self, &first.manifest), get(self, &second.manifest));
                self.truth
                    .claimed
                    .insert(repo.to_string(), first.manifest.digest.clone());
                for reference in ["v1", first.manifest.digest.as_str()] {
                    self.routes.insert(
                        format!("/v2/{repo}/manifests/{reference}"),
                        Route::HeadThenGet(head.clone(), body.clone()),
                    );
                }
                self.tags(repo, json!(["v1"]));
            }
            Lie::UnknownAlgorithm => {
                let config = self.config_of(repo);
                let layers = vec![
                    json!({"mediaType": OCI_LAYER, "digest": "md5:d41d8cd98f00b204e9800998ecf8427e", "size": 100}),
                ];
                self.raw_image(repo, &config, layers);
            }
            Lie::UnknownAlgorithmHeader => {
                let built = self.image(repo, &[], "amd64", &[layer(repo, "1", 300)]);
                let Some(Route::Fixed(mut r)) = self
                    .routes
                    .get(&format!("/v2/{repo}/manifests/{}", built.manifest.digest))
                    .cloned()
                else {
                    unreachable!("the manifest was just served")
                };
                r.headers.retain(|(k, _)| k != "Docker-Content-Digest");
                r.headers.push((
                    "Docker-Content-Digest".into(),
                    format!("blake3:{}", &built.manifest.digest[7..]),
                ));
                for reference in ["v1", built.manifest.digest.as_str()] {
                    self.routes.insert(
                        format!("/v2/{repo}/manifests/{reference}"),
                        Route::Fixed(r.clone()),
                    );
                }
                self.tags(repo, json!(["v1"]));
            }
            Lie::UppercaseDigest => {
                let config = self.config_of(repo);
                let upper = format!("sha256:{}", fake(1)[7..].to_uppercase());
                let layers = vec![json!({"mediaType": OCI_LAYER, "digest": upper, "size": 100})];
                self.raw_image(repo, &config, layers);
            }
            Lie::TruncatedDigest => {
                let config = self.config_of(repo);
                let short = fake(1)[..7 + 32].to_string();
                let layers = vec![json!({"mediaType": OCI_LAYER, "digest": short, "size": 100})];
                self.raw_image(repo, &config, layers);
            }
            Lie::InvalidTagNames => {
                self.plain(repo, &["v1"]);
                self.tags(
                    repo,
                    json!([
                        "v1",
                        "bad\u{0}nul",
                        "bad\nnewline",
                        "x".repeat(5_000),
                        "../../etc/passwd",
                        "v1"
                    ]),
                );
            }
            Lie::InvalidRepositoryNames => {
                self.plain(repo, &["v1"]);
                self.tags(repo, json!(["v1"]));
                for bad in [
                    "../escape".to_string(),
                    "nul\u{0}name".to_string(),
                    "new\nline".to_string(),
                    "r".repeat(5_000),
                    "honest/alpha".to_string(),
                ] {
                    self.catalog.push(bad);
                }
            }
            Lie::NullTags => {
                self.tags(repo, Value::Null);
                self.truth.repos.entry(repo.to_string()).or_default();
            }
            Lie::MillionTags => {
                self.repo(repo);
                self.routes.insert(
                    format!("/v2/{repo}/tags/list"),
                    Route::Fixed(Reply {
                        status: 200,
                        headers: vec![("Content-Type".into(), "application/json".into())],
                        body: million_tags(),
                    }),
                );
            }
            Lie::ForeignLink => {
                self.plain(repo, &["v1"]);
                self.tags(repo, json!(["v1"]));
                let path = format!("/v2/{repo}/tags/list");
                if let Some(Route::Fixed(r)) = self.routes.get_mut(&path) {
                    r.headers.push((
                        "Link".into(),
                        format!("<http://{}{path}?last=v1&n=100>; rel=\"next\"", self.other),
                    ));
                }
            }
            Lie::RedirectLoop => {
                let config = self.config_of(repo);
                self.routes.insert(
                    format!("/v2/{repo}/blobs/{}", config.digest),
                    redirect("/storage/loop/a"),
                );
                self.routes
                    .insert("/storage/loop/a".into(), redirect("/storage/loop/b"));
                self.routes
                    .insert("/storage/loop/b".into(), redirect("/storage/loop/a"));
                let layers = vec![self.blob(repo, OCI_LAYER, layer(repo, "1", 200)).json()];
                self.raw_image(repo, &config, layers);
            }
            Lie::CrossHostRedirect => {
                let built = self.plain(repo, &["v1"]);
                self.tags(repo, json!(["v1"]));
                let config = built
                    .blobs
                    .keys()
                    .find(|d| {
                        matches!(self.routes.get(&format!("/v2/{repo}/blobs/{d}")), Some(Route::Fixed(r)) if r.body.starts_with(b"{"))
                    })
                    .cloned()
                    .expect("the config");
                let path = format!("/v2/{repo}/blobs/{config}");
                let served = self.routes.remove(&path).expect("the config route");
                let storage = format!("/storage/{}", &config[7..]);
                self.routes.insert(storage.clone(), served);
                self.routes.insert(
                    path,
                    redirect(&format!("http://{}{storage}?signature=abc", self.other)),
                );
            }
            Lie::ConfigWrongShape => {
                let config = self.blob(
                    repo,
                    OCI_CONFIG,
                    br#"{"architecture":5,"os":["linux"],"history":{"not":"a list"}}"#.to_vec(),
                );
                let layers = vec![self.blob(repo, OCI_LAYER, layer(repo, "1", 200)).json()];
                self.raw_image(repo, &config, layers);
            }
            Lie::ConfigLongHistory => {
                let mut config: Value =
                    serde_json::from_slice(&Self::config_bytes(repo, Some(CREATED), "amd64"))
                        .expect("json");
                config["history"] = Value::Array(
                    (0..HISTORY)
                        .map(|n| json!({ "created_by": format!("RUN step {n}"), "empty_layer": true }))
                        .collect(),
                );
                let config = serde_json::to_vec(&config).expect("json");
                let built = self.image_with(
                    repo,
                    &["v1"],
                    config,
                    Some(CREATED),
                    &[layer(repo, "1", 250)],
                );
                self.tags(repo, json!(["v1"]));
                self.record(repo, &["v1"], &built.manifest.clone(), &[&built], &[]);
            }
            Lie::DateFarFuture | Lie::DateBefore1970 | Lie::DateNotRfc3339 => {
                let created = match lie {
                    Lie::DateFarFuture => "9999-12-31T23:59:59Z",
                    Lie::DateBefore1970 => "1969-07-20T20:17:40Z",
                    _ => "last Tuesday",
                };
                let config = Self::config_bytes(repo, Some(created), "amd64");
                self.image_with(repo, &["v1"], config, None, &[layer(repo, "1", 200)]);
                self.tags(repo, json!(["v1"]));
            }
        }
    }
}
