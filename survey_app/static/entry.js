// Paper data entry: in a numbered choice list, typing a choice's number selects it (a radio)
// or toggles it (a checkbox), so clerks need not reach for the arrow keys. Tab still moves
// to the next question; without this script the page works the same, only slower.
document.addEventListener("keydown", function (event) {
  var input = event.target;
  if (!(input instanceof HTMLInputElement) || (input.type !== "radio" && input.type !== "checkbox")) return;
  if (event.ctrlKey || event.altKey || event.metaKey || !/^[0-9]$/.test(event.key)) return;
  var group = input.closest("[data-digits]");
  if (!group) return;
  var match = group.querySelector('input[name="' + input.name + '"][value="' + event.key + '"]');
  if (!match) return;
  event.preventDefault();
  if (match.type === "radio") match.checked = true; else match.checked = !match.checked;
  match.focus();
});
