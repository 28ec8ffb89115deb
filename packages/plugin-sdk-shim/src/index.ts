export * from './runtime-api.js';
export * from './package-api.js';
