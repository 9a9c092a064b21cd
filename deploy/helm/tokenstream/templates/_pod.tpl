{{/* The tokenstream container, shared by every mode (in sidecar mode it sits in the gateway's pod). */}}
{{- define "tokenstream.container" -}}
name: tokenstream
image: {{ include "tokenstream.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args:
  - run
  - --config
  - /etc/tokenstream/config.yaml
  {{- range .Values.extraArgs }}
  - {{ . | quote }}
  {{- end }}
ports:
  - {name: otlp-grpc, containerPort: 4317, protocol: TCP}
  - {name: otlp-http, containerPort: 4318, protocol: TCP}
  - {name: metrics, containerPort: 9464, protocol: TCP}
  - {name: health, containerPort: 13133, protocol: TCP}
env:
  - name: POD_NAME
    valueFrom: {fieldRef: {fieldPath: metadata.name}}
  {{- with .Values.kafka.auth }}
  {{- if .existingSecret }}
  - name: KAFKA_SASL_USERNAME
    valueFrom: {secretKeyRef: {name: {{ .existingSecret }}, key: {{ .usernameKey }}}}
  - name: KAFKA_SASL_PASSWORD
    valueFrom: {secretKeyRef: {name: {{ .existingSecret }}, key: {{ .passwordKey }}}}
  {{- end }}
  {{- end }}
  {{- with .Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
livenessProbe:
  httpGet: {path: /, port: health}
  {{- toYaml .Values.livenessProbe | nindent 2 }}
readinessProbe:
  httpGet: {path: /, port: health}
  {{- toYaml .Values.readinessProbe | nindent 2 }}
resources:
  {{- toYaml .Values.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - {name: config, mountPath: /etc/tokenstream, readOnly: true}
  {{- /* The root filesystem is read-only: Python and the client libraries get a scratch /tmp. */}}
  - {name: tmp, mountPath: /tmp}
  {{- if and .Values.persistence.enabled (eq .Values.mode "statefulset") }}
  - {name: queue, mountPath: {{ .Values.persistence.mountPath }}}
  {{- end }}
  {{- with .Values.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* Volumes of the pod that holds tokenstream. */}}
{{- define "tokenstream.volumes" -}}
- name: config
  configMap: {name: {{ include "tokenstream.fullname" . }}}
- name: tmp
  emptyDir: {sizeLimit: 64Mi}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Scheduling and identity fields of the pod spec, shared by every mode. */}}
{{- define "tokenstream.podSettings" -}}
serviceAccountName: {{ include "tokenstream.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
{{- /* In sidecar mode the pod is the gateway's: its pod securityContext is the gateway's to choose. */}}
{{- with ternary .Values.sidecar.app.podSecurityContext .Values.podSecurityContext (eq .Values.mode "sidecar") }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "tokenstream.podAnnotations" -}}
checksum/config: {{ include "tokenstream.configChecksum" . }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
