{{/* Name prefix of every object: the release name, unless it already says flowship. */}}
{{- define "flowship.fullname" -}}
{{- if contains "flowship" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-flowship" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; pass (dict "root" $ "component" "collector"). */}}
{{- define "flowship.labels" -}}
app.kubernetes.io/name: flowship
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels: stable across upgrades. */}}
{{- define "flowship.selector" -}}
app.kubernetes.io/name: flowship
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "flowship.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Container securityContext shared by every flowship container. */}}
{{- define "flowship.containerSecurity" -}}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Pod securityContext of the unprivileged components (indexer, setup). */}}
{{- define "flowship.podSecurityNonRoot" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "flowship.telemetry" -}}
{{- dict "listen" (printf ":%v" .Values.telemetry.port) "log_level" .Values.telemetry.logLevel "log_format" .Values.telemetry.logFormat | toYaml -}}
{{- end -}}

{{/*
The kafka section of a config file for one role ("collector" or "indexer"):
connection, TLS, SASL (password from a mounted Secret file) and topics.
*/}}
{{- define "flowship.kafkaConfig" -}}
{{- $k := .root.Values.kafka -}}
{{- if not $k.brokers }}{{ fail "kafka.brokers: list the bootstrap brokers as host:port" }}{{ end -}}
{{- $t := $k.topics -}}
{{- $out := dict "brokers" $k.brokers "topics" (dict "flows" $t.flows "l7" $t.l7 "dns" $t.dns "dead_letter" $t.deadLetter) -}}
{{- if $k.tls.enabled -}}
{{- $tls := dict "enabled" true -}}
{{- if $k.tls.secretName }}{{ $_ := set $tls "ca_file" "/etc/flowship/kafka-tls/ca.crt" }}{{ end -}}
{{- if $k.tls.clientCert -}}
{{- if not $k.tls.secretName }}{{ fail "kafka.tls.clientCert needs kafka.tls.secretName (tls.crt, tls.key)" }}{{ end -}}
{{- $_ := set $tls "cert_file" "/etc/flowship/kafka-tls/tls.crt" -}}
{{- $_ := set $tls "key_file" "/etc/flowship/kafka-tls/tls.key" -}}
{{- end -}}
{{- if $k.tls.serverName }}{{ $_ := set $tls "server_name" $k.tls.serverName }}{{ end -}}
{{- $_ := set $out "tls" $tls -}}
{{- end -}}
{{- if $k.sasl.mechanism -}}
{{- $role := index $k.sasl .role -}}
{{- if not $role.secretName }}{{ fail (printf "kafka.sasl.%s.secretName: name the Secret holding the key \"password\"" .role) }}{{ end -}}
{{- $_ := set $out "sasl" (dict "mechanism" $k.sasl.mechanism "username" $role.username "password_file" "/etc/flowship/kafka-sasl/password") -}}
{{- end -}}
{{- if eq .role "collector" -}}
{{- $_ := set $out "compression" $k.compression -}}
{{- $_ := set $out "dead_letter_log" (printf "%s/kafka-dead-letter.jsonl" .root.Values.collector.stateDir) -}}
{{- with .root.Values.collector.kafkaMaxInflightBatches }}{{ $_ := set $out "max_inflight_batches" (int .) }}{{ end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* One input of the collector config. */}}
{{- define "flowship.input" -}}
{{- $c := .root.Values.collector -}}
{{- $in := index $c.inputs .kind -}}
{{- $dir := dict "flows" "flowlogs" "l7" "l7logs" "dns" "dnslogs" -}}
{{- $file := dict "flows" "flows" "l7" "l7" "dns" "dns" -}}
{{- $base := printf "%s/%s/%s" $c.logDir (index $dir .kind) (index $file .kind) -}}
{{- dict "enabled" $in.enabled "paths" (list (printf "%s.log" $base) (printf "%s-*.log" $base)) "start_at" $c.inputs.startAt "positions_file" (printf "%s/%s.positions.json" $c.stateDir .kind) | toYaml -}}
{{- end -}}

{{/* The complete collector config file. */}}
{{- define "flowship.collectorConfig" -}}
{{- $c := .Values.collector -}}
{{- $inputs := dict -}}
{{- range $kind := list "flows" "l7" "dns" -}}
{{- $_ := set $inputs $kind (include "flowship.input" (dict "root" $ "kind" $kind) | fromYaml) -}}
{{- end -}}
{{- $agg := dict "levels" (dict "allowed" (int $c.aggregation.levels.allowed) "denied" (int $c.aggregation.levels.denied)) "window" $c.aggregation.window "filters" ($c.aggregation.filters | default list) "max_open_keys" (int $c.aggregation.maxOpenKeys) "allowed_lateness" $c.aggregation.allowedLateness -}}
{{- $cfg := dict "cluster" .Values.cluster "telemetry" (include "flowship.telemetry" . | fromYaml) "inputs" $inputs "aggregation" $agg "kafka" (include "flowship.kafkaConfig" (dict "root" $ "role" "collector") | fromYaml) -}}
{{- toYaml (mustMergeOverwrite $cfg (deepCopy $c.extraConfig)) -}}
{{- end -}}

