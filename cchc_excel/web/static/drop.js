// Drag and drop: each file is sent on its own to the JSON API, so that its result shows as soon as it is
// checked and a progress bar counts the files. A folder scan reads the lines the server streams, one per
// file checked. Without JavaScript the forms post all at once.
(function () {
  var form = document.getElementById("upload-form");
  if (!form || !window.fetch || !window.FormData) return;
  var drop = document.getElementById("drop"), input = document.getElementById("files");
  var bar = document.getElementById("progress"), text = document.getElementById("progress-text");
  var table = document.getElementById("results"), body = table.querySelector("tbody");
  var LABELS = {ok: "Đạt", warnings: "Có cảnh báo", errors: "Có lỗi", unreadable: "Không đọc được"};
  var unitBase = form.dataset.api.replace(/\/api\/periods\/([^/]+)\/files$/, "/periods/$1/units/");

  function cell(row, content) { var td = row.insertCell(); td.textContent = content; return td; }
  function addRow(f) {
    var row = body.insertRow(), errors = 0, warnings = 0;  // "info" findings are neither
    f.issues.forEach(function (i) { if (i.severity === "error") errors++; if (i.severity === "warning") warnings++; });
    row.className = "st-" + f.status;
    cell(row, f.path);
    var u = cell(row, "");
    if (f.unit) {
      var a = document.createElement("a"); a.href = unitBase + encodeURIComponent(f.unit.code);
      a.textContent = f.unit.code + " " + (f.unit.name || ""); u.appendChild(a);
    } else { u.textContent = "—"; }
    cell(row, f.period || "—");
    var s = cell(row, ""), badge = document.createElement("span");
    badge.className = "badge st-" + f.status; badge.textContent = LABELS[f.status] || f.status; s.appendChild(badge);
    cell(row, String(errors)); cell(row, String(warnings));
  }
  function addProblem(message) {
    var row = body.insertRow(); row.className = "st-errors";
    var td = cell(row, message); td.colSpan = 6;
  }
  async function send(files) {
    table.classList.remove("empty");
    bar.hidden = false; bar.max = files.length; bar.value = 0;
    for (var n = 0; n < files.length; n++) {
      text.textContent = "Đang kiểm tra " + (n + 1) + "/" + files.length + ": " + files[n].name;
      var data = new FormData(); data.append("files", files[n], files[n].name);
      try {
        var response = await fetch(form.dataset.api, {method: "POST", body: data, credentials: "same-origin"});
        var got = await response.json();
        if (!response.ok) { addProblem(files[n].name + ": " + (got.error || response.status)); }
        else { showPart(got); }
      } catch (e) { addProblem(files[n].name + ": không gửi được (" + e + ")."); }
      bar.value = n + 1;
    }
    text.textContent = "Đã kiểm tra " + files.length + " tệp.";
    input.value = "";
  }
  function showPart(got) { got.files.forEach(addRow); got.problems.forEach(addProblem); }
  async function scan(folderForm) {
    var path = folderForm.querySelector("#folder").value, button = folderForm.querySelector("button");
    table.classList.remove("empty"); bar.hidden = false; bar.value = 0; button.disabled = true;
    text.textContent = "Đang tìm các tệp trong thư mục…";
    try {
      var response = await fetch(folderForm.dataset.api, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({path: path})});
      if (!response.ok) {
        var bad = await response.json(); addProblem(bad.error || String(response.status));
        text.textContent = ""; bar.hidden = true; return;
      }
      var reader = response.body.getReader(), decoder = new TextDecoder(), rest = "", total = 0, done = 0;
      for (;;) {
        var chunk = await reader.read();
        if (chunk.value) rest += decoder.decode(chunk.value, {stream: !chunk.done});
        var lines = rest.split("\n"); rest = lines.pop();
        lines.forEach(function (line) {
          if (!line) return;
          var got = JSON.parse(line);
          total = got.total; bar.max = Math.max(total, 1);
          if (got.done !== undefined) { done = got.done; showPart(got); }
          bar.value = done;
          text.textContent = "Đang kiểm tra " + done + "/" + total + " tệp…";
        });
        if (chunk.done) break;
      }
      text.textContent = "Đã kiểm tra " + done + " tệp.";
    } catch (e) { addProblem(path + ": không quét được (" + e + ")."); }
    finally { button.disabled = false; }
  }
  var folderForm = document.getElementById("folder-form");
  if (folderForm && folderForm.querySelector("#folder") && window.TextDecoder) {
    folderForm.addEventListener("submit", function (e) { e.preventDefault(); scan(folderForm); });
  }
  ["dragenter", "dragover"].forEach(function (ev) {
    drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (ev) {
    drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) { send(Array.from(e.dataTransfer.files)); });
  form.addEventListener("submit", function (e) {
    if (!input.files.length) return;
    e.preventDefault(); send(Array.from(input.files));
  });
})();
