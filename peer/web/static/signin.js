// Sign in with the token from the address peerclass printed (#token=...). The fragment never
// reaches the server by itself, so this posts it, after removing it from the address bar.
"use strict";
(function () {
  var match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!match) return;
  history.replaceState(null, "", window.location.pathname + window.location.search);
  var form = document.getElementById("signin");
  document.getElementById("token").value = decodeURIComponent(match[1]);
  form.submit();
})();
