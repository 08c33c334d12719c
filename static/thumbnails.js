// Thumbnails the server did not know yet come back as placeholders (320 x 180 SVGs, see
// webapp/thumbnails/placeholder.py) while their look-up runs in the background, and an <img>
// never asks again by itself. So ask again, a little later, for each image that still is
// one: up to three times, waiting longer each time, since a busy server's queue of look-ups
// can outlast the first wait. The new query string makes the browser skip its cached
// placeholder.
(function () {
  const RETRY_DELAYS_MS = [1500, 3000, 6000];
  const looksLikePlaceholder = (img) => img.naturalWidth === 320 && img.naturalHeight === 180;

  function retryLater(img) {
    const done = Number(img.dataset.retried || 0);
    if (done >= RETRY_DELAYS_MS.length || !looksLikePlaceholder(img)) return;
    img.dataset.retried = String(done + 1);
    setTimeout(() => {
      img.addEventListener("load", () => retryLater(img), { once: true });
      const url = new URL(img.src);
      url.searchParams.set("retry", String(done + 1));
      img.src = url.href;
    }, RETRY_DELAYS_MS[done]);
  }

  for (const img of document.querySelectorAll('img[src*="/thumbnails/"]')) {
    if (img.complete) retryLater(img);
    else img.addEventListener("load", () => retryLater(img), { once: true });
  }
})();
