/* Timecode labels from frame counts (SMPTE 12M drop-frame aware). Exposed as window.posthouseTC. */
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  /** Label of `n` frames since midnight at integer `timebase` (24, 25, 30, 60...); drop-frame when `drop`. */
  function label(n, timebase, drop) {
    var perDay = timebase * 86400;
    var dpm = drop ? timebase / 15 : 0;
    if (drop) {
      perDay = timebase * 86400 - dpm * (24 * 60 - 24 * 6);
      n = ((n % perDay) + perDay) % perDay;
      var per10 = timebase * 600 - dpm * 9;
      var per1 = timebase * 60 - dpm;
      var d = Math.floor(n / per10), m = n % per10;
      n += dpm * 9 * d + (m > dpm ? dpm * Math.floor((m - dpm) / per1) : 0);
    } else {
      n = ((n % perDay) + perDay) % perDay;
    }
    var ff = n % timebase;
    var ss = Math.floor(n / timebase) % 60;
    var mm = Math.floor(n / (timebase * 60)) % 60;
    var hh = Math.floor(n / (timebase * 3600)) % 24;
    return pad(hh) + ":" + pad(mm) + ":" + pad(ss) + (drop ? ";" : ":") + pad(ff);
  }
  /** Frames since midnight of a label "HH:MM:SS:FF" (";" before FF means drop-frame). */
  function parse(text, timebase) {
    var m = /^\s*(\d{1,2})[:;.](\d{2})[:;.](\d{2})([:;.])(\d{2})\s*$/.exec(text);
    if (!m) { return null; }
    var hh = +m[1], mm = +m[2], ss = +m[3], ff = +m[5], drop = m[4] === ";";
    var total = ((hh * 60 + mm) * 60 + ss) * timebase + ff;
    if (drop) {
      var dpm = timebase / 15, minutes = hh * 60 + mm;
      total -= dpm * (minutes - Math.floor(minutes / 10));
    }
    return total;
  }
  window.posthouseTC = { label: label, parse: parse };
})();
