// Model cards built in the browser, with the markup of templates/macros.html's card (names
// are text, never HTML). The URL patterns come from a root element's data attributes
// (macros.html's card_urls), with MID where the model id goes.
// Used through window.sketchrecCards (element, card) by for_you.js and trial_list.js.
(function () {
  "use strict";

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  const url = (pattern, mid) => pattern.replace("MID", encodeURIComponent(mid));

  // The card of item {mid, name, likes} at 0-based position, its stats list starting with
  // the nodes of `stats` and followed by `extra` nodes; `root` holds the URL patterns.
  function card(root, item, position, stats, extra) {
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
    const heart = element(
      "button",
      { type: "button", class: "heart", "data-heart": item.mid, "data-name": name, "aria-pressed": "false", "aria-label": `Like ${name}` },
      element("span", { "aria-hidden": "true" }, "♥"),
    );
    const [first, ...more] = stats;
    return element(
      "article",
      { class: "card", "data-position": String(position), "data-mid": item.mid },
      element("a", { class: "thumb", href: page, tabindex: "-1" }, image),
      element(
        "div",
        { class: "card-body" },
        element("h3", { class: "card-title" }, element("a", { href: page }, name)),
        element("ul", { class: "stats" }, first, element("li", {}, likes), ...more),
        ...extra,
        element("a", { class: "external", href: url(root.dataset.sketchfabUrl, item.mid), target: "_blank", rel: "noopener" }, "on Sketchfab ↗"),
      ),
      heart,
    );
  }

  window.sketchrecCards = { element: element, url: url, card: card };
})();
