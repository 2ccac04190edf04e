// Starts the page's WebAssembly and hydrates the server-rendered HTML.
// It is a file, not an inline script: the pages' Content-Security-Policy
// allows scripts from urna's own origin, and inline ones only with the
// page's nonce (Leptos's hydration data carries it).
//
// The bundle is fetched only after the server-rendered page has been
// painted: the page is readable (and votes without JavaScript) before it
// arrives, and half a megabyte fetched before the first paint would hold
// the paint back on a slow phone network.
//
// The voting page and its embed (what a voter opens first) get a bundle
// built with their routes alone, about half the size of the one with every
// page; a link from there to another page is loaded from the server (see
// NotFound in frontend/src/lib.rs).
const votePage = /^\/p\/[^/]+(\/embed)?\/?$/.test(location.pathname);
const start = () =>
  (votePage ? import('./vote.js') : import('./urna.js')).then(({ default: init, hydrate }) =>
    init({ module_or_path: votePage ? new URL('./vote.wasm', import.meta.url) : new URL('./urna.wasm', import.meta.url) })
      .then(() => hydrate()));

if (document.visibilityState === 'hidden') {
  start();
} else {
  requestAnimationFrame(() => setTimeout(start, 0));
}
