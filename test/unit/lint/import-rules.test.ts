import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The import rules of docs/ARCHITECTURE.md are an ESLint config (eslint.config.js, `npm run lint`). Here
 * that same config lints deliberately wrong fixtures under pretend paths inside the tree, so a rule that
 * stopped matching (a renamed folder, a resolver that no longer maps `.js` to `.ts`, a parser that skips
 * .vue scripts) fails this test instead of passing in silence. The fixtures are .txt files: the real lint
 * run and tsc never see them.
 */
const root = path.resolve(__dirname, '..', '..', '..');
const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');

const PATHS = 'import-x/no-restricted-paths';

interface Case {
  fixture: string;
  /** Where the fixture pretends to live (relative to the repository root). */
  as: string;
  /** Expected reports: rule id, the zone's tag in the message (for no-restricted-paths), and the line. */
  expected: { rule: string; tag?: string; line: number }[];
}

const cases: Case[] = [
  {
    fixture: 'engine-imports-electron.ts.txt',
    as: 'electron/engine/util/__lint_fixture__.ts',
    expected: [
      { rule: PATHS, tag: '[no-electron]', line: 2 },
      { rule: PATHS, tag: '[no-electron]', line: 5 },
    ],
  },
  {
    fixture: 'api-imports-electron.ts.txt',
    as: 'electron/api/__lint_fixture__.ts',
    expected: [
      { rule: PATHS, tag: '[no-electron]', line: 2 },
      { rule: 'import-x/no-nodejs-modules', line: 3 },
      { rule: PATHS, tag: '[api]', line: 4 },
    ],
  },
  {
    fixture: 'renderer-imports-engine.vue.txt',
    as: 'renderer/src/__lint_fixture__.vue',
    expected: [
      { rule: 'import-x/no-nodejs-modules', line: 4 },
      { rule: PATHS, tag: '[renderer]', line: 6 },
      { rule: PATHS, tag: '[renderer]', line: 7 },
    ],
  },
  {
    fixture: 'engine-imports-shells.ts.txt',
    as: 'electron/engine/jobs/__lint_fixture__.ts',
    expected: [
      { rule: PATHS, tag: '[engine-no-shells]', line: 2 },
      { rule: PATHS, tag: '[engine-no-shells]', line: 3 },
    ],
  },
  {
    fixture: 'source-imports-test.ts.txt',
    as: 'electron/cli/bench/__lint_fixture__.ts',
    expected: [{ rule: PATHS, tag: '[no-test-imports]', line: 2 }],
  },
  {
    fixture: 'util-imports-data.ts.txt',
    as: 'electron/engine/util/__lint_fixture__.ts',
    expected: [
      { rule: PATHS, tag: '[rooms] util/', line: 2 },
      { rule: PATHS, tag: '[rooms] util/', line: 3 },
    ],
  },
  {
    fixture: 'stage-imports-peer.ts.txt',
    as: 'electron/engine/train/__lint_fixture__.ts',
    expected: [{ rule: PATHS, tag: '[rooms] train/', line: 2 }],
  },
  {
    fixture: 'store-imports-runtime.ts.txt',
    as: 'electron/engine/store/__lint_fixture__.ts',
    expected: [{ rule: PATHS, tag: '[rooms] store/', line: 2 }],
  },
  {
    fixture: 'unresolved.ts.txt',
    as: 'electron/engine/data/__lint_fixture__.ts',
    expected: [{ rule: 'import-x/no-unresolved', line: 3 }],
  },
  { fixture: 'engine-correct.ts.txt', as: 'electron/engine/evaluate/__lint_fixture__.ts', expected: [] },
  { fixture: 'renderer-correct.vue.txt', as: 'renderer/src/__lint_fixture__.vue', expected: [] },
  { fixture: 'shell-correct.ts.txt', as: 'electron/main/__lint_fixture__.ts', expected: [] },
];

describe('import rules (eslint.config.js)', () => {
  let eslint: ESLint;
  beforeAll(() => {
    eslint = new ESLint({ cwd: root });
  });

  for (const c of cases) {
    it(`${c.fixture} as ${c.as}: ${c.expected.length ? c.expected.map((e) => e.tag ?? e.rule).join(', ') : 'nothing reported'}`, async () => {
      const [result] = await eslint.lintText(fixture(c.fixture), { filePath: path.join(root, c.as), warnIgnored: true });
      const got = result.messages.map((m) => ({ rule: m.ruleId, message: m.message, line: m.line }));
      // A fatal parse error or an ignored file has no rule id: that would be a broken test, not a pass.
      expect(got.filter((m) => m.rule === null)).toEqual([]);
      expect(got.map((m) => ({ rule: m.rule, line: m.line }))).toEqual(c.expected.map((e) => ({ rule: e.rule, line: e.line })));
      c.expected.forEach((e, i) => {
        if (e.tag) expect(got[i].message).toContain(e.tag);
      });
    });
  }

  it('docs/ARCHITECTURE.md states the room order the lint enforces', async () => {
    const config = (await import(pathToFileURL(path.join(root, 'eslint.config.js')).href)) as { ROOM_LAYERS: string[][]; ROOT_TOP: string[] };
    const order = [...config.ROOM_LAYERS.map((l) => (l.length > 1 ? `{${l.join(', ')}}` : l[0])), ...config.ROOT_TOP].join(' < ');
    expect(readFileSync(path.join(root, 'docs', 'ARCHITECTURE.md'), 'utf8')).toContain(order);
  });
});
