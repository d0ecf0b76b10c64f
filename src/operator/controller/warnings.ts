import { isLoopback } from '../../contract/client.js';
import { ignoredHydraFields } from '../api/hydra-compat.js';
import type { OAuth2ClientSpec } from '../api/oauth2client.js';

/** The condition a resource carries while its spec asks for something that will not happen as written. */
export const WARNINGS_CONDITION = 'Warnings';

export interface SpecWarning {
  reason: 'FieldsIgnored' | 'InsecureRedirectUris' | 'UnusableResponseTypes';
  message: string;
}

/** As the server judges it: plain http only to a loopback host (the URL parser has normalised 127.1 and [::1]). */
function insecureRedirectUris(spec: OAuth2ClientSpec): string[] {
  return (spec.redirectUris ?? []).filter((uri) => {
    if (!/^http:/i.test(uri)) return false;
    try {
      return !isLoopback(new URL(uri).hostname);
    } catch {
      return false;
    }
  });
}

/**
 * What the spec says that will not take effect as written: hydra-maester fields the server has no meaning for, and
 * plain-http redirect URIs to other hosts than loopback, which the server refuses unless it sets
 * ALLOW_HTTP_REDIRECT_URIS (then the resource is Ready, and this says the redirect is unencrypted).
 */
export function specWarnings(spec: OAuth2ClientSpec): SpecWarning[] {
  const warnings: SpecWarning[] = [];
  const ignored = ignoredHydraFields(spec);
  if (ignored.length) {
    warnings.push({
      reason: 'FieldsIgnored',
      message: `hydra-maester field${ignored.length > 1 ? 's' : ''} ${ignored.join(', ')} ${ignored.length > 1 ? 'have' : 'has'} no effect on a Gatehouse server (docs/operator.md, "Moving from hydra-maester")`,
    });
  }
  const insecure = insecureRedirectUris(spec);
  if (insecure.length) {
    warnings.push({
      reason: 'InsecureRedirectUris',
      message: `redirect URI${insecure.length > 1 ? 's' : ''} ${insecure.join(', ')} use${insecure.length > 1 ? '' : 's'} plain http to a host other than loopback: codes and tokens would cross the network unencrypted; use https (the server refuses it unless ALLOW_HTTP_REDIRECT_URIS is set)`,
    });
  }
  const unusable = unusableResponseTypes(spec);
  if (unusable.length) {
    warnings.push({
      reason: 'UnusableResponseTypes',
      message: `response type${unusable.length > 1 ? 's' : ''} ${unusable.map((entry) => entry.responseType).join(', ')} can never be used: ${unusable.map((entry) => entry.needs).join('; ')}`,
    });
  }
  return warnings;
}

/**
 * Response types whose grant the client lacks: the server stores them, and no authorization request asking for one
 * can succeed. A warning rather than a refusal: hydra-maester accepted such manifests, and they should move over.
 */
function unusableResponseTypes(spec: OAuth2ClientSpec): { responseType: string; needs: string }[] {
  const grants = new Set(spec.grantTypes);
  return (spec.responseTypes ?? []).flatMap((responseType) => {
    const parts = responseType.split(' ');
    if (parts.includes('code') && !grants.has('authorization_code')) return [{ responseType, needs: `${responseType} needs the authorization_code grant` }];
    if (!parts.includes('code') && !grants.has('implicit')) return [{ responseType, needs: `${responseType} needs the implicit grant` }];
    return [];
  });
}
