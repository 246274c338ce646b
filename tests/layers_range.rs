//! A registry that ignores `Range` (an HTTP server may answer 200 with the whole body):
//! an eStargz layer is then streamed, not misread. Distribution honours Range, so this is
//! a fake server (wiremock).

mod support;

use std::collections::BTreeMap;

use regatta::layers::{ListOptions, Origin, list_layer};
use regatta::registry::{
    Client, ClientOptions, CredentialSource, Descriptor, RegistryAddr, RepoName,
};
use sha2::{Digest as _, Sha256};
use support::layers::estargz;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn estargz_falls_back_to_streaming_when_range_is_ignored() {
    support::block_on(async {
        let files = vec![
            ("data/a.txt", b"hello".to_vec()),
            ("data/b.txt", b"world!".to_vec()),
        ];
        let (blob, toc) = estargz(&files);
        let digest = regatta::registry::Digest::sha256_of(&blob);
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("/v2/lazy/blobs/{digest}")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(blob.clone()))
            .mount(&server)
            .await;
        let client = Client::new(
            RegistryAddr::parse(&server.address().to_string()).expect("addr"),
            ClientOptions {
                credentials: CredentialSource::Anonymous,
                certs_d_roots: Vec::new(),
                ..ClientOptions::default()
            },
        )
        .expect("client");
        let layer = Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            digest: digest.clone(),
            size: blob.len() as u64,
            platform: None,
            annotations: Some(BTreeMap::from([(
                "containerd.io/snapshot/stargz/toc.digest".to_string(),
                format!("sha256:{}", hex::encode(Sha256::digest(&toc))),
            )])),
        };
        let repo = RepoName::parse("lazy").expect("repo");
        let (listing, origin) = list_layer(&client, &repo, &layer, &ListOptions::default())
            .await
            .expect("listed by streaming");
        assert_eq!(origin, Origin::Registry);
        let paths: Vec<&str> = listing.entries.iter().map(|e| e.path.as_str()).collect();
        // Streamed: the TOC's own tar entry is there, as in the archive.
        assert_eq!(
            paths,
            ["data", "data/a.txt", "data/b.txt", "stargz.index.json"]
        );
        assert_eq!(listing.compressed_bytes, blob.len() as u64);
        let requests = server.received_requests().await.expect("recording on");
        let ranged: Vec<bool> = requests
            .iter()
            .map(|r| r.headers.contains_key("range"))
            .collect();
        // The footer was asked for with Range, answered whole and dropped; then one GET.
        assert_eq!(ranged, [true, false]);
    });
}

/// A registry that serves other bytes than the digest names: one sentence saying so, and
/// no listing (the digest is checked by the download, beside the listing).
#[test]
fn bytes_that_are_not_the_layer_are_refused() {
    support::block_on(async {
        let real = support::layers::gzip(&support::layers::special_entries());
        let digest = regatta::registry::Digest::sha256_of(b"the layer the manifest names");
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("/v2/liar/blobs/{digest}")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(real.clone()))
            .mount(&server)
            .await;
        let client = Client::new(
            RegistryAddr::parse(&server.address().to_string()).expect("addr"),
            ClientOptions {
                credentials: CredentialSource::Anonymous,
                certs_d_roots: Vec::new(),
                ..ClientOptions::default()
            },
        )
        .expect("client");
        let layer = Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            digest: digest.clone(),
            size: real.len() as u64,
            platform: None,
            annotations: None,
        };
        let repo = RepoName::parse("liar").expect("repo");
        let e = list_layer(&client, &repo, &layer, &ListOptions::default())
            .await
            .expect_err("refused");
        let text = e.to_string();
        assert!(
            text.contains(digest.as_str()) && text.contains("is not what its digest says"),
            "{text}"
        );
        assert!(text.contains(&regatta::registry::Digest::sha256_of(&real).to_string()));
    });
}
