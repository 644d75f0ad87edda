// The exports page: while an export is being made, ask every few seconds how far it is and
// show it in the list (state, progress, rows, download link). Without JavaScript the page has
// a "Refresh the list" link instead. Served as a file: the CSP forbids inline script.
(function () {
  "use strict";
  var table = document.getElementById("exports");
  if (!table || !table.dataset.statusUrl) {
    return;
  }
  var url = table.dataset.statusUrl;
  var live = document.getElementById("exports-live");
  var INTERVAL = 2000;

  function update(row, item) {
    var state = row.querySelector("[data-role=state]");
    var progress = row.querySelector("[data-role=progress]");
    var error = row.querySelector("[data-role=error]");
    var rows = row.querySelector("[data-role=rows]");
    var file = row.querySelector("[data-role=file]");
    var busy = item.state === "queued" || item.state === "running";
    if (state.textContent !== item.label) {
      state.textContent = item.label;
    }
    if (progress) {
      if (busy) {
        progress.value = item.progress;
        progress.textContent = item.progress + "%";
      } else {
        progress.remove();
      }
    }
    error.textContent = item.error || "";
    if (item.state === "done") {
      rows.textContent = String(item.rows);
    }
    if (item.download && !file.querySelector("a")) {
      var link = document.createElement("a");
      link.className = "utrecht-link";
      link.href = item.download;
      link.setAttribute("download", "");
      link.textContent = table.dataset.downloadLabel || "Download";
      file.textContent = "";
      file.appendChild(link);
    }
    return busy;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        var busy = false;
        data.exports.forEach(function (item) {
          var row = document.getElementById("export-" + item.id);
          if (row && update(row, item)) {
            busy = true;
          }
        });
        if (busy) {
          window.setTimeout(poll, INTERVAL);
        } else if (live && live.dataset.doneText) {
          live.textContent = live.dataset.doneText;
        }
      })
      .catch(function () {
        window.setTimeout(poll, INTERVAL * 5);
      });
  }

  window.setTimeout(poll, INTERVAL);
})();
