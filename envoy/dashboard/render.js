// Table rows and the timeline, built with DOM nodes (never innerHTML: every text comes from users or the API).
const COMPENSATIONS = new Set(["cancelled", "payment refunded", "room released"]);

export function renderRows(table, items, cells, key) {
  const body = table.tBodies[0];
  const before = new Map([...body.rows].map((row) => [row.dataset.key, row.dataset.text]));
  const rows = items.map((item) => {
    const row = document.createElement("tr");
    for (const value of cells(item)) {
      const cell = document.createElement("td");
      if (value instanceof Node) cell.append(value);
      else cell.textContent = String(value ?? "");
      row.append(cell);
    }
    row.dataset.key = key ? item[key] : "";
    row.dataset.text = row.textContent;
    if (key && before.has(row.dataset.key) && before.get(row.dataset.key) !== row.dataset.text) row.classList.add("flash");
    return row;
  });
  if (rows.map((r) => r.dataset.text).join("\n") !== [...body.rows].map((r) => r.dataset.text).join("\n")) {
    body.replaceChildren(...rows);
  }
}

export function showTimeline(list, steps) {
  const items = steps.map((s) => {
    const item = document.createElement("li");
    const service = Object.assign(document.createElement("span"), { className: "service", textContent: s.service });
    const time = Object.assign(document.createElement("time"), { dateTime: s.at, textContent: s.at.slice(11, 23) });
    item.append(service, " ", Object.assign(document.createElement("strong"), { textContent: s.step }), " ", time);
    if (COMPENSATIONS.has(s.step)) item.classList.add("compensation");
    item.dataset.step = s.step;
    return item;
  });
  if (items.map((i) => i.textContent).join() !== [...list.children].map((i) => i.textContent).join()) {
    list.replaceChildren(...items);
  }
}
