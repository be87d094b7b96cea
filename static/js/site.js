// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function announce(button, text) {
    const original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = text;
    setTimeout(function () { button.textContent = original; }, 1500);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Fallback for plain-HTTP origins such as 127.0.0.1 without TLS.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  // <button data-copy="text">: a real button, so Enter and Space work from the keyboard.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    copyText(button.dataset.copy).then(
      function () { announce(button, "Copied"); },
      function () { announce(button, "Press Ctrl+C"); }
    );
  });

  // htmx requests carry the CSRF token from the CSRF cookie, as Django's documentation shows
  // for AJAX: pages hold no token of their own, so a cached page is the same for everyone.
  function csrfToken() {
    const name = document.body.dataset.csrfCookie + "=";
    const cookie = document.cookie.split("; ").find(function (c) { return c.startsWith(name); });
    return cookie ? decodeURIComponent(cookie.slice(name.length)) : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    const token = csrfToken();
    if (token && !event.detail.headers["X-CSRFToken"]) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  // A button that htmx disables while its request is under way (hx-disabled-elt) drops the
  // keyboard focus to the page; once the request ends, the focus goes back to it.
  const focusDuringRequest = new WeakMap();

  document.addEventListener("htmx:beforeRequest", function (event) {
    const active = document.activeElement;
    if (active && active !== document.body && event.detail.elt.contains(active)) {
      focusDuringRequest.set(event.detail.elt, active);
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const was = focusDuringRequest.get(event.detail.elt);
    focusDuringRequest.delete(event.detail.elt);
    const lost = !document.activeElement || document.activeElement === document.body;
    if (was && lost && was.isConnected && !was.disabled) was.focus();
  });

  // A message under a block's toolbar (such as "Your sandbox is being removed") is about the
  // last action there: the next Run, Run all or Reset in that block clears it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.requestConfig.verb !== "post") return;
    const block = event.detail.elt.closest("figure.snippet");
    if (!block) return;
    block.querySelectorAll(".snippet-notice [role=alert]").forEach(function (message) {
      message.remove();
    });
  });

  // The header search's popover of results closes on Esc or a click outside the search box;
  // typing opens it again. (Esc also clears a search input: the empty search answers nothing.)
  function closeSearchPopover() {
    const popover = document.getElementById("search-popover");
    if (!popover || !popover.firstChild) return;
    const hadFocus = popover.contains(document.activeElement);
    popover.replaceChildren();
    if (hadFocus) document.getElementById("site-search").focus();  // not lost to the page
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && event.target.closest && event.target.closest(".search-box-wrap")) {
      closeSearchPopover();
    }
  });

  document.addEventListener("click", function (event) {
    if (!event.target.closest(".search-box-wrap")) closeSearchPopover();
  });

  // Confirmation for destructive buttons without inline script: <button data-confirm="...">.
  // Asked while the submit event is captured on its way down, before htmx's listener on the
  // form sends the request; a cancelled submit then never reaches the form (nor htmx).
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
