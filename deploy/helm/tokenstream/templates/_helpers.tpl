{{/* Names and labels shared by every template. */}}
{{- define "tokenstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tokenstream.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tokenstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokenstream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tokenstream.labels" -}}
{{ include "tokenstream.selectorLabels" . }}
{{ include "tokenstream.commonLabels" . }}
{{- end }}

{{/* Labels that do not say which app this is: the sidecar's Deployment is the gateway's, named after it. */}}
{{- define "tokenstream.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "tokenstream.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tokenstream.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* No registry publishes the image: the user builds it and names where it was pushed. */}}
{{- define "tokenstream.image" -}}
{{- if not .Values.image.repository }}
{{- fail (printf "image.repository is empty: build the image and push it to a registry your cluster pulls from, e.g. docker build -t registry.example.com/tokenstream:%s . && docker push registry.example.com/tokenstream:%s (podman works the same; see the README's Container section), then --set image.repository=registry.example.com/tokenstream" .Chart.AppVersion .Chart.AppVersion) }}
{{- end }}
{{- .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* A checksum of the pipeline, so pods restart when it changes. */}}
{{- define "tokenstream.configChecksum" -}}
{{ include "tokenstream.config" . | sha256sum }}
{{- end }}
