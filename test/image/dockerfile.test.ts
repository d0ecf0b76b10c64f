// The Dockerfiles and tools/image in step: every FROM has a stand-in, every file the build copies is let through by
// .dockerignore (and so hashed into the cache key), and the final stage is what the cluster expects. No build here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { standInKey } from '../../tools/image/base-images.js';
import { baseImages, contextSources, normalizeReference, parseDockerfile, type Stage } from '../../tools/image/dockerfile.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const keywords = (stage: Stage) => stage.instructions.map(({ keyword }) => keyword);

describe('the Gatehouse Dockerfile', () => {
  const stages = parseDockerfile(read('Dockerfile'));
  const final = stages.at(-1)!;

  it('builds in node:24-bookworm and runs on debian:bookworm-slim, both with a stand-in', () => {
    expect(stages.map(({ from, name }) => [from, name])).toEqual([
      ['node:24-bookworm', 'build'],
      ['node:24-bookworm', 'runtime-deps'],
      ['debian:bookworm-slim', undefined],
    ]);
    const bases = baseImages(stages);
    expect(bases).toEqual(['docker.io/library/node:24-bookworm', 'docker.io/library/debian:bookworm-slim']);
    for (const base of bases) expect(standInKey(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('copies from the context only what .dockerignore lets through', () => {
    const sources = contextSources(stages);
    expect(sources).toEqual([
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src',
      'package.json',
      'package-lock.json',
      'package.json',
      'bin',
    ]);
    const allowed = read('.dockerignore')
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1).replace(/\/$/, ''));
    for (const source of sources) expect(allowed, source).toContain(source);
  });

  it('ends in a stage with no npm, no package installs and no HEALTHCHECK, as a numeric non-root user', () => {
    expect(stages.flatMap(keywords)).not.toContain('HEALTHCHECK');
    const runs = final.instructions.filter(({ keyword }) => keyword === 'RUN').map(({ args }) => args.join(' '));
    for (const run of runs) expect(run).not.toMatch(/\b(npm|npx|apt-get|apt)\b/);
    const user = final.instructions.filter(({ keyword }) => keyword === 'USER').at(-1);
    expect(user?.args).toEqual(['10001:10001']);
    const last = (keyword: string) => final.instructions.filter((instruction) => instruction.keyword === keyword).at(-1)?.args;
    expect(last('ENTRYPOINT')).toEqual(['/usr/local/bin/gatehouse']);
    expect(last('CMD')).toEqual(['serve']);
    expect(last('VOLUME')).toEqual(['/data']);
  });
});

describe('the PostgreSQL Dockerfile', () => {
  it('starts from debian:bookworm-slim and copies only its entrypoint', () => {
    const stages = parseDockerfile(read('tools/image/postgres/Dockerfile'));
    expect(baseImages(stages)).toEqual(['docker.io/library/debian:bookworm-slim']);
    expect(contextSources(stages)).toEqual(['entrypoint.sh']);
    expect(stages[0]!.instructions.find(({ keyword }) => keyword === 'USER')?.args).toEqual(['999:999']);
  });
});

describe('parseDockerfile', () => {
  it('joins continued lines, drops comments inside them, and reads the JSON form', () => {
    const [stage] = parseDockerfile('# syntax=docker/dockerfile:1\nARG V=1\nFROM a AS One\nRUN x \\\n  # note\n  && y\nCMD ["b", "c d"]\n');
    expect(stage).toEqual({
      from: 'a',
      name: 'one',
      instructions: [
        { keyword: 'FROM', args: ['a', 'AS', 'One'], line: 3 },
        { keyword: 'RUN', args: ['x', '&&', 'y'], line: 4 },
        { keyword: 'CMD', args: ['b', 'c d'], line: 7 },
      ],
    });
  });

  it('counts a FROM naming an earlier stage as no base image, and COPY --from as no context file', () => {
    const stages = parseDockerfile('FROM x:1 AS base\nCOPY a b ./\nFROM BASE\nCOPY --from=base /a /b\nCOPY --chown=1:1 c/ /c/\n');
    expect(baseImages(stages)).toEqual(['docker.io/library/x:1']);
    expect(contextSources(stages)).toEqual(['a', 'b', 'c']);
  });

  it('refuses what it cannot hash as buildah would resolve it', () => {
    expect(() => contextSources(parseDockerfile('FROM x\nCOPY src/*.ts /app/\n'))).toThrow(/line 2: COPY src\/\*\.ts is not supported/);
    expect(() => parseDockerfile('RUN true\n')).toThrow(/line 1: RUN before any FROM/);
  });
});

describe('normalizeReference', () => {
  it('names images as docker and buildah do', () => {
    expect(normalizeReference('node:24-bookworm')).toBe('docker.io/library/node:24-bookworm');
    expect(normalizeReference('debian')).toBe('docker.io/library/debian:latest');
    expect(normalizeReference('bitnami/postgresql:15')).toBe('docker.io/bitnami/postgresql:15');
    expect(normalizeReference('ghcr.io/org/app:1')).toBe('ghcr.io/org/app:1');
    expect(normalizeReference('localhost:5000/app')).toBe('localhost:5000/app:latest');
  });
});
