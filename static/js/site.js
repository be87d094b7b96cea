// Small progressive enhancements (a module: strict and scoped); every page works without them.
const on = document.addEventListener.bind(document);

// Said aloud too: a Copy button's aria-label hides its text.
const live = document.body.appendChild(document.createElement("p"));
live.className = "visually-hidden";
live.setAttribute("role", "status");

function announce(button, text) {
  const original = button.dataset.label || button.textContent;
  button.dataset.label = original;
  button.textContent = live.textContent = text;
  setTimeout(() => { button.textContent = original; live.textContent = ""; }, 1500);
}

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain-HTTP origins (127.0.0.1):
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

// <button data-copy>: a real button (Enter, Space), shown from here (site.css). It copies its
// line without the "$ " prompt, or with data-copy="all" its block's lines; refused, it selects
// a line for Ctrl+C (a block's lines have controls between them).
document.documentElement.classList.add("can-copy");
on("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const scope = button.closest(button.dataset.copy === "all" ? ".snippet" : ".snippet-line");
  const codes = [...scope.querySelectorAll("pre.highlight > code")];
  copyText(codes.map((code) => code.textContent.replace(/^\$ /, "")).join("\n")).then(
    () => announce(button, "Copied"),
    () => {
      if (codes[1]) return announce(button, "Copy failed");
      getSelection().selectAllChildren(codes[0]);
      announce(button, "Press Ctrl+C");
    }
  );
});

// htmx sends the CSRF cookie's token: pages hold none, so a cached page suits everyone.
function csrfToken() {
  const name = document.body.dataset.csrfCookie + "=";
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(name));
  return cookie ? decodeURIComponent(cookie.slice(name.length)) : "";
}

on("htmx:configRequest", (event) => {
  const token = csrfToken();
  if (token && !event.detail.headers["X-CSRFToken"]) {
    event.detail.headers["X-CSRFToken"] = token;
  }
});

// A button htmx disables during its request (hx-disabled-elt) gets the focus back after.
const focusDuringRequest = new WeakMap();

on("htmx:beforeRequest", (event) => {
  const active = document.activeElement;
  if (active && active !== document.body && event.detail.elt.contains(active)) {
    focusDuringRequest.set(event.detail.elt, active);
  }
});

on("htmx:afterRequest", (event) => {
  const was = focusDuringRequest.get(event.detail.elt);
  focusDuringRequest.delete(event.detail.elt);
  const lost = !document.activeElement || document.activeElement === document.body;
  if (was && lost && was.isConnected && !was.disabled) was.focus();
});

// A polled part (run cell, swarm picture) that changed is swapped whole: htmx gives the focus
// back by id, and the <details> open in it (they have ids) open again.
let open = [];
on("htmx:beforeSwap", (event) => {
  open = [...event.detail.target.querySelectorAll("details[open][id]")].map((d) => d.id);
});
on("htmx:afterSwap", () => {
  open.forEach((id) => document.getElementById(id)?.setAttribute("open", ""));
});

// A message under a block's toolbar is about its last action: the next one clears it.
on("htmx:beforeRequest", (event) => {
  if (event.detail.requestConfig.verb !== "post") return;
  const block = event.detail.elt.closest("figure.snippet");
  if (!block) return;
  block.querySelectorAll(".snippet-notice [role=alert]").forEach((message) => message.remove());
});

// The header search's popover closes on Esc (keeping the words), a click elsewhere, the focus
// leaving it (it would cover the focused link) or following a result here; late answers to the
// typing (debounced) are dropped.
let searching = false;
function closeSearchPopover(event) {
  const popover = document.getElementById("search-popover");
  if (!popover || !(searching || popover.firstChild)) return;
  searching = false;
  if (event) event.preventDefault();
  const hadFocus = popover.contains(document.activeElement);
  popover.replaceChildren();
  popover.nextElementSibling.replaceChildren();  // its status
  if (hadFocus) popover.parentNode.querySelector("input").focus();
}
on("input", (event) => {
  if (event.target.matches("[aria-controls=search-popover]")) searching = true;
});
on("htmx:beforeSwap", (event) => {
  if (event.detail.target.id === "search-popover") event.detail.shouldSwap &&= searching;
});
on("keydown", (event) => {
  if (event.key === "Escape") closeSearchPopover(event);
});
on("click", (event) => {
  const link = event.target.closest("#search-popover a");
  if (!event.target.closest(".search-box-wrap")) closeSearchPopover();
  // After the jump (a removed link is not followed), with the focus on the note.
  else if (link?.pathname === location.pathname) setTimeout(() => {
    const note = document.querySelector(":target");
    note?.setAttribute("tabindex", "-1");
    note?.focus({ preventScroll: true });
    closeSearchPopover();
  });
});
on("focusout", (event) => {
  const wrap = event.target.closest(".search-box-wrap");
  if (wrap && event.relatedTarget && !wrap.contains(event.relatedTarget)) closeSearchPopover();
});

// /search/'s address has no empty filters; after Back the fields follow it (not the value
// attributes that history snapshots keep).
const FIELDS = ["q", "conference", "day", "tag"];
on("htmx:configRequest", (event) => {
  if (event.detail.elt.closest(".search-form")) FIELDS.forEach((name) => {
    if (event.detail.parameters[name] === "") delete event.detail.parameters[name];
  });
});

function followAddress() {
  const form = document.querySelector(".search-form");
  const params = new URLSearchParams(location.search);
  if (form) FIELDS.forEach((name) => {
    const field = form.elements[name];
    field.value = params.get(name) || "";
    if (field.selectedIndex < 0) field.value = "";  // a gone filter
  });
}
on("htmx:historyRestore", followAddress);
addEventListener("popstate", () => setTimeout(followAddress));

// Previous/Next results: focus the first new one, show the count.
on("htmx:afterSettle", (event) => {
  const first = event.target.querySelector(".search-hit-heading");
  if (event.target.id !== "search-results" || !first
      || !event.detail.requestConfig.elt.hasAttribute("data-search-pager")) return;
  document.getElementById("search-status").scrollIntoView();
  first.focus({ preventScroll: true });
});

// <button data-confirm="...">: asked as the submit event is captured, before htmx's listener
// on the form sends the request; a cancelled submit never reaches it.
on("submit", (event) => {
  const button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
