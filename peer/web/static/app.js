// Live updates and small comforts; every page works without this script.
// - Server-Sent Events from /events: on a change, fetch this page again and swap each
//   element marked data-live (forms are never swapped, so typing is never lost).
// - The peer stopping: the stream closes (or its 1 s ping stops); within 3 s a banner says so,
//   forms are held instead of sent, drafts stay. The page reconnects by itself to the same
//   address and catches up without a reload.
// - Drafts of every text field are kept in sessionStorage until sent.
// - Unread messages: the Chat tab's badge and the count in the title, on every page;
//   opt-in desktop notifications for private messages, mentions and announcements.
// - Chat: older messages load as one scrolls up; @name completion; Ctrl+Enter sends.
// - <time datetime> shown in the viewer's own time zone, in the page's language.
"use strict";
(function () {
  if (window.location.hash.indexOf("token=") >= 0) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  var body = document.body;
  var lang = document.documentElement.lang || undefined;
  var SILENCE_MS = 2500; // no event or ping for this long: the peer is gone

  function t(name, values) {
    var text = body.getAttribute("data-t-" + name) || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  var timeFormat = new Intl.DateTimeFormat(lang, {
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

  // ---- drafts: what is typed survives a reload, a refused form and a stopped peer ----------

  function draftKey(el) { return "draft:" + window.location.pathname + window.location.search + ":" + (el.id || el.name); }

  function keepDrafts() {
    document.querySelectorAll("form[method=post] textarea").forEach(function (el) {
      var key = draftKey(el);
      var saved = sessionStorage.getItem(key);
      if (saved && !el.value) el.value = saved;
      el.addEventListener("input", function () {
        if (el.value) sessionStorage.setItem(key, el.value); else sessionStorage.removeItem(key);
      });
    });
  }

  function forgetDrafts(form) {
    form.querySelectorAll("textarea").forEach(function (el) { sessionStorage.removeItem(draftKey(el)); });
  }

  // ---- the connection to the peer -----------------------------------------------------------

  var online = true, source = null, silence = null, retry = null;
  var seen = parseInt(body.getAttribute("data-live-version") || "0", 10), run = null;

  function banner(text, alert) {
    var box = document.getElementById("offline");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
    box.classList.toggle("back", !alert);
  }

  function goneOffline() {
    if (!online) return;
    online = false;
    banner(t("offline"), true);
    var box = document.getElementById("sync");
    if (box) box.querySelector(".dot").classList.remove("on");
  }

  function backOnline() {
    if (online) return;
    online = true;
    banner(t("back"), false);
    setTimeout(function () { if (online) banner("", false); }, 4000);
  }

  function heard() {
    clearTimeout(silence);
    silence = setTimeout(function () { goneOffline(); reconnect(); }, SILENCE_MS);
  }

  function reconnect() {
    if (source) { source.close(); source = null; }
    clearTimeout(retry);
    retry = setTimeout(function () {
      // A peer that answers 401 is running but no longer knows this browser (peerclass ui
      // --sign-out-all): say so instead of waiting for it; the text typed stays.
      fetch("/chat/unread.json", { credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401) { banner(t("signed-out"), true); retry = setTimeout(reconnect, 5000); }
          else listen();
        })
        .catch(function () { listen(); });
    }, 1000);
  }

  function listen() {
    if (!window.EventSource) return;
    source = new EventSource("/events");
    heard();
    source.addEventListener("change", function (e) {
      heard();
      var data = JSON.parse(e.data);
      var wasOffline = !online;
      backOnline();
      updateSync(data.sync);
      if (run === null) {
        run = data.run;
        if (data.version > seen) { seen = data.version; refresh(); checkUnread(); }
      } else if (data.run !== run || data.version > seen || wasOffline) {
        run = data.run; seen = data.version;
        refresh();
        checkUnread();
      }
    });
    source.addEventListener("ping", heard);
    source.onerror = function () { goneOffline(); reconnect(); };
  }

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
      last.textContent = (last.getAttribute("data-t-last") || "last sync") + " ";
      var tm = document.createElement("time");
      tm.setAttribute("datetime", sync.last_sync);
      last.appendChild(tm);
      localiseTimes(last);
    }
  }

  // Forms are held, not sent, while the peer is stopped: the text stays where it is.
  function holdForms() {
    document.addEventListener("submit", function (e) {
      var form = e.target;
      if (!online && form.method === "post") {
        e.preventDefault();
        banner(t("held"), true);
        return;
      }
      var confirmText = form.getAttribute("data-confirm");
      if (confirmText && !window.confirm(confirmText)) { e.preventDefault(); return; }
      if (form.method === "post") forgetDrafts(form);
    }, true);
  }

  // ---- live regions --------------------------------------------------------------------------

  function nearEnd(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 80; }
  function scrollToEnd(el) { el.scrollTop = el.scrollHeight; }

  function liveUrl() {
    var url = new URL(window.location.href);
    url.hash = "";
    var latest = document.getElementById("latest");
    var first = latest && latest.querySelector(".msg[data-id]");
    if (first) url.searchParams.set("from", first.getAttribute("data-id"));
    url.searchParams.delete("before");
    return url.toString();
  }

  var refreshing = false, again = false;

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(liveUrl(), { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var messages = document.getElementById("messages");
        var stick = messages && nearEnd(messages);
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var next = el.id && fresh.getElementById(el.id);
          if (!next || next.innerHTML === el.innerHTML) return;
          if (el.contains(document.activeElement) && document.activeElement.tagName === "TEXTAREA") return;
          var focused = document.activeElement && el.contains(document.activeElement)
            ? document.activeElement.getAttribute("href") : null;
          el.innerHTML = next.innerHTML;
          if (el.hasAttribute("data-unread")) el.setAttribute("data-unread", next.getAttribute("data-unread"));
          localiseTimes(el);
          if (focused) {
            var back = el.querySelector('[href="' + CSS.escape(focused) + '"]');
            if (back) back.focus();
          }
        });
        if (messages && stick) scrollToEnd(messages);
        showTitleCount();
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) { again = false; setTimeout(refresh, 300); }
      });
  }

  // ---- unread count in the title, desktop notifications -------------------------------------

  var baseTitle = document.title;

  function showTitleCount(total) {
    var badge = document.getElementById("nav-unread");
    if (total === undefined) total = badge ? parseInt(badge.getAttribute("data-unread") || "0", 10) : 0;
    document.title = (total > 0 ? "(" + total + ") " : "") + baseTitle;
  }

  var AFTER_KEY = "peerclass:notified-after";

  function checkUnread() {
    var after = localStorage.getItem(AFTER_KEY) || "";
    fetch("/chat/unread.json" + (after ? "?after=" + encodeURIComponent(after) : ""), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var badge = document.getElementById("nav-unread");
        if (badge && String(data.total) !== badge.getAttribute("data-unread")) {
          badge.setAttribute("data-unread", String(data.total));
          refresh();
        }
        showTitleCount(data.total);
        var known = localStorage.getItem(AFTER_KEY);
        if (known && BigInt(known) >= BigInt(data.after) && after) return; // another tab did it
        localStorage.setItem(AFTER_KEY, data.after);
        if (!after) return;
        data.alerts.forEach(notify);
      })
      .catch(function () {});
  }

  function notify(alert) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (localStorage.getItem("peerclass:notify") !== "on") return;
    var n = new Notification(alert.title, { body: alert.text, tag: alert.ts });
    n.onclick = function () { window.focus(); window.location.href = alert.url; };
  }

  function notificationToggle() {
    var button = document.getElementById("notify-toggle");
    if (!button || !("Notification" in window)) return;
    button.hidden = false;
    function show() {
      var on = Notification.permission === "granted" && localStorage.getItem("peerclass:notify") === "on";
      button.setAttribute("aria-pressed", on ? "true" : "false");
    }
    button.addEventListener("click", function () {
      if (button.getAttribute("aria-pressed") === "true") {
        localStorage.setItem("peerclass:notify", "off");
        show();
        return;
      }
      Notification.requestPermission().then(function (p) {
        if (p === "granted") { localStorage.setItem("peerclass:notify", "on"); banner(t("notify-on"), false); }
        else banner(t("notify-denied"), true);
        setTimeout(function () { if (online) banner("", false); }, 4000);
        show();
      });
    });
    show();
  }

  // ---- chat: older messages on scroll, @mentions, Ctrl+Enter ------------------------------

  // However far back one scrolls, the page keeps at most KEPT older messages: those nearest
  // the newest are let go (a link jumps back to the newest), so memory stays bounded.
  var KEPT = 1000;

  function trimOlder(older, messages) {
    var all = older.querySelectorAll(".msg");
    if (all.length <= KEPT) return;
    for (var i = KEPT; i < all.length; i++) all[i].remove();
    if (!older.querySelector(".jump-newest")) {
      var p = document.createElement("p");
      p.className = "jump-newest";
      var a = document.createElement("a");
      a.href = "/chat?" + messages.getAttribute("data-conversation");
      a.textContent = t("newest");
      p.appendChild(a);
      older.appendChild(p);
    }
  }

  function olderOnScroll() {
    var messages = document.getElementById("messages");
    var older = document.getElementById("older");
    if (!messages || !older) return;
    var loading = false;
    function load() {
      if (loading || older.getAttribute("data-more") !== "True") return;
      var oldest = older.getAttribute("data-oldest");
      if (!oldest) return;
      loading = true;
      var url = "/chat/older?" + messages.getAttribute("data-conversation") + "&before=" + oldest;
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var page = new DOMParser().parseFromString(html, "text/html").getElementById("page");
          localiseTimes(page);
          var link = older.querySelector(".load-older");
          var height = messages.scrollHeight, top = messages.scrollTop;
          var frag = document.createDocumentFragment();
          Array.prototype.slice.call(page.children).forEach(function (el) { frag.appendChild(el); });
          if (link) link.remove();
          older.insertBefore(frag, older.firstChild);
          trimOlder(older, messages);
          older.setAttribute("data-more", page.getAttribute("data-more"));
          older.setAttribute("data-oldest", page.getAttribute("data-oldest"));
          messages.scrollTop = top + (messages.scrollHeight - height);
        })
        .catch(function () {})
        .then(function () { loading = false; if (messages.scrollTop < 200) setTimeout(load, 50); });
    }
    messages.addEventListener("scroll", function () { if (messages.scrollTop < 200) load(); });
    var link = older.querySelector(".load-older a");
    if (link) link.addEventListener("click", function (e) { e.preventDefault(); load(); });
  }

  function mentions(text) {
    var list = document.getElementById("mention-list");
    if (!list) return;
    var names = [];
    try { names = JSON.parse(text.getAttribute("data-names") || "[]"); } catch (err) { names = []; }
    var active = -1, matches = [];
    function word() {
      var upto = text.value.slice(0, text.selectionStart);
      var m = /(^|\s)@([^\s@]*)$/.exec(upto);
      return m ? m[2] : null;
    }
    function close() { list.hidden = true; list.innerHTML = ""; active = -1; text.removeAttribute("aria-activedescendant"); }
    function pick(name) {
      var at = text.selectionStart, upto = text.value.slice(0, at);
      var start = upto.lastIndexOf("@");
      text.value = text.value.slice(0, start) + "@" + name + " " + text.value.slice(at);
      var caret = start + name.length + 2;
      text.setSelectionRange(caret, caret);
      close();
      text.dispatchEvent(new Event("input"));
    }
    function show() {
      var w = word();
      if (w === null) { close(); return; }
      var low = w.toLowerCase();
      matches = names.filter(function (n) { return n.toLowerCase().indexOf(low) === 0; }).slice(0, 8);
      if (!matches.length) { close(); return; }
      list.innerHTML = "";
      matches.forEach(function (n, i) {
        var li = document.createElement("li");
        li.id = "mention-" + i; li.setAttribute("role", "option"); li.textContent = "@" + n;
        li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(n); });
        list.appendChild(li);
      });
      active = 0; mark();
      list.hidden = false;
    }
    function mark() {
      Array.prototype.forEach.call(list.children, function (li, i) { li.setAttribute("aria-selected", i === active ? "true" : "false"); });
      text.setAttribute("aria-activedescendant", "mention-" + active);
    }
    text.addEventListener("input", show);
    text.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); active = (active + 1) % matches.length; mark(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); active = (active + matches.length - 1) % matches.length; mark(); }
      else if ((e.key === "Enter" || e.key === "Tab") && !e.ctrlKey && !e.metaKey) { e.preventDefault(); pick(matches[active]); }
      else if (e.key === "Escape") { e.preventDefault(); close(); }
    });
    text.addEventListener("blur", function () { setTimeout(close, 100); });
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
        ? t("chars", { n: n.toLocaleString(lang), limit: limit.toLocaleString(lang) }) +
          (n > limit ? ": " + t("too-long") : "")
        : "";
      counter.classList.toggle("error", n > limit);
    }
    text.addEventListener("input", count);
    document.querySelectorAll("form textarea").forEach(function (area) {
      area.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          area.form.requestSubmit();
        }
      });
    });
    mentions(text);
    count();
  }

  document.addEventListener("DOMContentLoaded", function () {
    localiseTimes(document);
    fillTimezone();
    keepDrafts();
    holdForms();
    composer();
    olderOnScroll();
    notificationToggle();
    showTitleCount();
    var messages = document.getElementById("messages");
    if (messages) {
      var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
      if (target && messages.contains(target)) target.scrollIntoView(); else scrollToEnd(messages);
    }
    listen();
    checkUnread();
  });
})();
