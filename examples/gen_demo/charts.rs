//! `charts/api`: Acme's Helm chart for the API, pushed as `helm push` does (Helm 3.8+): the
//! chart's metadata as the config (`application/vnd.cncf.helm.config.v1+json`), the packaged
//! chart (`helm package`'s `.tgz`) as the only layer, tagged with the chart version.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::layer::LayerBuilder;
use super::oci::{Blob, ManifestDoc, OCI_MANIFEST, Repo};

const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
const HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// Chart.yaml's fields, in the order of Helm's `chart.Metadata` (what the config holds).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    name: &'a str,
    home: &'a str,
    version: &'a str,
    description: &'a str,
    keywords: [&'a str; 2],
    api_version: &'a str,
    app_version: &'a str,
    #[serde(rename = "type")]
    chart_type: &'a str,
}

struct Chart {
    version: &'static str,
    app_version: &'static str,
    created: &'static str,
    /// Values that changed between versions.
    replicas: u32,
    extra_values: &'static str,
}

const CHARTS: [Chart; 2] = [
    Chart {
        version: "0.1.0",
        app_version: "1.2.3",
        created: "2025-10-15T09:00:00Z",
        replicas: 2,
        extra_values: "",
    },
    Chart {
        version: "0.2.0",
        app_version: "1.3.0",
        created: "2026-03-10T08:45:00Z",
        replicas: 3,
        extra_values: "\ntracing:\n  endpoint: http://otel-collector:4317\n",
    },
];

const DESCRIPTION: &str = "Acme's API service";
const HOME: &str = "https://git.acme.example/acme/api";

const HELPERS: &str = r#"{{- define "api.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "api.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "api.fullname" . }}
  labels:
    {{- include "api.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        {{- include "api.labels" . | nindent 8 }}
    spec:
      containers:
        - name: api
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default (printf "v%s" .Chart.AppVersion) }}"
          ports:
            - name: http
              containerPort: 8080
            - name: metrics
              containerPort: 9090
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
"#;

const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: {{ include "api.fullname" . }}
  labels:
    {{- include "api.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: http
      name: http
  selector:
    app.kubernetes.io/name: {{ .Chart.Name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
"#;

const HELMIGNORE: &str = ".DS_Store\n.git/\n*.swp\n*.bak\n*.tmp\n";

pub fn api() -> Result<Repo> {
    let mut repo = Repo::new("charts/api");
    for chart in &CHARTS {
        let chart_yaml = format!(
            "apiVersion: v2\nname: api\ndescription: {DESCRIPTION}\ntype: application\n\
             version: {}\nappVersion: \"{}\"\nhome: {HOME}\nkeywords:\n  - acme\n  - api\n",
            chart.version, chart.app_version
        );
        let values = format!(
            "replicaCount: {}\n\nimage:\n  repository: registry.acme.example/acme/api\n  tag: \"\"\n\n\
             service:\n  type: ClusterIP\n  port: 80\n{}",
            chart.replicas, chart.extra_values
        );
        // `helm package` writes the chart under a directory named after it.
        let package = LayerBuilder::new(chart.created)
            .file("api/Chart.yaml", chart_yaml)
            .file("api/values.yaml", values)
            .file("api/.helmignore", HELMIGNORE)
            .file("api/templates/_helpers.tpl", HELPERS)
            .file("api/templates/deployment.yaml", DEPLOYMENT)
            .file("api/templates/service.yaml", SERVICE)
            .build()?;
        let config = Blob::json(&Metadata {
            name: "api",
            home: HOME,
            version: chart.version,
            description: DESCRIPTION,
            keywords: ["acme", "api"],
            api_version: "v2",
            app_version: chart.app_version,
            chart_type: "application",
        })?;
        let annotations = BTreeMap::from(
            [
                ("org.opencontainers.image.created", chart.created),
                ("org.opencontainers.image.description", DESCRIPTION),
                ("org.opencontainers.image.title", "api"),
                ("org.opencontainers.image.version", chart.version),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let manifest = Blob::json(&ManifestDoc {
            schema_version: 2,
            media_type: OCI_MANIFEST,
            artifact_type: None,
            config: config.descriptor(HELM_CONFIG),
            layers: vec![package.blob.descriptor(HELM_CHART)],
            subject: None,
            annotations: &annotations,
        })?;
        repo.store(&[&manifest, &config, &package.blob]);
        repo.tag(&manifest.descriptor(OCI_MANIFEST), chart.version)?;
    }
    Ok(repo)
}
