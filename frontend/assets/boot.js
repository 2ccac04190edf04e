// Starts the page's WebAssembly and hydrates the server-rendered HTML.
// It is a file, not an inline script: the pages' Content-Security-Policy
// allows scripts from urna's own origin, and inline ones only with the
// page's nonce (Leptos's hydration data carries it).
import init, { hydrate } from './urna.js';

init({ module_or_path: new URL('./urna.wasm', import.meta.url) }).then(() => hydrate());
