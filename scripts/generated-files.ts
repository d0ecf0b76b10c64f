import { crdManifests } from './crd-manifests.js';
import { openApiDocument } from '../src/openapi/document.js';

/** Path (relative to the repository root) → exact file content. */
export async function generatedFiles(): Promise<Record<string, string>> {
  return {
    'docs/openapi.json': `${JSON.stringify(openApiDocument(), null, 2)}\n`,
    ...crdManifests(),
  };
}
