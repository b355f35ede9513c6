{{/* Names and labels. */}}
{{- define "curt.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "curt.fullname" -}}
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

{{/* Selector labels of one component: dict "ctx" $ "component" "kgs". */}}
{{- define "curt.selectorLabels" -}}
app.kubernetes.io/name: {{ include "curt.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "curt.labels" -}}
{{ include "curt.selectorLabels" . }}
app.kubernetes.io/part-of: curt
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version }}
{{- end -}}

{{- define "curt.image" -}}
{{- printf "%s:%s" .Values.image.repository (toString (default .Chart.AppVersion .Values.image.tag)) -}}
{{- end -}}

{{- define "curt.kgsImage" -}}
{{- printf "%s:%s" .Values.image.repository (toString (default (default .Chart.AppVersion .Values.image.tag) .Values.kgs.imageTag)) -}}
{{- end -}}

{{- define "curt.secretName" -}}
{{- default (include "curt.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/*
The Secret holding the connection URLs given as values (external.url, readReplica.url): the chart's
Secret, or, when the operator manages that one (secrets.existingSecret), a Secret of the chart's
own beside it, so that a URL given as a value is never dropped (secret.yaml).
*/}}
{{- define "curt.urlSecretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- printf "%s-urls" (include "curt.fullname" .) -}}
{{- else -}}
{{- include "curt.fullname" . -}}
{{- end -}}
{{- end -}}

{{/*
A generated secret value: the given one, else the one already in the release's Secret (so upgrades
keep it), else a new random one. `helm template` cannot read the cluster: it always generates, which
is why the plain manifests take their Secret from kustomize instead (docs/deploy.md).
dict "ctx" $ "key" "KGS_TOKEN" "given" .Values.secrets.kgsToken "length" 48
*/}}
{{- define "curt.secretValue" -}}
{{- if .given -}}
{{- .given -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace (include "curt.fullname" .ctx) | default dict -}}
{{- $old := dig "data" .key "" $existing -}}
{{- if $old -}}{{- $old | b64dec -}}{{- else -}}{{- randAlphaNum .length -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/* Fails early on values that would give pods that crash or lose work. */}}
{{- define "curt.validate" -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.postgresql.external.url) (not .Values.postgresql.external.existingSecret) (not .Values.secrets.existingSecret) -}}
{{- fail "postgresql.enabled=false needs postgresql.external.url or postgresql.external.existingSecret" -}}
{{- end -}}
{{- if and (not .Values.redisKeyPool.enabled) (not .Values.redisKeyPool.external.url) (not .Values.redisKeyPool.external.existingSecret) (not .Values.secrets.existingSecret) -}}
{{- fail "redisKeyPool.enabled=false needs redisKeyPool.external.url or redisKeyPool.external.existingSecret" -}}
{{- end -}}
{{- if and (not .Values.redisCache.enabled) (not .Values.redisCache.external.url) (not .Values.redisCache.external.existingSecret) (not .Values.secrets.existingSecret) -}}
{{- fail "redisCache.enabled=false needs redisCache.external.url or redisCache.external.existingSecret" -}}
{{- end -}}
{{- $s := .Values.shutdown -}}
{{- if le (int $s.terminationGracePeriodSeconds) (add (int $s.preStopSeconds) (int $s.timeoutSeconds)) -}}
{{- fail "shutdown.terminationGracePeriodSeconds must exceed shutdown.preStopSeconds + shutdown.timeoutSeconds, or pods are killed while draining" -}}
{{- end -}}
{{- if or (has (lower (toString .Values.urlService.trustProxy)) (list "true" "yes" "on")) (regexMatch "/0+(,|$)" (toString .Values.urlService.trustProxy)) -}}
{{- fail "urlService.trustProxy=true would trust any sender's X-Forwarded-For, as would a /0 range (the URL service refuses both at start): give the number of proxies in front (\"1\") or their addresses/CIDRs" -}}
{{- end -}}
{{- if ge (int $s.drainSeconds) (int $s.timeoutSeconds) -}}
{{- fail "shutdown.drainSeconds must be less than shutdown.timeoutSeconds (half of it or less is best), or the processes refuse to start (SHUTDOWN_DRAIN_MS < SHUTDOWN_TIMEOUT_MS)" -}}
{{- end -}}
{{- end -}}

{{/*
Env entries for one connection URL: the in-chart server (password from the Secret, spliced in by
Kubernetes' $(VAR) expansion) or an external URL from a Secret.
dict "ctx" $ "var" "DATABASE_URL" "enabled" bool "passwordEnv" "POSTGRES_PASSWORD" "passwordKey" "postgresql-password"
     "url" "postgres://..." "external" .Values.postgresql.external "chartKey" "DATABASE_URL"
*/}}
{{- define "curt.urlEnv" -}}
{{- if .enabled }}
- name: {{ .passwordEnv }}
  valueFrom:
    secretKeyRef:
      name: {{ include "curt.secretName" .ctx }}
      key: {{ .passwordKey }}
- name: {{ .var }}
  value: {{ .url | quote }}
{{- else }}
- name: {{ .var }}
  valueFrom:
    secretKeyRef:
      {{- if .external.existingSecret }}
      name: {{ .external.existingSecret }}
      key: {{ .external.existingSecretKey }}
      {{- else if .external.url }}
      name: {{ include "curt.urlSecretName" .ctx }}
      key: {{ .chartKey }}
      {{- else }}
      name: {{ include "curt.secretName" .ctx }}
      key: {{ .chartKey }}
      {{- end }}
{{- end }}
{{- end -}}

{{- define "curt.databaseEnv" -}}
{{- $pg := .Values.postgresql -}}
{{- include "curt.urlEnv" (dict "ctx" . "var" "DATABASE_URL" "enabled" $pg.enabled "passwordEnv" "POSTGRES_PASSWORD" "passwordKey" "postgresql-password" "url" (printf "postgres://%s:$(POSTGRES_PASSWORD)@%s-postgresql:5432/%s" $pg.username (include "curt.fullname" .) $pg.database) "external" $pg.external "chartKey" "DATABASE_URL") | trim -}}
{{- end -}}

{{/* DATABASE_READ_URL from a Secret when a replica is given; set empty (none) otherwise. */}}
{{- define "curt.databaseReadEnv" -}}
{{- $replica := .Values.postgresql.readReplica -}}
- name: DATABASE_READ_URL
{{- if or $replica.url $replica.existingSecret }}
  valueFrom:
    secretKeyRef:
      {{- if $replica.existingSecret }}
      name: {{ $replica.existingSecret }}
      key: {{ $replica.existingSecretKey }}
      {{- else }}
      name: {{ include "curt.urlSecretName" . }}
      key: DATABASE_READ_URL
      {{- end }}
{{- else }}
  value: ""
{{- end }}
{{- end -}}

{{- define "curt.keyPoolRedisEnv" -}}
{{- include "curt.urlEnv" (dict "ctx" . "var" "REDIS_URL" "enabled" .Values.redisKeyPool.enabled "passwordEnv" "REDIS_PASSWORD" "passwordKey" "redis-keypool-password" "url" (printf "redis://:$(REDIS_PASSWORD)@%s-redis-keypool:6379" (include "curt.fullname" .)) "external" .Values.redisKeyPool.external "chartKey" "REDIS_KEYPOOL_URL") | trim -}}
{{- end -}}

{{- define "curt.cacheRedisEnv" -}}
{{- include "curt.urlEnv" (dict "ctx" . "var" "REDIS_URL" "enabled" .Values.redisCache.enabled "passwordEnv" "REDIS_PASSWORD" "passwordKey" "redis-cache-password" "url" (printf "redis://:$(REDIS_PASSWORD)@%s-redis-cache:6379" (include "curt.fullname" .)) "external" .Values.redisCache.external "chartKey" "REDIS_CACHE_URL") | trim -}}
{{- end -}}

{{- define "curt.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "curt.secretName" .ctx }}
      key: {{ .name }}
{{- end -}}

{{/* The pod-level settings every Curt pod shares. */}}
{{- define "curt.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ .Values.shutdown.terminationGracePeriodSeconds }}
{{- end -}}

{{/* Security context of a data store: its image's own non-root user. */}}
{{- define "curt.storeSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsUser }}
fsGroup: {{ .runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}
