// charts/gatehouse/values.schema.json, values.yaml and the values reference of docs/helm.md, all from valuesSchema.
import { z } from 'zod';
import { Document, isMap, isScalar, type YAMLMap } from 'yaml';
import { defaultValues, valuesSchema } from '../src/deploy/values.js';

interface JsonSchema {
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  [keyword: string]: unknown;
}

/**
 * Draft-07, which every helm 3 and 4 validates; in the input view, so that a value left out is not an error (helm
 * merges values.yaml in before it validates anyway).
 */
export function valuesJsonSchema(): JsonSchema {
  return z.toJSONSchema(valuesSchema, {
    io: 'input',
    target: 'draft-7',
    override: ({ jsonSchema }) => {
      // zod bounds every integer by the safe range; helm's messages read better without bounds nobody chose.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
      // JavaScript's RegExp source escapes "/"; the patterns read as written without it, and mean the same.
      if (typeof jsonSchema.pattern === 'string') jsonSchema.pattern = jsonSchema.pattern.replaceAll('\\/', '/');
    },
  }) as JsonSchema;
}

/** values.yaml: the defaults, each key preceded by its description. */
export function valuesYaml(): string {
  const schema = valuesJsonSchema();
  const document = new Document(defaultValues());
  const describe = (map: YAMLMap, properties: Record<string, JsonSchema>, top: boolean) => {
    for (const pair of map.items) {
      if (!isScalar(pair.key)) continue;
      const property = properties[String(pair.key.value)];
      if (!property) continue;
      const text = [property.description, property.enum && `One of: ${property.enum.join(', ')}.`].filter(Boolean).join(' ');
      if (text) pair.key.commentBefore = ` ${text}`;
      if (top) pair.key.spaceBefore = true;
      if (isMap(pair.value) && property.properties) describe(pair.value, property.properties, false);
    }
  };
  describe(document.contents as YAMLMap, schema.properties!, true);
  const header = [
    '# Values of the Gatehouse chart. Generated from src/deploy/values.ts by `npm run generate`; do not edit.',
    '# values.schema.json checks them at install; docs/helm.md explains each of them and the choices behind the chart.',
  ].join('\n');
  return `${header}\n${document.toString({ lineWidth: 0 })}`;
}

/** One row per leaf value: its dotted path, default and description. */
export function valuesReference(): string {
  const rows: string[] = ['| value | default | description |', '|---|---|---|'];
  const walk = (properties: Record<string, JsonSchema>, prefix: string) => {
    for (const [key, property] of Object.entries(properties)) {
      const path = `${prefix}${key}`;
      const enumeration = property.enum && `One of ${property.enum.map((item) => `\`${String(item)}\``).join(', ')}.`;
      const text = [property.description, enumeration].filter(Boolean).join(' ');
      if (property.properties) {
        if (text) rows.push(`| \`${path}\` | | ${escape(text)} |`);
        walk(property.properties, `${path}.`);
      } else {
        const fallback = property.default === undefined ? '' : `\`${JSON.stringify(property.default)}\``;
        rows.push(`| \`${path}\` | ${escape(fallback)} | ${escape(text)} |`);
      }
    }
  };
  walk(valuesJsonSchema().properties!, '');
  return rows.join('\n');
}

function escape(cell: string): string {
  return cell.replace(/\|/g, '\\|');
}
