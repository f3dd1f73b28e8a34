{{/* The chart name, or nameOverride. */}}
{{- define "identitygraph.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full resource name: <release>-identitygraph, or the release name when it already contains the chart name.
At most 52 characters: the StatefulSet's pods (name-N) and its controller-revision-hash label must stay within 63.
*/}}
{{- define "identitygraph.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The headless Service: stable DNS names for the pods (Akka remoting, seed nodes). */}}
{{- define "identitygraph.headless" -}}
{{- printf "%s-headless" (include "identitygraph.fullname" .) }}
{{- end }}

{{- define "identitygraph.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "identitygraph.labels" -}}
helm.sh/chart: {{ include "identitygraph.chart" . }}
{{ include "identitygraph.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "identitygraph.selectorLabels" -}}
app.kubernetes.io/name: {{ include "identitygraph.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "identitygraph.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "identitygraph.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The DNS suffix shared by every pod: <headless>.<namespace>.svc.<clusterDomain>. */}}
{{- define "identitygraph.podDomain" -}}
{{- printf "%s.%s.svc.%s" (include "identitygraph.headless" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{/* How many seed nodes: cluster.seedCount, or min(replicaCount, 3) when it is 0. */}}
{{- define "identitygraph.seedCount" -}}
{{- /* replicaCount 0 (a parked deployment) keeps pod 0 as the seed for when it is scaled up again. */}}
{{- $replicas := max (int .Values.replicaCount) 1 }}
{{- $seeds := int .Values.cluster.seedCount }}
{{- if eq $seeds 0 }}{{- $seeds = min $replicas 3 }}{{- end }}
{{- if or (lt $seeds 1) (gt $seeds $replicas) }}
{{- fail (printf "cluster.seedCount must be between 1 and replicaCount (%d): pod 0 is the first seed and forms the cluster; was %d" (int .Values.replicaCount) $seeds) }}
{{- end }}
{{- $seeds }}
{{- end }}

{{/*
Renders a value as an environment variable value: whole numbers without an exponent (values files turn 1000000
into a float, which would print as 1e+06), everything else as text.
*/}}
{{- define "identitygraph.envValue" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) }}{{ int64 . }}{{ else }}{{ toString . }}{{ end }}
{{- end }}

{{/*
Flattens the `config` value into IdentityGraph__… variables: maps nest with "__" (a key may also use ":"), lists
get their index. Called with (dict "prefix" "IdentityGraph" "value" .Values.config "out" $dict); fills $dict.
*/}}
{{- define "identitygraph.flatten" -}}
{{- $out := .out }}
{{- if kindIs "map" .value }}
{{- range $key, $value := .value }}
{{- include "identitygraph.flatten" (dict "prefix" (printf "%s__%s" $.prefix (replace ":" "__" $key)) "value" $value "out" $out) }}
{{- end }}
{{- else if kindIs "slice" .value }}
{{- range $index, $value := .value }}
{{- include "identitygraph.flatten" (dict "prefix" (printf "%s__%d" $.prefix $index) "value" $value "out" $out) }}
{{- end }}
{{- else if not (kindIs "invalid" .value) }}
{{- $_ := set $out .prefix (include "identitygraph.envValue" .value) }}
{{- end }}
{{- end }}

{{/*
Checks the Kafka security values: SASL credentials need a SASL protocol and a mechanism, TLS files an SSL one.
Without these checks librdkafka would connect in plaintext and fail authentication at run time.
*/}}
{{- define "identitygraph.validateKafka" -}}
{{- $k := .Values.kafka }}
{{- $protocol := upper $k.securityProtocol }}
{{- $known := list "" "PLAINTEXT" "SSL" "SASL_PLAINTEXT" "SASL_SSL" }}
{{- if not (has $protocol $known) }}
{{- fail (printf "kafka.securityProtocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (was %q)" $k.securityProtocol) }}
{{- end }}
{{- if $k.sasl.secretName }}
{{- if not (hasPrefix "SASL_" $protocol) }}
{{- fail "kafka.sasl.secretName is set: kafka.securityProtocol must be SASL_SSL or SASL_PLAINTEXT" }}
{{- end }}
{{- if not $k.saslMechanism }}
{{- fail "kafka.sasl.secretName is set: kafka.saslMechanism is required (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)" }}
{{- end }}
{{- end }}
{{- if and $k.tls.secretName (not (has $protocol (list "SSL" "SASL_SSL"))) }}
{{- fail "kafka.tls.secretName is set: kafka.securityProtocol must be SSL or SASL_SSL" }}
{{- end }}
{{- if and $k.tls.secretName (ne (empty $k.tls.certificateKey) (empty $k.tls.keyKey)) }}
{{- fail "kafka.tls: certificateKey and keyKey go together (mutual TLS needs both the client certificate and its key)" }}
{{- end }}
{{- end }}

{{/*
The non-secret settings of the ConfigMap, as a dict of environment variable name to value. The chart's wiring
first, then `config` on top.
*/}}
{{- define "identitygraph.settings" -}}
{{- include "identitygraph.validateKafka" . }}
{{- $env := dict }}
{{- $_ := set $env "IdentityGraph__Http__Url" (printf "http://0.0.0.0:%d" (int .Values.ports.http)) }}
{{- $_ = set $env "IdentityGraph__Http__GrpcUrl" (printf "http://0.0.0.0:%d" (int .Values.ports.grpc)) }}
{{- $_ = set $env "IdentityGraph__Cluster__Hostname" "0.0.0.0" }}
{{- $_ = set $env "IdentityGraph__Cluster__Port" (toString (int .Values.ports.remoting)) }}
{{- $_ = set $env "IdentityGraph__Cluster__ShardCount" (toString (int .Values.cluster.shardCount)) }}
{{- $pg := .Values.persistence }}
{{- $available := sub (int $pg.serverMaxConnections) (int $pg.reservedConnections) }}
{{- $pool := int $pg.maxPoolSize }}
{{- if eq $pool 0 }}
{{- $pool = min 20 (div $available (max 1 (int .Values.replicaCount))) }}
{{- end }}
{{- if or (lt $pool 2) (gt (mul (int .Values.replicaCount) $pool) $available) }}
{{- fail (printf "replicaCount (%d) x PostgreSQL pool per pod (%d) exceeds persistence.serverMaxConnections (%d) - persistence.reservedConnections (%d): the nodes could take every PostgreSQL connection" (int .Values.replicaCount) $pool (int $pg.serverMaxConnections) (int $pg.reservedConnections)) }}
{{- end }}
{{- $_ = set $env "IdentityGraph__Journal__MaxPoolSize" (toString $pool) }}
{{- $_ = set $env "IdentityGraph__Journal__MaxConcurrentRecoveries" (toString (int $pg.maxConcurrentRecoveries)) }}
{{- $fullname := include "identitygraph.fullname" . }}
{{- $domain := include "identitygraph.podDomain" . }}
{{- range $i := until (int (include "identitygraph.seedCount" .)) }}
{{- $_ = set $env (printf "IdentityGraph__Cluster__SeedNodes__%d" $i) (printf "akka.tcp://identitygraph@%s-%d.%s:%d" $fullname $i $domain (int $.Values.ports.remoting)) }}
{{- end }}
{{- $_ = set $env "IdentityGraph__Kafka__BootstrapServers" (required "kafka.bootstrapServers is required (host:port of the Kafka brokers)" .Values.kafka.bootstrapServers) }}
{{- with .Values.kafka.securityProtocol }}
{{- $_ = set $env "IdentityGraph__Kafka__Client__security.protocol" (upper .) }}
{{- end }}
{{- with .Values.kafka.saslMechanism }}
{{- $_ = set $env "IdentityGraph__Kafka__Client__sasl.mechanism" . }}
{{- end }}
{{- with .Values.kafka.tls }}
{{- if .secretName }}
{{- if .caKey }}
{{- $_ = set $env "IdentityGraph__Kafka__Client__ssl.ca.location" (printf "%s/%s" .mountPath .caKey) }}
{{- end }}
{{- if .certificateKey }}
{{- $_ = set $env "IdentityGraph__Kafka__Client__ssl.certificate.location" (printf "%s/%s" .mountPath .certificateKey) }}
{{- $_ = set $env "IdentityGraph__Kafka__Client__ssl.key.location" (printf "%s/%s" .mountPath .keyKey) }}
{{- end }}
{{- end }}
{{- end }}
{{- include "identitygraph.flatten" (dict "prefix" "IdentityGraph" "value" .Values.config "out" $env) }}
{{- toYaml $env }}
{{- end }}

{{/* A secretKeyRef env var. Called with (list NAME SECRET KEY). */}}
{{- define "identitygraph.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 }}
      key: {{ index . 2 }}
{{- end }}

{{/*
The container's env: the pod name (for the public host name), then every setting that comes from a Secret.
Order matters: $(VAR) only sees variables declared before it.
*/}}
{{- define "identitygraph.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: IdentityGraph__Cluster__PublicHostname
  value: "$(POD_NAME).{{ include "identitygraph.podDomain" . }}"
# Kafka static membership: a restarted pod takes its partitions back under its stable name.
- name: IdentityGraph__Kafka__Ingestion__InstanceId
  value: "$(POD_NAME)"
{{ include "identitygraph.secretEnv" (list "IdentityGraph__Identity__KeySecret" (required "identity.keySecret.secretName is required: the name of an existing Secret with the identifier HMAC secret (kubectl create secret generic ... --from-literal=key-secret=...)" .Values.identity.keySecret.secretName) .Values.identity.keySecret.secretKey) }}
{{ include "identitygraph.secretEnv" (list "IdentityGraph__Api__Key" (required "api.key.secretName is required (the listeners bind beyond loopback): the name of an existing Secret with the API key" .Values.api.key.secretName) .Values.api.key.secretKey) }}
{{- $p := .Values.persistence }}
{{- if and $p.spec.secretName $p.postgres.host }}
{{- fail "persistence: set either persistence.spec.secretName (the whole specification) or persistence.postgres.host, not both" }}
{{- else if $p.spec.secretName }}
{{ include "identitygraph.secretEnv" (list "IdentityGraph__Persistence" $p.spec.secretName $p.spec.secretKey) }}
{{- else if $p.postgres.host }}
{{ include "identitygraph.secretEnv" (list "PG_PASSWORD" (required "persistence.postgres.password.secretName is required with persistence.postgres.host" $p.postgres.password.secretName) $p.postgres.password.secretKey) }}
- name: IdentityGraph__Persistence
  value: {{ printf "postgres:Host=%s;Port=%d;Database=%s;Username=%s;Password=$(PG_PASSWORD)%s" $p.postgres.host (int $p.postgres.port) $p.postgres.database $p.postgres.username (ternary (printf ";%s" (trimPrefix ";" $p.postgres.options)) "" (ne $p.postgres.options "")) | quote }}
{{- else }}
{{- fail "persistence is required: set persistence.spec.secretName (a Secret with the whole postgres:... specification) or persistence.postgres.host with persistence.postgres.password.secretName; all nodes share one PostgreSQL journal" }}
{{- end }}
{{- with .Values.kafka.sasl }}
{{- if .secretName }}
{{ include "identitygraph.secretEnv" (list "IdentityGraph__Kafka__Client__sasl.username" .secretName .usernameKey) }}
{{ include "identitygraph.secretEnv" (list "IdentityGraph__Kafka__Client__sasl.password" .secretName .passwordKey) }}
{{- end }}
{{- end }}
{{- with .Values.kafka.tls }}
{{- if and .secretName .keyPasswordKey }}
{{ include "identitygraph.secretEnv" (list "IdentityGraph__Kafka__Client__ssl.key.password" .secretName .keyPasswordKey) }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
