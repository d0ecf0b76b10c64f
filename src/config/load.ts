import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { configKeys, configSchema, type Config } from './schema.js';

// Loaded only when a file is given: most starts configure through the environment, and the parser is a few hundred
// kilobytes of code that would stay in the server's memory for nothing.
function parseYaml(text: string): unknown {
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return parse(text);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the optional YAML file, overlays the environment and validates; every problem names its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, file?: string): Config {
  const fromFile = file ? readConfigFile(file) : {};
  const merged: Record<string, unknown> = { ...fromFile };
  for (const key of configKeys) {
    const value = env[key];
    if (value !== undefined && value !== '') merged[key] = key === 'POLICIES' ? parseJsonVariable(key, value) : value;
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.join('.') || '(root)';
      const source = typeof issue.path[0] === 'string' && env[issue.path[0]] !== undefined ? 'environment variable' : 'setting';
      return issue.code === 'unrecognized_keys'
        ? `unknown setting(s) ${issue.keys.join(', ')}${file ? ` in ${file}` : ''}`
        : `${source} ${where}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file} must hold a mapping of settings`);
  return parsed as Record<string, unknown>;
}

function parseJsonVariable(key: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new ConfigError(`invalid configuration: environment variable ${key}: not valid JSON`);
  }
}
