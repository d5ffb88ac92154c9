// Live updates and small comforts; every page works without this script.
// - Server-Sent Events from /events: on a change, fetch this page again and swap each
//   element marked data-live (forms are never swapped, so typing is never lost).
// - <time datetime> shown in the viewer's own time zone.
// - Ctrl+Enter sends a chat message; a character counter warns before the limit.
"use strict";
(function () {
  if (window.location.hash.indexOf("token=") >= 0) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  var timeFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short",
  });

  function localiseTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        el.textContent = timeFormat.format(when);
        el.title = when.toISOString();
      }
    });
  }

  function fillTimezone() {
    document.querySelectorAll("input.tz-offset").forEach(function (el) {
      el.value = String(new Date().getTimezoneOffset());
    });
    document.querySelectorAll("input[data-due-ms]").forEach(function (el) {
      var ms = parseInt(el.getAttribute("data-due-ms"), 10);
      if (!el.value && !isNaN(ms)) {
        var d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
        el.value = d.toISOString().slice(0, 16);
      }
    });
  }

  function scrollToEnd(el) { el.scrollTop = el.scrollHeight; }

  function nearEnd(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 80; }

  function updateSync(sync) {
    var box = document.getElementById("sync");
    if (!box || !sync) return;
    box.querySelector(".sync-text").textContent = sync.text;
    box.querySelector(".dot").classList.toggle("on", sync.connected > 0);
    var bar = box.querySelector(".sync-bar");
    bar.hidden = !sync.expected;
    bar.max = sync.expected || 1;
    bar.value = sync.receiving;
    if (sync.last_sync) {
      var last = box.querySelector(".sync-last");
      last.textContent = "last sync ";
      var t = document.createElement("time");
      t.setAttribute("datetime", sync.last_sync);
      last.appendChild(t);
      localiseTimes(last);
    }
  }

  var refreshing = false, again = false;

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var next = el.id && fresh.getElementById(el.id);
          if (!next || next.innerHTML === el.innerHTML) return;
          var stick = el.hasAttribute("data-scroll") && nearEnd(el);
          var focused = document.activeElement && el.contains(document.activeElement)
            ? document.activeElement.getAttribute("href") : null;
          el.innerHTML = next.innerHTML;
          localiseTimes(el);
          if (stick) scrollToEnd(el);
          if (focused) {
            var again = el.querySelector('[href="' + CSS.escape(focused) + '"]');
            if (again) again.focus();
          }
        });
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) { again = false; setTimeout(refresh, 300); }
      });
  }

  function listen() {
    if (!window.EventSource) return;
    var seen = parseInt(document.body.getAttribute("data-live-version") || "0", 10);
    var source = new EventSource("/events");
    source.addEventListener("change", function (e) {
      var data = JSON.parse(e.data);
      updateSync(data.sync);
      if (data.version > seen) { seen = data.version; refresh(); }
    });
  }

  function composer() {
    var text = document.getElementById("text");
    if (!text) return;
    var counter = text.form.querySelector(".counter");
    var limit = parseInt(text.getAttribute("data-limit"), 10);
    function count() {
      var n = text.value.length;
      if (!counter) return;
      counter.textContent = n > limit * 0.9
        ? n.toLocaleString() + " of " + limit.toLocaleString() + " characters" +
          (n > limit ? ": too long to send, split it" : "")
        : "";
      counter.classList.toggle("error", n > limit);
    }
    text.addEventListener("input", count);
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        text.form.requestSubmit();
      }
    });
    count();
  }

  document.addEventListener("DOMContentLoaded", function () {
    localiseTimes(document);
    fillTimezone();
    composer();
    var messages = document.querySelector("[data-scroll]");
    if (messages) scrollToEnd(messages);
    listen();
  });
})();
