// slotbook's booking page: a little help where script runs; every page works without it.
// 1. The visitor's own zone: a page showing times in the provider's zone, when the browser
//    says it is somewhere else, is shown again in the browser's zone.
// 2. A hold's countdown: "(29:41 left)" after the time it lapses.
(function () {
  "use strict";
  var body = document.body;
  var shown = body.getAttribute("data-zone");
  if (shown !== null && body.getAttribute("data-zone-given") === "false") {
    var here = "";
    try { here = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { here = ""; }
    if (here && here !== shown && /^[A-Za-z0-9_+\-\/]+$/.test(here)) {
      var address = new URL(window.location.href);
      address.searchParams.set("zone", here);
      window.location.replace(address.toString());
      return;
    }
  }
  var counters = document.querySelectorAll("[data-until]");
  if (counters.length === 0) { return; }
  function tick() {
    var now = Date.now() / 1000;
    counters.forEach(function (counter) {
      var left = Math.max(0, Math.round(Number(counter.getAttribute("data-until")) - now));
      var minutes = Math.floor(left / 60), seconds = left % 60;
      counter.textContent = left > 0
        ? " (" + minutes + ":" + (seconds < 10 ? "0" : "") + seconds + " left)"
        : " (the hold has lapsed)";
    });
  }
  tick();
  window.setInterval(tick, 1000);
}());
