{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "mach-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped name of every object. */}}
{{- define "mach-operator.fullname" -}}
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

{{- define "mach-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "mach-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mach-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mach-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mach-operator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The Secret holding the BLS key file and its password. */}}
{{- define "mach-operator.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-keys" (include "mach-operator.fullname" .)) }}
{{- end }}

{{/* Where a verifier sends alerts: the proxy in the same pod, else the node. */}}
{{- define "mach-operator.alertUrl" -}}
{{- if .root.Values.proxy.enabled -}}
http://127.0.0.1:8902/{{ .verifier.name }}
{{- else -}}
http://127.0.0.1:8901/{{ .verifier.name }}
{{- end }}
{{- end }}

{{/*
Whether the pod mounts the keys Secret: the BLS key file (blsSigner.type=keystore), or the CA of
a Cerberus signer's TLS certificate when one is given (secrets.cerberusCaPem, or an existingSecret,
which must then hold cerberus_ca.pem). Non-empty means yes.
*/}}
{{- define "mach-operator.keysVolume" -}}
{{- if ne .Values.blsSigner.type "cerberus" -}}
keystore
{{- else if or .Values.secrets.cerberusCaPem .Values.secrets.existingSecret -}}
cerberus-ca
{{- end -}}
{{- end }}
