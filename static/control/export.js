// django-import-export's export page: its "Select all" box calls onSelectToggleChange (from
// import_export/export_selectable_fields.js) through an onchange attribute, which the
// Content-Security-Policy does not run. The same handler, bound here.
for (const toggle of document.querySelectorAll("input.select-toggle")) {
  toggle.addEventListener("change", (event) => window.onSelectToggleChange(event));
}
