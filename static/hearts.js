// Hearts: the models a visitor likes, kept in this browser only (localStorage), at most 500.
// Every button[data-heart] toggles one (aria-pressed says which); the header's
// "For you" link shows how many. Buttons stay hidden until this script runs.
// Other scripts use window.sketchrecHearts (list, toggle, clear, refresh, onChange).
(function () {
  "use strict";
  const KEY = "sketchrec.hearts";
  const MAX = 500;  // the API's limit too
  const listeners = [];
  let status;

  // [{mid, name}] in the order they were hearted; anything unreadable counts as none.
  function list() {
    try {
      const value = JSON.parse(localStorage.getItem(KEY) || "[]");
      return Array.isArray(value) ? value.filter((h) => h && typeof h.mid === "string") : [];
    } catch (e) {
      return [];
    }
  }

  function save(hearts) {
    try {
      localStorage.setItem(KEY, JSON.stringify(hearts));
    } catch (e) {
      say("This browser does not let the site keep hearts (storage is off or full).");
      return false;
    }
    changed();
    return true;
  }

  function toggle(mid, name) {
    const hearts = list();
    const kept = hearts.filter((h) => h.mid !== mid);
    if (kept.length < hearts.length) return save(kept);
    if (hearts.length >= MAX) {
      say(`You can heart at most ${MAX} models. Remove a heart (or clear them on For you) first.`);
      return false;
    }
    return save([...hearts, { mid: mid, name: name }]);
  }

  function clear() {
    return save([]);
  }

  // Bring every heart button and the header count in line with the stored hearts.
  function refresh() {
    const hearts = list();
    const mids = new Set(hearts.map((h) => h.mid));
    for (const button of document.querySelectorAll("button[data-heart]")) {
      button.setAttribute("aria-pressed", String(mids.has(button.dataset.heart)));
      button.hidden = false;
    }
    for (const count of document.querySelectorAll("[data-heart-count]")) {
      count.textContent = hearts.length ? ` (${hearts.length})` : "";
    }
  }

  function changed() {
    refresh();
    for (const listener of listeners) listener();
  }

  // A polite live region for messages that a pressed state alone cannot tell.
  function say(message) {
    if (!status) {
      status = document.createElement("p");
      status.className = "heart-status";
      status.setAttribute("role", "status");
      document.body.append(status);
    }
    status.textContent = message;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-heart]");
    if (!button) return;
    if (status) status.textContent = "";
    toggle(button.dataset.heart, button.dataset.name || "");
  });
  // Hearts changed in another tab of this site.
  window.addEventListener("storage", (event) => {
    if (event.key === KEY || event.key === null) changed();
  });

  window.sketchrecHearts = {
    list: list,
    toggle: toggle,
    clear: clear,
    refresh: refresh,
    onChange: (listener) => listeners.push(listener),
  };
  say("");
  refresh();
})();
