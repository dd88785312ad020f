#!/usr/bin/env node
'use strict';
// The command line lives in app/cli.ts; this shim loads its build.
require('../dist/app/cli.js')
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err && err.stack ? err.stack : String(err));
      process.exitCode = 1;
    },
  );
