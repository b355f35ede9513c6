#!/usr/bin/env node
// Placeholder until the one-machine mode lands (issue: "One machine, one command").
console.log('curt: the one-machine mode (`npm start`) is not built yet. Run the KGS with `KGS_TOKEN=... npm run kgs`.');
