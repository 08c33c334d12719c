// Visitors' events, sent only with consent (consent.js): impressions of the cards of served
// lists as they come into view (once per card and page), opens of those cards, and hearts
// and unhearts. A list carries its ticket in data-ticket, each card its place in
// data-position. Clicks go by navigator.sendBeacon, which outlives the page being left.
// Other scripts call window.sketchrecEvents.watch(element) on lists they build.
(function () {
  "use strict";
  const url = document.body.dataset.eventsUrl;
  const consent = window.sketchrecConsent;
  const hearts = window.sketchrecHearts;
  if (!url || !consent) return;
  // Cards of lists with a ticket, except a list trial_list.js is about to replace.
  const CARDS = "[data-ticket]:not([data-trial-list]) [data-position]";

  function send(event) {
    const visitor = consent.visitor();
    if (!visitor) return;
    const body = JSON.stringify({ visitor: visitor, ...event });
    if (navigator.sendBeacon(url, new Blob([body], { type: "application/json" }))) return;
    fetch(url, { method: "POST", body: body, keepalive: true }).catch(() => {});
  }

  // {ticket, position, mid} of a card of a served list, or null.
  function listed(card) {
    const list = card && card.closest("[data-ticket]");
    if (!list) return null;
    return { ticket: list.dataset.ticket, position: Number(card.dataset.position), mid: card.dataset.mid };
  }

  const seen = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        seen.unobserve(entry.target);
        const where = listed(entry.target);
        if (where) send({ type: "impression", ...where });
      }
    },
    { threshold: 0.5 },
  );

  // Start counting impressions of the cards under root (only once the visitor agreed).
  function watch(root) {
    if (!consent.visitor()) return;
    for (const card of root.querySelectorAll(CARDS)) seen.observe(card);
  }

  function opened(event) {
    const link = event.target.closest("a[href]");
    const where = link && listed(link.closest("[data-position]"));
    if (where) send({ type: "click", ...where });
  }
  document.addEventListener("click", opened);
  document.addEventListener("auxclick", opened);  // middle click: a new tab

  // Hearts: what changed since the last look, whatever changed it.
  let hearted = new Set(hearts ? hearts.list().map((h) => h.mid) : []);
  if (hearts) {
    hearts.onChange(() => {
      const now = new Set(hearts.list().map((h) => h.mid));
      for (const mid of now) if (!hearted.has(mid)) send({ type: "heart", mid: mid });
      for (const mid of hearted) if (!now.has(mid)) send({ type: "unheart", mid: mid });
      hearted = now;
    });
  }

  consent.onChange((visitor) => {
    if (visitor) watch(document);
  });
  window.sketchrecEvents = { watch: watch };
  watch(document);
})();
