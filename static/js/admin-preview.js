// A "Preview" button under every Markdown textarea in the admin: renders through the same
// server-side Markdown + nh3 pipeline as saving does, so what you see is what readers get.
(function () {
  "use strict";
  const MARKDOWN_FIELDS = /(^|-)(intro|summary|description|text|resolution)$/;

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function previewUrl() {
    const path = window.location.pathname;
    const root = path.slice(0, path.indexOf("/talks/") + 1);
    return root + "talks/day/markdown-preview/";
  }

  // What the text area is called: a row of an inline names its own ("Text of highlight 3",
  // talks/admin.py NamedRowsFormSet), a form field has a label.
  function nameOf(textarea) {
    const own = textarea.getAttribute("aria-label");
    if (own) return own;
    const label = textarea.id && document.querySelector('label[for="' + CSS.escape(textarea.id) + '"]');
    return label ? label.textContent.replace(/:\s*$/, "").trim() : "";
  }

  function attach(textarea) {
    if (textarea.dataset.previewAttached) return;
    textarea.dataset.previewAttached = "1";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button markdown-preview-button";
    button.textContent = "Preview";
    const name = nameOf(textarea);
    // Many buttons say "Preview": each is named by what it previews.
    if (name) button.setAttribute("aria-label", "Preview: " + name);
    const output = document.createElement("div");
    output.className = "markdown-preview";
    output.setAttribute("aria-live", "polite");
    output.hidden = true;
    button.addEventListener("click", function () {
      const body = new URLSearchParams({ text: textarea.value });
      fetch(previewUrl(), {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken() },
        body: body,
        credentials: "same-origin",
      })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          output.hidden = false;
          if (data.error) {
            output.textContent = data.error;
          } else {
            // Already sanitised by nh3 on the server.
            output.innerHTML = data.html || "<p><em>Nothing to preview.</em></p>";
          }
        })
        .catch(function () {
          output.hidden = false;
          output.textContent = "The preview could not be loaded; your text is unchanged.";
        });
    });
    textarea.after(button, output);
  }

  function scan() {
    document.querySelectorAll("textarea").forEach(function (textarea) {
      if (MARKDOWN_FIELDS.test(textarea.name)) attach(textarea);
    });
  }

  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("formset:added", scan);
})();
