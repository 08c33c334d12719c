// Thumbnails the server did not know yet come back as placeholders (320 x 180 SVGs, see
// webapp/thumbnails/placeholder.py) while their look-up runs in the background, and an <img>
// never asks again by itself. So ask once more, a little later, for each image that still is
// one; the new query string makes the browser skip its cached placeholder.
(function () {
  const RETRY_AFTER_MS = 1500;
  const looksLikePlaceholder = (img) => img.naturalWidth === 320 && img.naturalHeight === 180;

  function retryOnce(img) {
    if (img.dataset.retried || !looksLikePlaceholder(img)) return;
    img.dataset.retried = "true";
    setTimeout(() => {
      const url = new URL(img.src);
      url.searchParams.set("retry", "1");
      img.src = url.href;
    }, RETRY_AFTER_MS);
  }

  for (const img of document.querySelectorAll('img[src*="/thumbnails/"]')) {
    if (img.complete) retryOnce(img);
    else img.addEventListener("load", () => retryOnce(img), { once: true });
  }
})();
