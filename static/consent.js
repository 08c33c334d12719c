// Consent to visitors' events: a small banner asks once. "Yes" makes a random visitor id,
// kept in localStorage; "No", or Global Privacy Control, means nothing is ever sent.
// Other scripts use window.sketchrecConsent (visitor, onChange).
(function () {
  "use strict";
  const CHOICE = "sketchrec.consent";
  const VISITOR = "sketchrec.visitor";
  const VALID = /^[A-Za-z0-9_-]{16,64}$/;
  const gpc = navigator.globalPrivacyControl === true;
  const listeners = [];
  let banner;

  function read(key) {
    try {
      return localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function write(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (e) {
      // Storage off or full: no id is kept, so nothing is sent.
    }
  }

  // The visitor's id once they agreed, else null.
  function visitor() {
    if (gpc || read(CHOICE) !== "yes") return null;
    const id = read(VISITOR);
    return id && VALID.test(id) ? id : null;
  }

  // 16 random bytes as base64url: 22 characters.
  function newId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function choose(yes) {
    write(VISITOR, yes ? newId() : null);
    write(CHOICE, yes ? "yes" : "no");
    if (banner) banner.remove();
    banner = null;
    for (const listener of listeners) listener(visitor());
  }

  function button(text, yes) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = yes ? "button primary" : "button";
    b.textContent = text;
    b.addEventListener("click", () => choose(yes));
    return b;
  }

  function ask() {
    if (banner || gpc) return;
    banner = document.createElement("section");
    banner.className = "consent";
    banner.setAttribute("aria-label", "Privacy choice");
    const text = document.createElement("p");
    const more = document.createElement("a");
    more.href = document.body.dataset.privacyUrl;
    more.textContent = "What and why";
    text.append(
      "May this site record which suggested models you see, open and heart, under a random id kept in this browser? No IP address, no cookie. ",
      more,
    );
    banner.append(text, button("Yes, record", true), button("No", false));
    document.body.append(banner);
  }

  // The privacy page's "Ask me again" forgets the answer and the id.
  const reset = document.getElementById("consent-reset");
  if (reset && !gpc) {
    reset.hidden = false;
    reset.addEventListener("click", () => {
      write(VISITOR, null);
      write(CHOICE, null);
      for (const listener of listeners) listener(null);
      ask();
    });
  }

  window.sketchrecConsent = {
    visitor: visitor,
    onChange: (listener) => listeners.push(listener),
  };
  if (read(CHOICE) === null) ask();
})();
