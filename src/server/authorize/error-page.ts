/**
 * The page shown when an authorization request cannot be sent back to its client (unknown client, unregistered
 * redirect URI). Everything in it may come from the request, so every value is escaped; Ory Hydra v0.10 had an XSS
 * through the error_hint it printed here.
 */
export function errorPage(status: number, error: string, description: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorization failed</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#eee;padding:0 .3em}</style></head>
<body>
<h1>The application's sign-in request cannot be completed</h1>
<p>${escapeHtml(description)}</p>
<p>Error <code>${escapeHtml(error)}</code> (HTTP ${status}). The application that sent you here may be misconfigured; go back to it and try again, or tell its operators.</p>
</body>
</html>
`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}
