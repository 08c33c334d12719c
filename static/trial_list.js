// During a trial, a consenting visitor's similar list is the one made for them: the API's
// team-draft interleaving of the active and the candidate model (?visitor=), the same each
// time. It replaces the page's list and ticket before any impression of it is counted;
// without consent, or if the API fails, the page's own list stays.
// Needs consent.js, events.js and cards.js (loaded first).
(function () {
  "use strict";
  const grid = document.querySelector("[data-trial-list]");
  const consent = window.sketchrecConsent;
  const cards = window.sketchrecCards;
  if (!grid || !consent || !cards) return;
  const element = cards.element;
  const COSINE = "cosine similarity of the item vectors";

  function stats(item) {
    const help = grid.dataset.scoreHelp;
    const score = help
      ? element("li", { class: "score", title: help }, `score ${item.score.toPrecision(3)}`)
      : element("li", { class: "score", title: COSINE }, `${item.score.toFixed(2)} match`);
    const people = item.co_likes === 1 ? "person" : "people";
    return [score, element("li", { class: "both" }, `${item.co_likes} ${people} liked both`)];
  }

  async function swap(visitor) {
    try {
      const url = new URL(grid.dataset.trialList, location.href);
      url.searchParams.set("visitor", visitor);
      const response = await fetch(url);
      if (response.ok) {
        const body = await response.json();
        grid.replaceChildren(...body.similar.map((item, i) => cards.card(grid, item, i, stats(item), [])));
        grid.dataset.ticket = body.ticket;
        if (window.sketchrecHearts) window.sketchrecHearts.refresh();
      }
    } catch (e) {
      // The page's own list stays.
    }
    delete grid.dataset.trialList;
    if (window.sketchrecEvents) window.sketchrecEvents.watch(grid);
  }

  const visitor = consent.visitor();
  if (visitor) swap(visitor);
  else consent.onChange((id) => id && grid.dataset.trialList && swap(id));
})();
