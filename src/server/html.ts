import type { FastifyReply } from 'fastify';

/**
 * The server's few HTML pages (the authorization endpoint's error page, the development sign-in): everything in them
 * may come from a request, so every value is escaped, and the headers forbid scripts, framing and sniffing.
 */
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

const HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** A whole page; `title` is escaped here, `body` must already be HTML built from escaped values. */
export function sendPage(reply: FastifyReply, status: number, title: string, body: string) {
  return reply.code(status).headers(HEADERS).send(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#eee;padding:0 .3em}.dev{background:#b00020;color:#fff;padding:.5rem 1rem;font-weight:bold}</style></head>
<body>
${body}
</body>
</html>
`);
}
