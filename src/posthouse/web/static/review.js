/* The cut review page: frame-accurate player, timeline strip, notes with drawings. No build step. */
(function () {
  "use strict";
  var root = document.getElementById("review");
  if (!root) { return; }
  var TC = window.posthouseTC;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var name = root.dataset.name, version = +root.dataset.version;
  var canEdit = root.dataset.canEdit === "yes", guest = root.dataset.guest === "yes";
  var api = "/api/cuts/" + encodeURIComponent(name) + "/" + version;
  var video = document.getElementById("player");
  var overlay = document.getElementById("overlay");
  var ctx = overlay.getContext("2d");
  var cut = null, notes = [], current = 0, markIn = null, markOut = null;
  var strokes = [], drawing = false, activeStroke = null, shownNote = null;

  function $(id) { return document.getElementById(id); }
  function fps() { return cut.fps_num / cut.fps_den; }
  function clamp(f) { return Math.max(0, Math.min(cut.frames - 1, f)); }
  // the movie may start before the cut (a turnover reference's leader): cut.offset frames
  function frameOf(t) { return Math.floor(t * fps() + 1e-3) - (cut.offset || 0); }
  function tcOf(f) { return TC.label(cut.start + f, cut.timebase, cut.drop); }

  function send(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.error || data.detail || ("HTTP " + r.status)); }
        return data;
      });
    });
  }

  // ---------------------------------------------------------------------------- player and readout
  function show(f) {
    current = clamp(f);
    $("tc").textContent = tcOf(current);
    $("frame").textContent = String(current);
    var at = markIn !== null ? tcOf(markIn) + (markOut !== null ? " – " + tcOf(markOut) : "") : tcOf(current);
    $("note-at").textContent = at;
    var head = document.querySelector("#timeline .playhead");
    var lane = document.querySelector("#timeline .lane");
    if (head && lane) { head.style.left = (lane.offsetLeft + lane.clientWidth * current / cut.frames) + "px"; }
    drawOverlay();
  }

  function seek(f) {
    f = clamp(f);
    show(f);
    if (video.src) {
      video.pause();
      video.currentTime = (f + (cut.offset || 0) + 0.5) / fps();
    }
  }

  function tick() {
    if (!video.paused) { show(frameOf(video.currentTime)); }
    if (video.requestVideoFrameCallback) {
      video.requestVideoFrameCallback(function (now, meta) {
        if (!video.paused) { show(frameOf(meta.mediaTime)); }
        tick();
      });
    } else {
      window.requestAnimationFrame(tick);
    }
  }

  video.addEventListener("seeked", function () { show(frameOf(video.currentTime)); });
  video.addEventListener("pause", function () { show(frameOf(video.currentTime)); $("play").textContent = "Play"; });
  video.addEventListener("play", function () { $("play").textContent = "Pause"; });
  $("play").addEventListener("click", function () { if (video.paused) { video.play(); } else { video.pause(); } });
  $("back1").addEventListener("click", function () { seek(current - 1); });
  $("fwd1").addEventListener("click", function () { seek(current + 1); });
  $("back10").addEventListener("click", function () { seek(current - 10); });
  $("fwd10").addEventListener("click", function () { seek(current + 10); });
  $("goto").addEventListener("keydown", function (e) {
    if (e.key !== "Enter") { return; }
    e.preventDefault();
    var text = e.target.value.trim(), f = null;
    if (/^\d+$/.test(text)) { f = +text; } else {
      var abs = TC.parse(text, cut.timebase);
      if (abs !== null) { f = abs - cut.start; }
    }
    if (f !== null) { seek(f); }
  });
  document.addEventListener("keydown", function (e) {
    if (!cut || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) { return; }
    if (e.key === "ArrowLeft") { seek(current - (e.shiftKey ? 10 : 1)); e.preventDefault(); }
    if (e.key === "ArrowRight") { seek(current + (e.shiftKey ? 10 : 1)); e.preventDefault(); }
    if (e.key === " ") { $("play").click(); e.preventDefault(); }
  });

  // ---------------------------------------------------------------------------- timeline strip
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function place(e, from, len) {
    e.style.left = (100 * from / cut.frames) + "%";
    e.style.width = Math.max(0.2, 100 * Math.max(len, 1) / cut.frames) + "%";
  }

  function drawTimeline() {
    var box = $("timeline");
    box.textContent = "";
    var ruler = el("div", "row ruler");
    ruler.appendChild(el("span", "label", "TC"));
    var lane = el("div", "lane");
    for (var i = 0; i <= 4; i++) {
      var f = Math.min(cut.frames - 1, Math.round(i * (cut.frames - 1) / 4));
      var t = el("span", "tick", tcOf(f));
      t.style.left = (100 * f / cut.frames) + "%";
      lane.appendChild(t);
    }
    ruler.appendChild(lane);
    box.appendChild(ruler);
    cut.tracks.slice().reverse().forEach(function (track) {
      var row = el("div", "row track " + track.kind);
      row.appendChild(el("span", "label", track.name));
      var lane = el("div", "lane");
      track.clips.forEach(function (c) {
        var clip = el("div", "clip", c.name);
        clip.title = c.name + " " + tcOf(c["in"]) + "–" + tcOf(c.out);
        place(clip, c["in"], c.out - c["in"]);
        lane.appendChild(clip);
      });
      row.appendChild(lane);
      box.appendChild(row);
    });
    var crow = el("div", "row markers");
    crow.appendChild(el("span", "label", "Markers"));
    var clane = el("div", "lane");
    cut.markers.forEach(function (m) {
      var mk = el("div", "marker cut-marker color-" + String(m.color).toLowerCase());
      mk.title = tcOf(m.frame) + " " + (m.name || "") + " " + (m.text || "");
      place(mk, m.frame, m.duration);
      clane.appendChild(mk);
    });
    crow.appendChild(clane);
    box.appendChild(crow);
    var mrow = el("div", "row markers notes-row");
    mrow.appendChild(el("span", "label", "Notes"));
    var mlane = el("div", "lane");
    notes.forEach(function (n) {
      var mk = el("div", "marker note-marker status-" + n.status + (n.cue ? " cue-" + n.cue : ""));
      mk.dataset.noteId = String(n.id);
      mk.dataset.frame = String(n.frame);
      mk.title = n.tc + " " + n.author + ": " + n.text;
      place(mk, n.frame, n.duration);
      mk.addEventListener("click", function (e) { e.stopPropagation(); seek(n.frame); });
      mlane.appendChild(mk);
    });
    mrow.appendChild(mlane);
    box.appendChild(mrow);
    var head = el("div", "playhead");
    box.appendChild(head);
    box.onclick = function (e) {
      var lanes = box.querySelector(".lane").getBoundingClientRect();
      var x = (e.clientX - lanes.left) / lanes.width;
      if (x >= 0 && x <= 1) { seek(Math.floor(x * cut.frames)); }
    };
    show(current);
  }
  window.addEventListener("resize", function () { if (cut) { drawTimeline(); } });

  // ---------------------------------------------------------------------------- drawing
  function sizeOverlay() {
    var r = overlay.getBoundingClientRect();
    overlay.width = Math.max(2, Math.round(r.width));
    overlay.height = Math.max(2, Math.round(r.height));
  }
  function paint(list, colour) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 3;
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    list.forEach(function (s) {
      if (!s.length) { return; }
      ctx.beginPath();
      ctx.moveTo(s[0][0] * overlay.width, s[0][1] * overlay.height);
      s.forEach(function (p) { ctx.lineTo(p[0] * overlay.width, p[1] * overlay.height); });
      if (s.length === 1) { ctx.lineTo(s[0][0] * overlay.width + 1, s[0][1] * overlay.height + 1); }
      ctx.stroke();
    });
  }
  function drawOverlay() {
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    shownNote = null;
    notes.forEach(function (n) {
      if (n.drawing && current >= n.frame && current <= n.frame + n.duration) {
        paint(n.drawing, n.status === "open" ? "#ff3b30" : "#34c759");
        shownNote = n.id;
      }
    });
    paint(strokes, "#ffd60a");
  }
  function point(e) {
    var r = overlay.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)),
            Math.min(1, Math.max(0, (e.clientY - r.top) / r.height))];
  }
  $("draw-toggle").addEventListener("change", function (e) {
    drawing = e.target.checked;
    overlay.classList.toggle("drawing", drawing);
    if (drawing) { video.pause(); sizeOverlay(); drawOverlay(); }
  });
  overlay.addEventListener("pointerdown", function (e) {
    if (!drawing) { return; }
    activeStroke = [point(e)];
    strokes.push(activeStroke);
    overlay.setPointerCapture(e.pointerId);
  });
  overlay.addEventListener("pointermove", function (e) {
    if (activeStroke) { activeStroke.push(point(e)); drawOverlay(); }
  });
  overlay.addEventListener("pointerup", function () { activeStroke = null; drawOverlay(); });
  $("clear-drawing").addEventListener("click", function () { strokes = []; drawOverlay(); });

  // ---------------------------------------------------------------------------- notes
  $("mark-in").addEventListener("click", function () { markIn = current; markOut = null; show(current); });
  $("mark-out").addEventListener("click", function () {
    if (markIn === null || current < markIn) { markIn = current; }
    markOut = current;
    show(current);
  });
  $("clear-range").addEventListener("click", function () { markIn = markOut = null; show(current); });

  var authorBox = $("note-author");
  if (authorBox) {
    authorBox.value = window.localStorage.getItem("posthouse.author") || "";
    authorBox.addEventListener("change", function () {
      window.localStorage.setItem("posthouse.author", authorBox.value.trim());
    });
  }

  function renderNotes() {
    var list = $("notes");
    list.textContent = "";
    notes.forEach(function (n) {
      var li = el("li", "note status-" + n.status);
      li.dataset.noteId = String(n.id);
      li.dataset.frame = String(n.frame);
      var head = el("div", "note-head");
      var at = el("a", "note-tc", n.tc + (n.tc_out ? " – " + n.tc_out : ""));
      at.href = "#";
      at.addEventListener("click", function (e) { e.preventDefault(); seek(n.frame); });
      head.appendChild(at);
      head.appendChild(el("span", "note-author", n.author));
      head.appendChild(el("span", "badge " + n.status, n.status));
      if (n.cue) { head.appendChild(el("span", "badge cue", n.cue.toUpperCase() + " cue")); }
      if (n.drawing) { head.appendChild(el("span", "badge", "drawing")); }
      li.appendChild(head);
      li.appendChild(el("p", "note-text", n.text));
      if (canEdit) {
        var tools = el("div", "note-tools");
        var toggle = el("button", "status-btn", n.status === "open" ? "Mark addressed" : "Reopen");
        toggle.type = "button";
        toggle.addEventListener("click", function () {
          update(n.id, { status: n.status === "open" ? "addressed" : "open" });
        });
        tools.appendChild(toggle);
        var pick = el("select", "cue-select");
        [["", "Turn into cue…"], ["adr", "ADR cue"], ["music", "Music cue"], ["vfx", "VFX shot"]].forEach(function (o) {
          var opt = el("option", "", o[1]);
          opt.value = o[0];
          if ((n.cue || "") === o[0]) { opt.selected = true; }
          pick.appendChild(opt);
        });
        pick.addEventListener("change", function () { update(n.id, { cue: pick.value }); });
        tools.appendChild(pick);
        li.appendChild(tools);
      }
      list.appendChild(li);
    });
  }

  function update(id, body) {
    send("POST", "/api/notes/" + id, body).then(reloadNotes).catch(fail);
  }
  function fail(err) {
    var box = $("note-error");
    box.textContent = String(err.message || err);
    box.hidden = false;
  }
  function reloadNotes() {
    return fetch(api + "/notes", { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (data) { notes = data; renderNotes(); drawTimeline(); });
  }

  $("note-form").addEventListener("submit", function (e) {
    e.preventDefault();
    $("note-error").hidden = true;
    var text = $("note-text").value.trim();
    if (!text) { return; }
    var from = markIn !== null ? markIn : current;
    var body = {
      frame: from,
      duration: markIn !== null && markOut !== null ? markOut - markIn + 1 : 0,  // the out mark is inclusive
      text: text,
      drawing: strokes.length ? strokes : null
    };
    if (authorBox) {
      body.author = authorBox.value.trim();
      window.localStorage.setItem("posthouse.author", body.author);
    }
    $("add-note").disabled = true;
    send("POST", api + "/notes", body).then(function () {
      $("note-text").value = "";
      strokes = [];
      markIn = markOut = null;
      $("draw-toggle").checked = false;
      drawing = false;
      overlay.classList.remove("drawing");
      return reloadNotes();
    }).catch(fail).then(function () { $("add-note").disabled = false; });
  });

  // ---------------------------------------------------------------------------- render job
  function watchRender() {
    fetch(api, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      $("render-state").textContent = "render: " + data.render.state + (data.render.error ? " — " + data.render.error : "");
      if (data.media) { window.location.reload(); return; }
      if (data.render.state === "running") { window.setTimeout(watchRender, 1000); }
    });
  }
  var renderBtn = $("render-btn");
  if (renderBtn) {
    renderBtn.addEventListener("click", function () {
      renderBtn.disabled = true;
      send("POST", api + "/render").then(watchRender).catch(fail);
    });
  }

  // ---------------------------------------------------------------------------- start
  fetch(api, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
    cut = data;
    notes = data.notes;
    if (data.media) {
      video.src = data.media;
      video.addEventListener("loadedmetadata", function () { sizeOverlay(); seek(current); }, { once: true });
    } else {
      $("no-media").hidden = false;
      if (data.render.state === "running") { watchRender(); }
    }
    renderNotes();
    drawTimeline();
    sizeOverlay();
    tick();
    root.dataset.ready = "yes";
  });
})();
