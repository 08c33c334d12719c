// The For you page: recommendations for this browser's hearts from POST /api/recommendations,
// shown as gallery cards with a "because you liked" line. Needs hearts.js and cards.js.
(function () {
  "use strict";
  const root = document.getElementById("for-you");
  const hearts = window.sketchrecHearts;
  if (!root || !hearts || !window.sketchrecCards) return;
  const RECOMMENDATIONS = 24;
  const empty = document.getElementById("for-you-empty");
  const results = document.getElementById("for-you-results");
  const grid = document.getElementById("for-you-grid");
  const status = document.getElementById("for-you-status");
  let latest = 0;  // only the newest answer is shown when hearts change quickly

  const { element, url } = window.sketchrecCards;

  // A recommendation's card, with a "because you liked" line.
  function card(item, names, position) {
    const score = element(
      "li",
      { class: "score", title: "predicted preference for your hearts (about 1: a sure like)" },
      `${item.score.toFixed(2)} match`,
    );
    const because = element(
      "p",
      { class: "because" },
      "Because you liked ",
      element("a", { href: url(root.dataset.modelUrl, item.because) }, names.get(item.because) || "a model"),
    );
    return window.sketchrecCards.card(root, item, position, [score], [because]);
  }

  async function ask(liked) {
    const response = await fetch(root.dataset.apiUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ likes: liked.map((h) => h.mid), k: RECOMMENDATIONS }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  function summary(found, liked, unknown) {
    const hearted = `${liked.length} ${liked.length === 1 ? "heart" : "hearts"}`;
    const missing = unknown ? ` (${unknown} of them not in the current data)` : "";
    return `${found} models for your ${hearted}${missing}.`;
  }

  async function show() {
    const liked = hearts.list();
    empty.hidden = liked.length > 0;
    results.hidden = liked.length === 0;
    if (!liked.length) {
      grid.replaceChildren();
      return;
    }
    const mine = ++latest;
    status.textContent = "Finding models for you…";
    let body;
    try {
      body = await ask(liked);
    } catch (e) {
      if (mine === latest) status.textContent = `Could not get recommendations: ${e.message}`;
      return;
    }
    if (mine !== latest) return;
    const names = new Map(liked.map((h) => [h.mid, h.name]));
    grid.dataset.ticket = body.ticket;
    grid.replaceChildren(...body.recommendations.map((item, i) => card(item, names, i)));
    hearts.refresh();
    if (window.sketchrecEvents) window.sketchrecEvents.watch(grid);
    status.textContent = summary(body.recommendations.length, liked, body.unknown.length);
  }

  // A heart pressed here changes the picks; focus goes to the heading rather than being lost.
  hearts.onChange(() => {
    const hadFocus = root.contains(document.activeElement);
    show().then(() => {
      if (!hadFocus) return;
      const heading = results.hidden ? empty.querySelector("h2") : results.querySelector("h2");
      heading.focus();
    });
  });
  document.getElementById("clear-hearts").addEventListener("click", () => hearts.clear());
  show();
})();
