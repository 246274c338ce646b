//! A plan made to be applied asks the destination for its blobs while the source's manifests
//! are still being read (`BlobAsking::WhilePlanning`, what `regatta cp --apply` does). The
//! plan must be the one asking after every manifest is read gives (`OnApply`, then
//! `ask_blobs`): the same blobs present, mounted from the same repositories, transferred into
//! the sessions the questions opened, the same totals, at any concurrency. Two real
//! Distribution registries; the destination already holds one image, so some answers say
//! "present".

mod support;

use regatta::copy::{
    BlobAction, BlobAsking, CopyPlan, CopyProgress, Ends, ImageRequest, apply, ask_blobs,
    plan_copy, plan_copy_with,
};
use regatta::registry::{Client, ManifestRef};
use support::copy::copy_fixture;
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{repo, tag};

fn request(source_repo: &str, t: &str, destination_repo: &str) -> ImageRequest {
    ImageRequest {
        source_repository: repo(source_repo),
        source_reference: ManifestRef::Tag(tag(t)),
        destination_repository: repo(destination_repo),
        destination_tag: Some(tag(t)),
    }
}

async fn plan_with(
    source: &Client,
    destination: &Client,
    requests: &[ImageRequest],
    asking: BlobAsking,
    concurrency: usize,
) -> CopyPlan {
    let ends = Ends {
        source,
        destination,
    };
    let mut plan = plan_copy_with(&ends, requests, None, concurrency, asking)
        .await
        .expect("a plan");
    if asking == BlobAsking::OnApply {
        ask_blobs(&mut plan, &ends, concurrency)
            .await
            .expect("the blobs asked for");
    }
    plan
}

/// The plan as `--json` prints it, and which blobs carry an upload session (not printed).
fn shape(plan: &CopyPlan) -> (serde_json::Value, Vec<bool>) {
    let sessions = plan.blobs.iter().map(|b| b.session.is_some()).collect();
    (
        serde_json::to_value(plan).expect("a plan serialises"),
        sessions,
    )
}

#[tokio::test]
async fn asking_while_the_manifests_are_read_plans_what_asking_after_them_plans() {
    let source = TestRegistry::start();
    let destination = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    source.push(&copy_fixture());
    let (src, dst) = (source.client(), destination.client());

    // The destination holds team/app:v1 already.
    let first = [request("team/app", "v1", "team/app")];
    let ends = Ends {
        source: &src,
        destination: &dst,
    };
    let plan = plan_copy(&ends, &first, None, 4).await.expect("a plan");
    let outcome = apply(&plan, &ends, 4, &CopyProgress::default()).await;
    assert!(outcome.is_complete(), "{:?}", outcome.failures);

    let requests = [
        request("team/app", "v1", "team/app"),
        request("team/app", "v2", "team/app"),
        request("team/app", "latest", "team/app"),
        request("team/multi", "1.0", "team/multi"),
        request("team/multi", "2.0", "team/multi"),
        request("team/app", "v2", "mirror/app"),
        request("team/multi", "2.0", "mirror/multi"),
    ];
    let self_mounts = || {
        destination
            .access_log()
            .iter()
            .filter(|e| e.method == "POST" && e.target.contains("mount="))
            .count()
    };
    let before = self_mounts();
    let after = plan_with(&src, &dst, &requests, BlobAsking::OnApply, 8).await;
    let asked_after = self_mounts() - before;
    let expected = shape(&after);

    // The plan means something: blobs of each kind, sessions for those to transfer.
    let count = |f: fn(&BlobAction) -> bool| after.blobs.iter().filter(|b| f(&b.action)).count();
    assert!(count(|a| *a == BlobAction::Present) > 0, "{:#}", expected.0);
    assert!(
        count(|a| *a == BlobAction::Transfer) > 0,
        "{:#}",
        expected.0
    );
    assert!(
        count(|a| matches!(a, BlobAction::Mount { .. })) > 0,
        "{:#}",
        expected.0
    );
    assert!(
        expected.1.iter().any(|s| *s),
        "no upload session was opened"
    );

    for concurrency in [1, 3, 8] {
        let before = self_mounts();
        let during = plan_with(
            &src,
            &dst,
            &requests,
            BlobAsking::WhilePlanning,
            concurrency,
        )
        .await;
        assert_eq!(
            self_mounts() - before,
            asked_after,
            "the same questions at {concurrency}"
        );
        let got = shape(&during);
        assert_eq!(got.0, expected.0, "the plan at {concurrency}");
        assert_eq!(got.1, expected.1, "the sessions at {concurrency}");
    }
}
