// The For you page: recommendations for this browser's hearts from POST /api/recommendations,
// shown as gallery cards with a "because you liked" line. Needs hearts.js (loaded first).
(function () {
  "use strict";
  const root = document.getElementById("for-you");
  const hearts = window.sketchrecHearts;
  if (!root || !hearts) return;
  const RECOMMENDATIONS = 24;
  const empty = document.getElementById("for-you-empty");
  const results = document.getElementById("for-you-results");
  const grid = document.getElementById("for-you-grid");
  const status = document.getElementById("for-you-status");
  let latest = 0;  // only the newest answer is shown when hearts change quickly

  const url = (pattern, mid) => pattern.replace("MID", encodeURIComponent(mid));

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  // The markup of templates/macros.html's card, built with DOM calls (names are text, never HTML).
  function card(item, names, position) {
    const name = item.name || "Untitled";
    const page = url(root.dataset.modelUrl, item.mid);
    const image = element("img", {
      src: url(root.dataset.thumbnailUrl, item.mid),
      loading: "lazy",
      width: "320",
      height: "180",
      alt: name,
    });
    const likes = `${item.likes} ${item.likes === 1 ? "like" : "likes"}`;
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
    const heart = element(
      "button",
      { type: "button", class: "heart", "data-heart": item.mid, "data-name": name, "aria-pressed": "false", "aria-label": `Like ${name}` },
      element("span", { "aria-hidden": "true" }, "♥"),
    );
    return element(
      "article",
      { class: "card", "data-position": String(position), "data-mid": item.mid },
      element("a", { class: "thumb", href: page }, image),
      element(
        "div",
        { class: "card-body" },
        element("h3", { class: "card-title" }, element("a", { href: page }, name)),
        element("ul", { class: "stats" }, score, element("li", {}, likes)),
        because,
        element("a", { class: "external", href: url(root.dataset.sketchfabUrl, item.mid), target: "_blank", rel: "noopener" }, "on Sketchfab ↗"),
      ),
      heart,
    );
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
