{{/* Generated from src/operator/rbac.ts by `npm run generate`; do not edit. */}}

{{- define "gatehouse.operator.watchedNamespaceRules" -}}
- apiGroups:
    - gatehouse.dev
  resources:
    - oauth2clients
    - keypolicies
  verbs:
    - list
    - watch
- apiGroups:
    - gatehouse.dev
  resources:
    - oauth2clients
  verbs:
    - patch
- apiGroups:
    - gatehouse.dev
  resources:
    - oauth2clients/status
    - keypolicies/status
  verbs:
    - patch
- apiGroups:
    - gatehouse.dev
  resources:
    - oauth2clients/finalizers
  verbs:
    - update
- apiGroups:
    - ""
  resources:
    - secrets
  verbs:
    - get
    - list
    - watch
    - create
    - update
    - delete
- apiGroups:
    - ""
  resources:
    - events
  verbs:
    - create
    - patch
{{- end }}

{{- define "gatehouse.operator.leaseRules" -}}
- apiGroups:
    - coordination.k8s.io
  resources:
    - leases
  verbs:
    - create
- apiGroups:
    - coordination.k8s.io
  resources:
    - leases
  verbs:
    - get
    - update
  resourceNames:
    - {{ include "gatehouse.leaseName" . }}
{{- end }}
