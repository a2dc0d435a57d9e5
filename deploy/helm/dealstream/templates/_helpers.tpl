{{/* Names and labels shared by the templates. */}}
{{- define "dealstream.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dealstream.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "dealstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dealstream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dealstream.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "dealstream.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
processor.yaml: the values' config with what the pod fixes: the state dir
on the volume and the HTTP endpoint on the pod's interfaces.
*/}}
{{- define "dealstream.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $state := get $cfg "state" | default dict -}}
{{- $_ := set $state "dir" "/var/lib/dealstream/state" -}}
{{- $_ := set $cfg "state" $state -}}
{{- $http := get $cfg "http" | default dict -}}
{{- $_ := set $http "listen" (printf "0.0.0.0:%d" (int .Values.http.port)) -}}
{{- $_ := set $cfg "http" $http -}}
{{- toYaml $cfg -}}
{{- end -}}
