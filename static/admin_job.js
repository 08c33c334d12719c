// Live job progress: poll the job's JSON and refresh the figures in place.
// Without JavaScript the page refreshes itself (meta refresh) instead.
(function () {
  const page = document.querySelector("[data-status-url]");
  if (!page || page.dataset.running !== "true") return;
  const refresh = document.querySelector('meta[http-equiv="refresh"]');
  if (refresh) refresh.remove();  // polling takes over from the full-page refresh
  const text = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };
  const metric = (v) => (v === null || v === undefined ? "–" : v.toFixed(4));
  let shownCurves = -1;

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
      const svg = await fetch(page.dataset.curvesUrl, { cache: "no-store" });
      if (svg.ok) document.getElementById("curves").innerHTML = await svg.text();
    }
    if (job.status === "queued" || job.status === "running") setTimeout(poll, 1000);
    else location.reload();  // show the final state with its actions
  }
  poll();
})();
