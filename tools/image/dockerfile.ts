// Just enough of the Dockerfile syntax to know what a build depends on: the images its stages start FROM (each
// needs a stand-in here, where no registry is reachable) and the files it COPYs from the context (they go into the
// cache key). buildah does the building itself.

export interface Instruction {
  keyword: string;
  args: string[];
  line: number;
}

export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

function splitArgs(text: string): string[] {
  if (text.startsWith('[')) return JSON.parse(text) as string[];
  return text.split(/\s+/).filter(Boolean);
}

/** Instructions grouped by stage; continuation lines joined, comments and blank lines dropped. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending = '';
  let startLine = 0;
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) return;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole === '') return;
    const [keyword = '', rest = ''] = whole.split(/\s+(.*)/s);
    const instruction = { keyword: keyword.toUpperCase(), args: splitArgs(rest.trim()), line: startLine };
    if (instruction.keyword === 'FROM') {
      const [from, as, name] = instruction.args.filter((arg) => !arg.startsWith('--'));
      if (!from) throw new Error(`Dockerfile line ${startLine}: FROM without an image`);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name?.toLowerCase() : undefined, instructions: [instruction] });
      return;
    }
    const stage = stages.at(-1);
    // ARG may precede the first FROM; nothing else may.
    if (!stage) {
      if (instruction.keyword === 'ARG') return;
      throw new Error(`Dockerfile line ${startLine}: ${instruction.keyword} before any FROM`);
    }
    stage.instructions.push(instruction);
  });
  if (pending !== '') throw new Error('Dockerfile ends inside a continued line');
  return stages;
}

/** docker.io/library/node:24-bookworm for node:24-bookworm, as docker and buildah name it. */
export function normalizeReference(reference: string): string {
  const [first = '', ...rest] = reference.split('/');
  const hasRegistry = rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const path = hasRegistry ? rest.join('/') : reference;
  const registry = hasRegistry ? first : 'docker.io';
  const named = registry === 'docker.io' && !path.includes('/') ? `library/${path}` : path;
  const tagged = /[:@][^/]*$/.test(named) ? named : `${named}:latest`;
  return `${registry}/${tagged}`;
}

/** The images the build starts from: FROM references that do not name an earlier stage, normalized. */
export function baseImages(stages: Stage[]): string[] {
  const names = new Set<string>();
  const images = new Set<string>();
  for (const stage of stages) {
    if (!names.has(stage.from.toLowerCase())) images.add(normalizeReference(stage.from));
    if (stage.name) names.add(stage.name);
  }
  return [...images];
}

/** Paths COPY and ADD take from the build context (not --from another stage), in order of appearance. */
export function contextSources(stages: Stage[]): string[] {
  const sources: string[] = [];
  for (const { instructions } of stages) {
    for (const { keyword, args, line } of instructions) {
      if (keyword !== 'COPY' && keyword !== 'ADD') continue;
      if (args.some((arg) => arg.startsWith('--from='))) continue;
      const paths = args.filter((arg) => !arg.startsWith('--')).slice(0, -1);
      for (const path of paths) {
        // A wildcard or a URL would have to be resolved as buildah does to be hashed right: refuse rather than guess.
        if (/[*?[]|^https?:/.test(path)) throw new Error(`Dockerfile line ${line}: ${keyword} ${path} is not supported by tools/image`);
        sources.push(path.replace(/\/+$/, '') || '.');
      }
    }
  }
  return sources;
}
