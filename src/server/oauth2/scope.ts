/**
 * fosite's wildcard scope strategy, which Hydra uses: `*` stands for exactly one non-empty dot-separated part, so
 * `hydra.*` covers `hydra.clients` but neither `hydra` nor `hydra.clients.read`.
 */
export function scopeCovers(granted: readonly string[], needle: string): boolean {
  const needleParts = needle.split('.');
  return granted.some((pattern) => {
    if (pattern === needle) return true;
    const parts = pattern.split('.');
    if (parts.length !== needleParts.length) return false;
    return parts.every((part, i) => part === needleParts[i] || (part === '*' && needleParts[i]!.length > 0));
  });
}

export function splitScope(scope: string | undefined): string[] {
  return scope ? scope.split(' ').filter(Boolean) : [];
}
