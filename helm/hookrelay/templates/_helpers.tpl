{{/* Chart name. */}}
{{- define "hookrelay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "hookrelay.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "hookrelay.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource. */}}
{{- define "hookrelay.labels" -}}
helm.sh/chart: {{ include "hookrelay.chart" . }}
{{ include "hookrelay.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hookrelay
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "hookrelay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hookrelay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Component labels: include "hookrelay.componentLabels" (list $ "worker") */}}
{{- define "hookrelay.componentLabels" -}}
{{ include "hookrelay.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "hookrelay.componentSelectorLabels" -}}
{{ include "hookrelay.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "hookrelay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hookrelay.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "hookrelay.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The chart-managed Secret (admin key, Redis URL and password). */}}
{{- define "hookrelay.secretName" -}}
{{- include "hookrelay.fullname" . -}}
{{- end -}}

{{- define "hookrelay.adminKeySecretName" -}}
{{- default (include "hookrelay.secretName" .) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "hookrelay.adminKeySecretKey" -}}
{{- if .Values.auth.existingSecret -}}{{ .Values.auth.existingSecretKey }}{{- else -}}admin-api-key{{- end -}}
{{- end -}}

{{- define "hookrelay.redisUrlSecretName" -}}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.existingSecret -}}
{{- .Values.externalRedis.existingSecret -}}
{{- else -}}
{{- include "hookrelay.secretName" . -}}
{{- end -}}
{{- end -}}

{{- define "hookrelay.redisUrlSecretKey" -}}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.existingSecret -}}
{{- .Values.externalRedis.existingSecretKey -}}
{{- else -}}redis-url{{- end -}}
{{- end -}}

{{/* The URL of an external Redis given as nodes: no credentials (they come as flags). */}}
{{- define "hookrelay.externalRedisNodesUrl" -}}
{{- $r := .Values.externalRedis -}}
{{- printf "%s://%s" (ternary "rediss" "redis" $r.tls.enabled) (join "," $r.nodes) -}}
{{- if $r.database }}{{ printf "/%d" (int $r.database) }}{{ end -}}
{{- end -}}

{{/*
Redis settings of the registry and the workers, as env entries (the URL and the password) and
as flags (everything else). The password only ever comes from a secretKeyRef.
*/}}
{{- define "hookrelay.redisEnv" -}}
{{- $r := .Values.externalRedis -}}
{{- if and (not .Values.redis.enabled) $r.nodes (not $r.url) (not $r.existingSecret) }}
- name: HOOKRELAY_REDIS_URL
  value: {{ include "hookrelay.externalRedisNodesUrl" . | quote }}
{{- else }}
- name: HOOKRELAY_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "hookrelay.redisUrlSecretName" . }}
      key: {{ include "hookrelay.redisUrlSecretKey" . }}
{{- end }}
{{- if and (not .Values.redis.enabled) $r.existingPasswordSecret }}
- name: HOOKRELAY_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $r.existingPasswordSecret }}
      key: {{ $r.existingPasswordSecretKey }}
{{- end }}
{{- end -}}

{{- define "hookrelay.redisTlsDir" -}}/etc/hookrelay/redis-tls{{- end -}}

