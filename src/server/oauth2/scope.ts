/**
 * fosite's WildcardScopeStrategy, which Hydra uses: a `*` part stands for one non-empty dot-separated part, and a
 * trailing `*` also covers any deeper parts. So `hydra.*` covers `hydra.clients` and `hydra.oauth2.flush` (the root
 * client's `hydra.*` must reach every management area), but not `hydra` itself; `a.*.c` covers `a.b.c` only.
 */
export function scopeCovers(granted: readonly string[], needle: string): boolean {
  const needleParts = needle.split('.');
  return granted.some((pattern) => {
    if (pattern === needle) return true;
    const parts = pattern.split('.');
    if (parts.length > needleParts.length) return false;
    return parts.every((part, i) => {
      const last = i === parts.length - 1;
      // A last part that is not `*` cannot cover a needle with more parts.
      if (last && parts.length !== needleParts.length && part !== '*') return false;
      return part === needleParts[i] || (part === '*' && needleParts[i]!.length > 0);
    });
  });
}

export function splitScope(scope: string | undefined): string[] {
  return scope ? scope.split(' ').filter(Boolean) : [];
}
