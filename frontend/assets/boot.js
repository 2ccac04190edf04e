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
// follow_links_elsewhere in frontend/src/browser.rs). The same rule as
// in_vote_bundle in frontend/src/lib.rs.
const [js, wasm] = /^\/p\/[^/]+(\/embed)?\/?$/.test(location.pathname)
  ? ['./vote.js', './vote.wasm']
  : ['./urna.js', './urna.wasm'];
const start = () =>
  import(js).then(({ default: init, hydrate }) =>
    init({ module_or_path: new URL(wasm, import.meta.url) }).then(() => hydrate()));

if (document.visibilityState === 'hidden') {
  start();
} else {
  requestAnimationFrame(() => setTimeout(start, 0));
}
