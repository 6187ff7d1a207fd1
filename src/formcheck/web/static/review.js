// Review tools for the job, athlete-link and comparison pages, on every video.review of the page:
// frame stepping (buttons, and the , and . keys as in video editors), slow motion (0.25x, 0.5x),
// jumping to a rep (buttons with data-seek, in seconds), and on the comparison page syncing both
// videos at the chosen rep's start (data-sync) and playing them together.
(function () {
  "use strict";
  var videos = Array.prototype.slice.call(document.querySelectorAll("video.review"));
  if (!videos.length) return;

  function fps(v) { var f = parseFloat(v.dataset.fps); return f > 0 ? f : 30; }
  function each(fn) { videos.forEach(fn); }
  function clamp(v, t) { return Math.max(0, isFinite(v.duration) ? Math.min(v.duration, t) : t); }

  function step(n) {
    each(function (v) { v.pause(); v.currentTime = clamp(v, v.currentTime + n / fps(v)); });
  }
  function rate(r) {
    each(function (v) { v.playbackRate = r; v.defaultPlaybackRate = r; });
    document.querySelectorAll("[data-rate]").forEach(function (b) {
      b.classList.toggle("on", parseFloat(b.dataset.rate) === r);
    });
  }
  function sync() {  // every video to its own rep start; the 1-frame nudge shows that frame at once
    each(function (v) { v.pause(); v.currentTime = clamp(v, parseFloat(v.dataset.sync) || 0); });
  }
  function showTime() {
    var out = document.getElementById("video-time");
    if (!out) return;
    out.textContent = videos.map(function (v) {
      return v.currentTime.toFixed(2) + " s · frame " + Math.round(v.currentTime * fps(v));
    }).join("  |  ");
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("button") : null;
    if (!b) return;
    if (b.dataset.step) { step(parseInt(b.dataset.step, 10)); }
    else if (b.dataset.rate) { rate(parseFloat(b.dataset.rate)); }
    else if (b.dataset.seek) {
      var v = videos[0];
      v.pause();
      v.currentTime = clamp(v, parseFloat(b.dataset.seek));
      v.scrollIntoView({ block: "nearest" });
    } else if (b.id === "sync") { sync(); }
    else if (b.id === "play-both") {
      var playing = videos.some(function (v) { return !v.paused; });
      each(function (v) { if (playing) { v.pause(); } else { v.play().catch(function () {}); } });
    }
  });
  document.addEventListener("keydown", function (e) {
    var tag = (e.target && e.target.tagName) || "";
    if (/INPUT|TEXTAREA|SELECT/.test(tag) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === ",") { step(-1); e.preventDefault(); }
    if (e.key === ".") { step(1); e.preventDefault(); }
  });
  each(function (v) {
    v.addEventListener("timeupdate", showTime);
    v.addEventListener("seeked", showTime);
    if (v.dataset.sync) {  // open at the rep's start; the metadata may have arrived before this script
      var open = function () { v.currentTime = clamp(v, parseFloat(v.dataset.sync)); };
      if (v.readyState >= 1) { open(); } else { v.addEventListener("loadedmetadata", open, { once: true }); }
    }
  });
})();
