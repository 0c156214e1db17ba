// Keepwarm's only script: progressive enhancements. Every form works without it.
"use strict";

// Preselect the browser's time zone on the registration form.
function detectZone() {
  const select = document.querySelector("[data-detect-zone]");
  if (!select || select.dataset.touched) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && [...select.options].some((o) => o.value === zone)) select.value = zone;
}

// People rows on the interview form: add and remove in place.
function renumber(row, index) {
  row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach((el) => {
    for (const attr of ["name", "id", "for", "aria-describedby"]) {
      const value = el.getAttribute(attr);
      if (value) el.setAttribute(attr, value.replace(/people-\d+-/g, `people-${index}-`));
    }
  });
  const legend = row.querySelector("legend");
  if (legend) legend.textContent = `Person ${index + 1}`;
}

function clearRow(row) {
  row.querySelectorAll("input, textarea, select").forEach((el) => {
    if (el.type === "hidden" && el.name.endsWith("contact_id")) el.value = "0";
    else if (el.type === "checkbox") el.checked = false;
    else if (el.tagName === "SELECT") el.selectedIndex = el.name.endsWith("contact_id") ? 0 : el.selectedIndex;
    else if (el.type !== "hidden") el.value = "";
  });
  row.querySelectorAll(".error").forEach((el) => el.remove());
  row.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
  row.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
}

function addRemoveButton(row) {
  const holder = row.querySelector("[data-remove-row]");
  if (!holder || holder.querySelector("button")) return;
  holder.querySelector(".field").hidden = true;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button secondary small";
  button.textContent = "Remove this person";
  button.addEventListener("click", () => {
    const container = row.parentElement;
    const name = row.querySelector("input[name$='-name']");
    row.remove();
    const rows = container.querySelectorAll("[data-person]");
    rows.forEach((r, i) => renumber(r, i));
    const status = document.getElementById("people-status");
    if (status) status.textContent = `Removed ${name && name.value ? name.value : "a person"}.`;
    if (!rows.length) addRow(container);
  });
  holder.appendChild(button);
}

function addRow(container) {
  const rows = container.querySelectorAll("[data-person]");
  const template = rows[rows.length - 1];
  const row = template.cloneNode(true);
  clearRow(row);
  renumber(row, rows.length);
  const holder = row.querySelector("[data-remove-row]");
  if (holder) holder.querySelectorAll("button").forEach((b) => b.remove());
  container.appendChild(row);
  addRemoveButton(row);
  const first = row.querySelector("input:not([type=hidden]), select");
  if (first) first.focus();
}

function enhancePeople() {
  const container = document.querySelector("[data-people]");
  const add = document.querySelector("[data-add-person]");
  if (!container || !add) return;
  const status = document.createElement("p");
  status.id = "people-status";
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  container.after(status);
  container.querySelectorAll("[data-person]").forEach(addRemoveButton);
  add.addEventListener("click", (event) => {
    event.preventDefault();
    addRow(container);
    status.textContent = "Added a row for another person.";
  });
}

// Copy buttons (the calendar feed address): shown only where the script runs.
function enhanceCopyButtons() {
  document.querySelectorAll("[data-copy]").forEach((button) => {
    const field = document.getElementById(button.dataset.copy);
    const status = document.getElementById("feed-copy-status");
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = "Copied";
        if (status) status.textContent = "Address copied.";
      } catch {
        field.select();
        if (status) status.textContent = "Press Ctrl+C or Command+C to copy the selected address.";
      }
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  detectZone();
  enhancePeople();
  enhanceCopyButtons();
});
