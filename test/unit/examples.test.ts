/** Every example config in examples/ is a valid study config (they are what newcomers copy). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSearchConfig } from '../../workflows/core/config';

const EXAMPLES = path.resolve(__dirname, '../../examples');

describe('examples/*.json', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
  it('there are examples', () => assert.ok(files.length >= 2, files.join(', ')));
  for (const file of files) {
    it(`${file} validates`, () => {
      const result = parseSearchConfig(JSON.parse(readFileSync(path.join(EXAMPLES, file), 'utf8')));
      assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems));
    });
  }
});
