// "Add another" in a table of rows with positions (a talk's notes and blocks, a day's talks, a
// block's lines): the new row starts one past the largest position of its table, so rows
// added one after another keep the order they were added in (Django copies one template row,
// whose position the server set one past the rows there were, to each of them).
document.addEventListener("formset:added", (event) => {
  const input = event.target.querySelector("input[name$='-position']");
  const prefix = event.detail && event.detail.formsetName;
  if (!input || !prefix) return;
  const positions = [...document.querySelectorAll(`input[name^='${prefix}-'][name$='-position']`)]
    .filter((other) => other !== input && !other.name.includes("__prefix__"))
    .map((other) => Number.parseInt(other.value, 10))
    .filter(Number.isFinite);
  if (positions.length) input.value = Math.max(...positions) + 1;
});
