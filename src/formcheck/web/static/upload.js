// Upload page: drag and drop, a size check before sending, upload progress, then the job's page.
// Without this script the form still posts to /upload and the server answers the same way.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var input = document.getElementById("file");
  var zone = document.getElementById("dropzone");
  var info = document.getElementById("file-info");
  var errorBox = document.getElementById("upload-error");
  var bar = document.getElementById("upload-progress");
  var button = document.getElementById("upload-button");
  var maxBytes = Number(form.dataset.maxBytes);

  var given = new URLSearchParams(window.location.search).get("athlete");
  if (given) document.getElementById("athlete").value = given;

  function mb(n) { return (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB"; }
  function showError(text) { errorBox.textContent = text; errorBox.hidden = !text; }
  function describe() {
    var f = input.files && input.files[0];
    if (!f) return;
    info.textContent = f.name + " · " + mb(f.size);
    showError(f.size > maxBytes ? "This clip is " + mb(f.size) + "; the limit is " + mb(maxBytes) + "." : "");
  }

  input.addEventListener("change", describe);
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      describe();
    }
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var f = input.files && input.files[0];
    if (!f) { showError("Choose or drop a clip first."); return; }
    if (f.size > maxBytes) { describe(); return; }
    showError("");
    var data = new FormData();
    data.append("athlete", document.getElementById("athlete").value);
    data.append("variant", document.getElementById("variant").value);
    data.append("note", document.getElementById("note").value);
    data.append("file", f, f.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.api || "/api/jobs");  // an athlete's link page has its own
    var token = document.querySelector("meta[name=csrf-token]");
    if (token) xhr.setRequestHeader("X-CSRF-Token", token.content);
    xhr.responseType = "json";
    bar.hidden = false;
    button.disabled = true;
    xhr.upload.addEventListener("progress", function (ev) {
      if (!ev.lengthComputable) return;
      var pct = Math.round(100 * ev.loaded / ev.total);
      bar.firstElementChild.style.width = pct + "%";
      bar.lastElementChild.textContent = "uploading " + pct + "% of " + mb(ev.total);
    });
    xhr.addEventListener("load", function () {
      var body = xhr.response || {};
      if (xhr.status === 201 && body.links) { window.location.assign(body.links.page); return; }
      var detail = typeof body.detail === "string" ? body.detail : "the server refused the upload (" + xhr.status + ")";
      showError(detail);
      bar.hidden = true;
      button.disabled = false;
    });
    xhr.addEventListener("error", function () {
      showError("The upload did not reach the server (connection lost, or the clip is over the size limit).");
      bar.hidden = true;
      button.disabled = false;
    });
    xhr.send(data);
  });
})();
