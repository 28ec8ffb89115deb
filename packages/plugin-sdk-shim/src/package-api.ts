// Declaration and packaging half of the shim: schemas and loaders for manifest / endpoint group /
// endpoint YAML, the per-group manifest, the .difypkg packager and its signature.
export * from './declaration-error.js';
export * from './declaration-schema.js';
export * from './declaration.js';
export * from './manifest.js';
export * from './difyignore.js';
export * from './packager-zip.js';
export * from './packager.js';
export * from './sign.js';
