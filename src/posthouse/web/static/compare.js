/* Side-by-side compare: both versions step, seek and play together. */
(function () {
  "use strict";
  var root = document.getElementById("compare");
  if (!root) { return; }
  var vids = Array.prototype.slice.call(document.querySelectorAll("video.cmp"));
  var fps = +root.dataset.rateNum / +root.dataset.rateDen, tb = +root.dataset.timebase;
  var start = +root.dataset.start, drop = root.dataset.drop === "yes", current = 0;
  function show() { document.getElementById("cmp-tc").textContent = window.posthouseTC.label(start + current, tb, drop); }
  function seek(f) {
    current = Math.max(0, f);
    vids.forEach(function (v) { v.pause(); v.currentTime = (current + (+v.dataset.offset || 0) + 0.5) / fps; });
    show();
  }
  document.getElementById("cmp-back").addEventListener("click", function () { seek(current - 1); });
  document.getElementById("cmp-fwd").addEventListener("click", function () { seek(current + 1); });
  document.getElementById("cmp-play").addEventListener("click", function () {
    if (!vids.length) { return; }
    var playing = !vids[0].paused;
    vids.forEach(function (v) { if (playing) { v.pause(); } else { v.play(); } });
    if (playing) { seek(Math.floor(vids[0].currentTime * fps + 1e-3) - (+vids[0].dataset.offset || 0)); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("#changes tr.change"), function (tr) {
    tr.addEventListener("click", function () { seek(+tr.dataset.frame); });
  });
  show();
})();