{{/* True when the pods mount PEM files for the Redis TLS connection. */}}
{{- define "hookrelay.redisTlsFiles" -}}
{{- $t := .Values.externalRedis.tls -}}
{{- if and (not .Values.redis.enabled) $t.enabled $t.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "hookrelay.redisArgs" -}}
{{- if not .Values.redis.enabled }}
{{- $r := .Values.externalRedis }}
{{- $dir := include "hookrelay.redisTlsDir" . }}
{{- if ne $r.cluster "auto" }}
- {{ printf "--redis_cluster=%s" $r.cluster | quote }}
{{- end }}
{{- with $r.username }}
- {{ printf "--redis_username=%s" . | quote }}
{{- end }}
{{- if include "hookrelay.redisTlsFiles" . }}
{{- if $r.tls.caKey }}
- {{ printf "--redis_ca_file=%s/ca.crt" $dir | quote }}
{{- end }}
{{- if $r.tls.certKey }}
- {{ printf "--redis_cert_file=%s/tls.crt" $dir | quote }}
- {{ printf "--redis_key_file=%s/tls.key" $dir | quote }}
{{- end }}
{{- end }}
{{- if and $r.tls.enabled $r.tls.serverName }}
- {{ printf "--redis_tls_server_name=%s" $r.tls.serverName | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "hookrelay.redisTlsVolumeMount" -}}
{{- if include "hookrelay.redisTlsFiles" . }}
- name: redis-tls
  mountPath: {{ include "hookrelay.redisTlsDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* The Secret's keys mapped to fixed file names, so the flags never depend on key names. */}}
{{- define "hookrelay.redisTlsVolume" -}}
{{- if include "hookrelay.redisTlsFiles" . }}
{{- $t := .Values.externalRedis.tls }}
- name: redis-tls
  secret:
    secretName: {{ $t.existingSecret }}
    defaultMode: 0440
    items:
      {{- if $t.caKey }}
      - key: {{ $t.caKey }}
        path: ca.crt
      {{- end }}
      {{- if $t.certKey }}
      - key: {{ $t.certKey }}
        path: tls.crt
      - key: {{ $t.keyKey }}
        path: tls.key
      {{- end }}
{{- end }}
{{- end -}}

{{- define "hookrelay.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "hookrelay.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{- define "hookrelay.redisName" -}}
{{- printf "%s-redis" (include "hookrelay.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* True when the chart must render its own Secret. */}}
{{- define "hookrelay.needsSecret" -}}
{{- if or (and (not .Values.auth.insecureNoAuth) (not .Values.auth.existingSecret)) .Values.redis.enabled (and (not .Values.externalRedis.existingSecret) .Values.externalRedis.url) -}}true{{- end -}}
{{- end -}}

{{/*
A value of the chart Secret: the given value, else the one already in the cluster (so
generated keys survive upgrades), else a new random one.
include "hookrelay.secretValue" (dict "ctx" $ "key" "admin-api-key" "value" "...")
*/}}
{{- define "hookrelay.secretValue" -}}
{{- $ctx := .ctx -}}
{{- if .value -}}
{{- .value -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" $ctx.Release.Namespace (include "hookrelay.secretName" $ctx) -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 40 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Seconds in a duration such as 25s, 1m30s, 1.5m, 2h, 500ms (rounded up).
include "hookrelay.durationSeconds" "1m30s"  ->  90
*/}}
{{- define "hookrelay.durationSeconds" -}}
{{- $total := 0.0 -}}
{{- $d := toString . -}}
{{- if not (regexMatch "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$" $d) -}}
{{- fail (printf "cannot read the duration %q (use e.g. 25s, 1m30s, 2h)" $d) -}}
{{- end -}}
{{- range $part := regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h)" $d -1 -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $part | float64 -}}
{{- $unit := regexReplaceAll "^[0-9]+(\\.[0-9]+)?" $part "" -}}
{{- $mult := dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 -}}
{{- $total = addf $total (mulf $num (get $mult $unit)) -}}
{{- end -}}
{{- ceil $total | int -}}
{{- end -}}

{{/* Checks of combinations the schema cannot express. */}}
{{- define "hookrelay.validate" -}}
{{- $r := .Values.externalRedis -}}
{{- if and .Values.redis.enabled (or $r.url $r.existingSecret $r.nodes $r.username $r.existingPasswordSecret $r.tls.enabled) -}}
{{- fail "redis.enabled=true and externalRedis are both set: choose the bundled Redis or an external one (redis.enabled=false)" -}}
{{- end -}}
{{- if and (not .Values.redis.enabled) (not $r.url) (not $r.existingSecret) (not $r.nodes) -}}
{{- fail "redis.enabled=false needs externalRedis.url, externalRedis.existingSecret or externalRedis.nodes" -}}
{{- end -}}
{{- include "hookrelay.validateExternalRedis" . -}}
{{- if and .Values.redis.enabled (gt (int .Values.registry.publishMinReplicas) 0) -}}
{{- fail (printf "registry.publishMinReplicas=%d needs an external Redis with replicas (the bundled Redis has none, so every publish would time out)" (int .Values.registry.publishMinReplicas)) -}}
{{- end -}}
{{- if gt (int .Values.registry.publishMinReplicas) 0 -}}
{{- $wait := include "hookrelay.durationSeconds" .Values.registry.publishReplicaTimeout | int -}}
{{- if or (lt $wait 1) (gt $wait 60) -}}
{{- fail (printf "registry.publishReplicaTimeout=%s: must be between 1ms and 60s" .Values.registry.publishReplicaTimeout) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) (or (not .Values.tls.cert) (not .Values.tls.key)) -}}
{{- fail "tls.enabled=true needs tls.existingSecret, or both tls.cert and tls.key" -}}
{{- end -}}
{{- $drain := include "hookrelay.durationSeconds" .Values.worker.drainTimeout | int -}}
{{- if le (int .Values.worker.terminationGracePeriodSeconds) $drain -}}
{{- fail (printf "worker.terminationGracePeriodSeconds (%d) must be longer than worker.drainTimeout (%s = %ds), or Kubernetes kills workers mid-drain" (int .Values.worker.terminationGracePeriodSeconds) .Values.worker.drainTimeout $drain) -}}
{{- end -}}
{{- if and .Values.worker.keda.enabled .Values.worker.autoscaling.enabled -}}
{{- fail "worker.keda.enabled and worker.autoscaling.enabled are both true: KEDA creates and owns the workers' HPA (with a CPU trigger of its own, worker.keda.cpuUtilizationPercentage); turn worker.autoscaling off" -}}
{{- end -}}
{{- if and .Values.worker.keda.enabled (not .Values.worker.keda.prometheusServerAddress) -}}
{{- fail "worker.keda.enabled=true needs worker.keda.prometheusServerAddress (the Prometheus that scrapes the workers)" -}}
{{- end -}}
{{- if and .Values.worker.keda.enabled (gt (int .Values.worker.keda.minReplicas) (int .Values.worker.keda.maxReplicas)) -}}
{{- fail (printf "worker.keda.minReplicas (%d) is larger than worker.keda.maxReplicas (%d)" (int .Values.worker.keda.minReplicas) (int .Values.worker.keda.maxReplicas)) -}}
{{- end -}}
{{- if and .Values.networkPolicy.enabled (not .Values.redis.enabled) (not .Values.networkPolicy.redisPeers) -}}
{{- fail "networkPolicy.enabled=true with an external Redis needs networkPolicy.redisPeers (where Redis is), or the pods cannot reach it" -}}
{{- end -}}
{{- if and .Values.auth.insecureNoAuth (or .Values.auth.adminApiKey .Values.auth.existingSecret) -}}
{{- fail "auth.insecureNoAuth=true cannot be combined with an admin API key" -}}
{{- end -}}
{{- end -}}

{{/* Checks of externalRedis (the schema checks each value, these their combinations). */}}
{{- define "hookrelay.validateExternalRedis" -}}
{{- $r := .Values.externalRedis -}}
{{- $t := $r.tls -}}
{{- if and $r.nodes (or $r.url $r.existingSecret) -}}
{{- fail "externalRedis.nodes cannot be combined with externalRedis.url or externalRedis.existingSecret: say where Redis is in one way" -}}
{{- end -}}
{{- if and (gt (len $r.nodes) 1) (eq $r.cluster "off") -}}
{{- fail (printf "externalRedis.nodes lists %d nodes but externalRedis.cluster=off: several nodes are the seeds of a Redis Cluster (use cluster: auto or on, or one node)" (len $r.nodes)) -}}
{{- end -}}
{{- if and $r.database (or (gt (len $r.nodes) 1) (eq $r.cluster "on")) -}}
{{- fail (printf "externalRedis.database=%d: a Redis Cluster has database 0 only" (int $r.database)) -}}
{{- end -}}
{{- if and $r.database (not $r.nodes) -}}
{{- fail "externalRedis.database applies to externalRedis.nodes only (put the database in the URL: redis://host:port/N)" -}}
{{- end -}}
{{- if not $t.enabled -}}
{{- range $k := list "existingSecret" "certKey" "keyKey" "serverName" -}}
{{- if get $t $k -}}
{{- fail (printf "externalRedis.tls.%s is set but externalRedis.tls.enabled is false: turn TLS on (rediss://) or remove it" $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if ne (empty $t.certKey) (empty $t.keyKey) -}}
{{- fail "externalRedis.tls.certKey and externalRedis.tls.keyKey go together: a client certificate needs its private key" -}}
{{- end -}}
{{- if and $t.certKey (not $t.existingSecret) -}}
{{- fail "externalRedis.tls.certKey needs externalRedis.tls.existingSecret (the Secret holding the client certificate and key)" -}}
{{- end -}}
{{- if and $t.existingSecret (not $t.caKey) (not $t.certKey) -}}
{{- fail "externalRedis.tls.existingSecret is set but neither caKey nor certKey names a key in it" -}}
{{- end -}}
{{- if and $t.enabled $r.url (hasPrefix "redis://" $r.url) (not $r.existingSecret) -}}
{{- fail "externalRedis.tls.enabled=true but externalRedis.url starts with redis://: use rediss://" -}}
{{- end -}}
{{- end -}}

{{/* Default preferred anti-affinity spreading a component over nodes. */}}
{{- define "hookrelay.defaultAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "hookrelay.componentSelectorLabels" . | nindent 12 }}
{{- end -}}

{{/* NetworkPolicy peer: (list $ podLabels namespaceSelector) -> pods with these labels in the
namespaces selected, or in the release's namespace when the selector is empty. */}}
{{- define "hookrelay.np.peer" -}}
- podSelector:
    matchLabels:
      {{- toYaml (index . 1) | nindent 6 }}
  {{- if index . 2 }}
  namespaceSelector:
    {{- toYaml (index . 2) | nindent 4 }}
  {{- end }}
{{- end }}
{{/* NetworkPolicy egress rules of the registry and the workers: DNS and Redis. */}}
{{- define "hookrelay.np.egressCommon" -}}
{{- $ := index . 0 }}{{- $np := $.Values.networkPolicy }}
- to:
    {{- toYaml $np.dnsPeers | nindent 4 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- if $.Values.redis.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "hookrelay.componentSelectorLabels" (list $ "redis") | nindent 10 }}
  ports:
    - protocol: TCP
      port: 6379
{{- else if $np.redisPeers }}
{{- $ports := list (int $np.redisPort) }}
{{- range $.Values.externalRedis.nodes }}
{{- $ports = append $ports (regexFind "[0-9]+$" . | int) }}
{{- end }}
{{- range $np.redisExtraPorts }}
{{- $ports = append $ports (int .) }}
{{- end }}
- to:
    {{- toYaml $np.redisPeers | nindent 4 }}
  ports:
    {{- range $ports | uniq }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
{{- end }}
{{- end }}

{{/*
Topology spread constraints of a component: (list $ component constraints). A constraint
without labelSelector gets the component's pods as its selector.
*/}}
{{- define "hookrelay.topologySpread" -}}
{{- $ctx := index . 0 -}}
{{- $component := index . 1 -}}
{{- range $c := index . 2 }}
{{- $c = deepCopy $c }}
{{- if not $c.labelSelector }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" (include "hookrelay.componentSelectorLabels" (list $ctx $component) | fromYaml)) }}
{{- end }}
- {{ toYaml $c | nindent 2 | trim }}
{{- end }}
{{- end -}}