{{/* index.elasticsearch of a config file: the indexer's, setup's and the ui's. */}}
{{- define "flowship.esConfig" -}}
{{- $v := .Values -}}
{{- if not $v.elasticsearch.urls }}{{ fail "elasticsearch.urls: list the Elasticsearch HTTP endpoints" }}{{ end -}}
{{- $es := dict "urls" $v.elasticsearch.urls "naming" (dict "mode" $v.elasticsearch.naming.mode "prefix" $v.elasticsearch.naming.prefix) -}}
{{- if $v.elasticsearch.auth.secretName -}}
{{- $_ := set $es "username" $v.elasticsearch.username -}}
{{- $_ := set $es "password_file" "/etc/flowship/es/password" -}}
{{- end -}}
{{- if $v.elasticsearch.tls.caSecretName }}{{ $_ := set $es "tls" (dict "ca_file" "/etc/flowship/es-tls/ca.crt") }}{{ end -}}
{{- toYaml $es -}}
{{- end -}}

{{/* The config file of the indexer and the setup Job. */}}
{{- define "flowship.clusterConfig" -}}
{{- $v := .Values -}}
{{- $es := include "flowship.esConfig" . | fromYaml -}}
{{- $ts := $v.kafka.topicSetup -}}
{{- $d := $v.retention.days -}}
{{- $ret := dict "mode" $v.retention.mode "replicas" (int $v.retention.replicas) "kinds" (dict "flows" (dict "retention_days" (int $d.flows)) "l7" (dict "retention_days" (int $d.l7)) "dns" (dict "retention_days" (int $d.dns))) -}}
{{- $cfg := dict "cluster" $v.cluster "node" "indexer" "telemetry" (include "flowship.telemetry" . | fromYaml) "kafka" (include "flowship.kafkaConfig" (dict "root" $ "role" "indexer") | fromYaml) "topic_setup" (dict "partitions" (int $ts.partitions) "replication_factor" (int $ts.replicationFactor) "retention" $ts.retention) "index" (dict "elasticsearch" $es) "retention" $ret -}}
{{- with $v.setup.kibana -}}
{{- if .url -}}
{{- $kb := dict "url" .url -}}
{{- if .space }}{{ $_ := set $kb "space" .space }}{{ end -}}
{{- if .secretName -}}
{{- $_ := set $kb "username" .username -}}
{{- $_ := set $kb "password_file" "/etc/flowship/kibana/password" -}}
{{- end -}}
{{- $_ := set $cfg "kibana" $kb -}}
{{- end -}}
{{- end -}}
{{- toYaml (mustMergeOverwrite $cfg (deepCopy $v.indexer.extraConfig)) -}}
{{- end -}}

{{/* Secret volumes for Kafka; pass (dict "root" $ "role" "collector"). */}}
{{- define "flowship.kafkaVolumes" -}}
{{- $k := .root.Values.kafka -}}
{{- if and $k.tls.enabled $k.tls.secretName }}
- name: kafka-tls
  secret:
    secretName: {{ $k.tls.secretName }}
    defaultMode: 0440
{{- end }}
{{- if $k.sasl.mechanism }}
- name: kafka-sasl
  secret:
    secretName: {{ (index $k.sasl .role).secretName }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "flowship.kafkaMounts" -}}
{{- $k := .Values.kafka -}}
{{- if and $k.tls.enabled $k.tls.secretName }}
- name: kafka-tls
  mountPath: /etc/flowship/kafka-tls
  readOnly: true
{{- end }}
{{- if $k.sasl.mechanism }}
- name: kafka-sasl
  mountPath: /etc/flowship/kafka-sasl
  readOnly: true
{{- end }}
{{- end -}}

{{- define "flowship.esVolumes" -}}
{{- $e := .Values.elasticsearch -}}
{{- if $e.auth.secretName }}
- name: es-credentials
  secret:
    secretName: {{ $e.auth.secretName }}
    defaultMode: 0440
{{- end }}
{{- if $e.tls.caSecretName }}
- name: es-tls
  secret:
    secretName: {{ $e.tls.caSecretName }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "flowship.esMounts" -}}
{{- $e := .Values.elasticsearch -}}
{{- if $e.auth.secretName }}
- name: es-credentials
  mountPath: /etc/flowship/es
  readOnly: true
{{- end }}
{{- if $e.tls.caSecretName }}
- name: es-tls
  mountPath: /etc/flowship/es-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "flowship.probes" -}}
readinessProbe:
  httpGet:
    path: /readyz
    port: metrics
  periodSeconds: 10
  failureThreshold: 3
livenessProbe:
  httpGet:
    path: /healthz
    port: metrics
  initialDelaySeconds: 10
  periodSeconds: 10
  failureThreshold: 6
{{- end -}}

{{- define "flowship.scrapeAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.telemetry.port | quote }}
prometheus.io/path: /metrics
{{- end -}}
