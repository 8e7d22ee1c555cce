#!/usr/bin/env node
// Entry point of `npx hs`: runs the TypeScript CLI through tsx (no build step).
'use strict';
require('tsx/cjs');
require('../scripts/hs.ts');
