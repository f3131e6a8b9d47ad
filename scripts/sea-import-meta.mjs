// esbuild inject for the single binary: `import.meta.url` in the agent's ESM sources becomes the
// binary's own location (nothing is read relative to it inside the binary).
export const __piAgentImportMetaUrl = require('node:url').pathToFileURL(process.execPath).href;
