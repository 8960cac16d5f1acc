{{- define "egress-verify.labels" -}}
app.kubernetes.io/name: egress-verify
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "egress-verify.image" -}}
{{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* A target's name: the workload's, cut to what a CronJob allows (52), and a digest of namespace/kind/name. */}}
{{- define "egress-verify.targetName" -}}
{{- $name := splitList "/" .workload | last -}}
{{- printf "egress-verify-%s-%s" ($name | trunc 29 | trimSuffix "-") (printf "%s/%s" .namespace .workload | sha256sum | trunc 8) -}}
{{- end }}

{{/* The history ConfigMap and PolicyReport `run --record` writes for one workload. */}}
{{- define "egress-verify.historyName" -}}
{{- printf "egress-verify-%s" (replace "/" "-" .workload) -}}
{{- end }}

{{/*
What a run needs in a tested namespace (manifests/rbac.yaml, src/controller/preflight.ts).
Deletes cannot be narrowed by name: probe pods and run objects are named per run, and RBAC has
no label selection.
*/}}
{{- define "egress-verify.rules" -}}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["create", "get", "list", "watch", "delete"]
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create", "list", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["list"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["list"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets", "replicasets"]
  verbs: ["get", "list"]
- apiGroups: ["batch"]
  resources: ["cronjobs", "jobs"]
  verbs: ["get", "list"]
{{- if and .root.Values.record .historyNames }}
- apiGroups: [""]
  resources: ["configmaps"]
  resourceNames: {{ .historyNames | toJson }}
  verbs: ["get", "update"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: ["wgpolicyk8s.io"]
  resources: ["policyreports"]
  resourceNames: {{ .historyNames | toJson }}
  verbs: ["get", "update"]
- apiGroups: ["wgpolicyk8s.io"]
  resources: ["policyreports"]
  verbs: ["create"]
{{- end }}
{{- end }}

{{/* The controller's pod template, for the CronJob and the Job of one target. */}}
{{- define "egress-verify.podTemplate" -}}
{{- $v := .root.Values -}}
metadata:
  labels:
    # Never the workload's labels: the controller must not be selected as the workload.
    app.kubernetes.io/name: egress-verify
    app.kubernetes.io/instance: {{ .root.Release.Name }}
    app.kubernetes.io/component: controller
spec:
  serviceAccountName: egress-verify
  restartPolicy: Never
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    fsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: egress-verify
      image: {{ include "egress-verify.image" .root }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      args:
        - run
        - --namespace={{ .target.namespace }}
        - --workload={{ .target.workload }}
        {{- with .target.companion }}
        - --companion={{ . }}
        {{- end }}
        {{- if or $v.companion.caCertificate $v.companion.existingConfigMap }}
        - --companion-ca=/companion-ca/ca.crt
        {{- end }}
        {{- if $v.catalogue }}
        - --catalogue=/catalogue/catalogue.yaml
        {{- end }}
        {{- with $v.control.namespace }}
        - --control-namespace={{ . }}
        {{- end }}
        {{- if and .record $v.record }}
        - --record
        - --history={{ $v.historyLength }}
        {{- end }}
        {{- if and .record $v.evidence.enabled }}
        # $(EGRESS_VERIFY_POD_NAME) is expanded by the kubelet: one new directory per run.
        - --evidence=/evidence/$(EGRESS_VERIFY_POD_NAME)
        - --evidence-key=/evidence-key/evidence.key
        {{- end }}
        {{- if $v.receipts.require }}
        - --receipts
        {{- end }}
        {{- with $v.receipts.format }}
        - --receipt-format={{ . }}
        {{- end }}
        - --output=tap
        - --output=json=/reports/report.json
        {{- if and .record $v.alerting.pushgateway }}
        - --pushgateway={{ $v.alerting.pushgateway }}
        {{- end }}
        {{- range $v.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: EGRESS_VERIFY_IMAGE
          value: {{ include "egress-verify.image" .root }}
        - name: EGRESS_VERIFY_POD_NAME
          valueFrom: { fieldRef: { fieldPath: metadata.name } }
        - name: EGRESS_VERIFY_POD_UID
          valueFrom: { fieldRef: { fieldPath: metadata.uid } }
        - name: EGRESS_VERIFY_POD_NAMESPACE
          valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
        - name: EGRESS_VERIFY_LOG_LEVEL
          value: info
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
      resources: {{ $v.resources | toJson }}
      volumeMounts:
        - { name: reports, mountPath: /reports }
        {{- if or $v.companion.caCertificate $v.companion.existingConfigMap }}
        - { name: companion-ca, mountPath: /companion-ca, readOnly: true }
        {{- end }}
        {{- if $v.catalogue }}
        - { name: catalogue, mountPath: /catalogue, readOnly: true }
        {{- end }}
        {{- if and .record $v.evidence.enabled }}
        - { name: evidence, mountPath: /evidence }
        - { name: evidence-key, mountPath: /evidence-key, readOnly: true }
        {{- end }}
  volumes:
    - { name: reports, emptyDir: {} }
    {{- if or $v.companion.caCertificate $v.companion.existingConfigMap }}
    - name: companion-ca
      configMap: { name: {{ $v.companion.existingConfigMap | default "egress-verify-companion-ca" }} }
    {{- end }}
    {{- if $v.catalogue }}
    - name: catalogue
      configMap: { name: egress-verify-catalogue }
    {{- end }}
    {{- if and .record $v.evidence.enabled }}
    - name: evidence
      persistentVolumeClaim: { claimName: egress-verify-evidence }
    - name: evidence-key
      # 0440: readable by the controller's group only.
      secret: { secretName: {{ $v.evidence.signingKeySecret }}, defaultMode: 288 }
    {{- end }}
{{- end }}
