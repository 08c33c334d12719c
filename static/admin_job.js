// Live job progress: poll the job's JSON and refresh the figures in place.
// Without JavaScript the page offers a reload link instead.
(function () {
  const page = document.querySelector("[data-status-url]");
  if (!page || page.dataset.running !== "true") return;
  const text = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };
  const metric = (v) => (v === null || v === undefined ? "–" : v.toFixed(4));
  let shownCurves = -1;

  // The figures and their tables of numbers come from the page itself, rendered afresh.
  async function refreshCurves() {
    const response = await fetch(location.href, { cache: "no-store" });
    if (!response.ok) return;
    const html = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = html.getElementById("curves");
    const shown = document.getElementById("curves");
    const open = shown.querySelector("details")?.open;  // keep a table the reader opened
    if (open && fresh.querySelector("details")) fresh.querySelector("details").open = true;
    shown.replaceWith(document.adoptNode(fresh));
  }

  async function poll() {
    let data;
    try {
      data = await (await fetch(page.dataset.statusUrl, { cache: "no-store" })).json();
    } catch (e) {
      return setTimeout(poll, 3000);
    }
    const job = data.job;
    text("job-status", job.status);
    document.getElementById("job-status").className = "status-" + job.status;
    document.getElementById("job-progress").value = job.progress.fraction;
    text("job-message", job.progress.message);
    text("job-log", job.log_tail.join("\n"));
    if (data.best) text("best-patk", metric(data.best.patk_test));
    if (data.best_simk) text("best-simk", metric(data.best_simk.simk_test));
    if (data.baseline) {
      text("baseline-patk", metric(data.baseline.popularity_patk_test));
      text("baseline-simk", metric(data.baseline.popularity_simk_test));
    }
    const done = Math.round(job.progress.fraction * 1000);
    if (done !== shownCurves) {
      shownCurves = done;
      await refreshCurves().catch(() => {});  // the next change tries again
    }
    if (job.status === "queued" || job.status === "running") setTimeout(poll, 1000);
    else location.reload();  // show the final state with its actions
  }
  poll();
})();
