// Job page: poll the job's JSON while it is queued or running, show its progress, reload when it ends.
// The finished page sizes the report's frame to the report.
(function () {
  "use strict";
  var frame = document.getElementById("report-frame");
  if (frame) {
    frame.addEventListener("load", function () {
      try { frame.style.height = (frame.contentDocument.documentElement.scrollHeight + 20) + "px"; } catch (e) { /* keep the default */ }
    });
  }
  var live = document.getElementById("job-live");
  if (!live) return;
  var id = live.dataset.jobId;
  var started = null;

  function eta(p) {
    if (!p.total || !p.done) return "";
    var now = Date.now();
    if (started === null) { started = { t: now, done: p.done }; return ""; }
    var rate = (p.done - started.done) / ((now - started.t) / 1000);
    if (!(rate > 0)) return "";
    return " · about " + Math.max(1, Math.round((p.total - p.done) / rate)) + " s of pose model left";
  }

  function show(job) {
    var p = job.progress;
    var status = document.getElementById("job-status");
    status.textContent = job.status;
    status.className = "status " + job.status;
    var stage = p.stage;
    if (p.queue_position) stage += " · " + p.queue_position + " ahead in the queue";
    document.getElementById("job-stage").textContent = stage;
    document.getElementById("job-bar").style.width = ((p.fraction || 0) * 100).toFixed(1) + "%";
    document.getElementById("job-count").textContent = p.total ? p.done + " / " + p.total + " frames" + eta(p) : "";
  }

  function poll() {
    fetch("/api/jobs/" + id, { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (job && (job.status === "done" || job.status === "failed")) { window.location.reload(); return; }
        if (job) show(job);
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
