{{/* Names, labels and the values several templates derive. */}}

{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The base of every name: 54 characters leave room for "-operator" within the 63 of a label value. */}}
{{- define "gatehouse.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "gatehouse.operatorName" -}}
{{- printf "%s-operator" (include "gatehouse.fullname" .) }}
{{- end }}

{{/* Labels of every object; call with (dict "root" $ "component" "server"). */}}
{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: gatehouse
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "gatehouse.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret with the system secret, the cookie secret and the root client's credentials. */}}
{{- define "gatehouse.secretName" -}}
{{- default (include "gatehouse.fullname" .) .Values.server.existingSecret }}
{{- end }}

{{/* The Secret and key of the PostgreSQL DSN. */}}
{{- define "gatehouse.dsnSecretName" -}}
{{- default (include "gatehouse.fullname" .) .Values.database.existingSecret }}
{{- end }}

{{- define "gatehouse.dsnSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}DATABASE_URL{{ end }}
{{- end }}

{{/* The bundled server's Service, as pods in the cluster reach it. */}}
{{- define "gatehouse.serviceUrl" -}}
{{- printf "http://%s.%s.svc:%d" (include "gatehouse.fullname" .) .Release.Namespace (int .Values.server.service.port) }}
{{- end }}

{{- define "gatehouse.issuer" -}}
{{- if .Values.server.issuer }}
{{- .Values.server.issuer }}
{{- else if .Values.server.ingress.enabled }}
{{- printf "%s://%s" (ternary "https" "http" (ne .Values.server.ingress.tlsSecret "")) .Values.server.ingress.host }}
{{- else }}
{{- include "gatehouse.serviceUrl" . }}
{{- end }}
{{- end }}

{{/* The server the operator (and the test) talk to. */}}
{{- define "gatehouse.operatorServerUrl" -}}
{{- default (include "gatehouse.serviceUrl" .) .Values.operator.serverUrl }}
{{- end }}

{{/* The operator's management client: the root client of the bundled server unless a Secret is named. */}}
{{- define "gatehouse.credentialsEnv" -}}
{{- $secret := default (include "gatehouse.secretName" .) .Values.operator.credentials.existingSecret }}
{{- $own := ne .Values.operator.credentials.existingSecret "" }}
- name: GATEHOUSE_CLIENT_ID
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ ternary .Values.operator.credentials.clientIdKey "ROOT_CLIENT_ID" $own }}
- name: GATEHOUSE_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ ternary .Values.operator.credentials.clientSecretKey "ROOT_CLIENT_SECRET" $own }}
{{- end }}

{{- define "gatehouse.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "gatehouse.operatorName" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- required "operator.serviceAccount.name is needed when operator.serviceAccount.create is false" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gatehouse.leaseName" -}}
{{- include "gatehouse.operatorName" . }}
{{- end }}

{{/* Pod-level settings every pod shares. */}}
{{- define "gatehouse.podSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Scheduling of a component; call with its values. */}}
{{- define "gatehouse.scheduling" -}}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The read-only root filesystem leaves /tmp to a volume. */}}
{{- define "gatehouse.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}
