// The console's page: every call goes to this server's own API (same origin, JSON), and every remembered
// text is put on the page with textContent, never as markup.
"use strict";

const state = { caller: "", shown: "" };

function $(id) { return document.getElementById(id); }

function say(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

async function api(action, body) {
  const response = await fetch("api/" + action, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  const answer = await response.json();
  if (!response.ok) { throw new Error(answer.error || ("HTTP " + response.status)); }
  return answer.result;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (className) { td.className = className; }
  row.appendChild(td);
  return td;
}

function line(parent, text, className) {
  const div = document.createElement("div");
  div.textContent = text;
  if (className) { div.className = className; }
  parent.appendChild(div);
}

function showCaller(view) {
  $("caller-view").hidden = false;
  $("summary").textContent = view.masked + ": " + view.memories.length + " memories";
  const profiles = $("profiles");
  profiles.replaceChildren();
  for (const profile of view.profiles) {
    const box = document.createElement("div");
    box.className = "profile";
    box.dataset.scope = profile.scope;
    line(box, "Profile " + profile.scope + ": name " + (profile.name || "-") + ", " + profile.calls + " calls");
    if (profile.last) { line(box, "Last call " + (profile.last.date || "") + ": " + (profile.last.summary || profile.last.title || "")); }
    for (const note of profile.notes) { line(box, "Note by " + note.author + ": " + note.text, "note"); }
    const greeting = profile.greeting || {};
    line(box, "Next call: " + greeting.greeting + (greeting.memory_summary ? " | " + greeting.memory_summary : ""), "greeting");
    profiles.appendChild(box);
  }
  for (const due of view.retention) { line(profiles, "Retention: the " + due.deletes + " " + due.ref + " is deleted on " + due.due); }
  const body = $("memories").querySelector("tbody");
  body.replaceChildren();
  for (const memory of view.memories) {
    const row = document.createElement("tr");
    row.dataset.id = memory.id;
    row.dataset.kind = memory.kind;
    cell(row, memory.text, "text");
    cell(row, memory.provenance.text, "origin");
    cell(row, memory.deleted_on || (memory.hidden_by_expiry ? "hidden, due" : "kept"), "when");
    const actions = cell(row, "");
    const correct = document.createElement("button");
    correct.textContent = "Correct";
    correct.className = "correct";
    correct.addEventListener("click", () => correctMemory(memory));
    const remove = document.createElement("button");
    remove.textContent = "Delete";
    remove.className = "delete danger";
    remove.addEventListener("click", () => deleteMemory(memory));
    actions.append(correct, " ", remove);
    body.appendChild(row);
  }
}

async function refreshAudit() {
  try {
    const records = await api("audit", { days: 7 });
    const body = $("audit").querySelector("tbody");
    body.replaceChildren();
    for (const record of records) {
      const row = document.createElement("tr");
      row.dataset.action = record.action;
      cell(row, record.at);
      cell(row, record.action, "action");
      cell(row, record.caller || "-");
      cell(row, record.outcome);
      cell(row, record.who + " (" + record.source + ")");
      const detail = record.detail || {};
      cell(row, Object.keys(detail).sort().map((k) => k + "=" + detail[k]).join(", "));
      body.appendChild(row);
    }
  } catch (error) {
    say("audit trail: " + error.message, true);
  }
}

async function act(label, work) {
  say(label + "...");
  try {
    await work();
    say(label + ": done");
  } catch (error) {
    say(label + ": " + error.message, true);
  }
  await refreshAudit();
}

async function reload() { showCaller(await api("show", { caller: state.caller })); }

async function find() {
  const typed = $("caller").value.trim();
  if (!typed || typed === state.shown) { return; }
  state.caller = typed;
  await act("Find", async () => {
    const found = await api("find", { caller: state.caller });
    // Once found, the box shows the caller masked, as everything else here does (the number stays in memory).
    state.shown = found.masked;
    $("caller").value = found.masked;
    await reload();
  });
}

async function deleteMemory(memory) {
  if (!window.confirm("Delete this memory for good?\n\n" + memory.text)) { return; }
  await act("Delete", async () => {
    await api("delete", { caller: state.caller, memory_id: memory.id, confirmed: true });
    await reload();
  });
}

async function correctMemory(memory) {
  const text = window.prompt("Corrected text:", memory.text);
  if (text == null || !text.trim()) { return; }
  await act("Correct", async () => {
    await api("correct", { caller: state.caller, memory_id: memory.id, text: text, confirmed: true });
    await reload();
  });
}

async function addNote() {
  const text = $("note-text").value.trim();
  if (!text) { return; }
  await act("Note", async () => {
    await api("note", { caller: state.caller, text: text });
    $("note-text").value = "";
    await reload();
  });
}

async function rename() {
  const name = $("rename-text").value.trim();
  if (!name || !window.confirm("Set the caller's name to " + name + "?")) { return; }
  await act("Rename", async () => {
    await api("rename", { caller: state.caller, name: name, confirmed: true });
    await reload();
  });
}

async function search() {
  const query = $("search-text").value.trim();
  if (!query) { return; }
  await act("Search", async () => {
    const found = await api("search", { caller: state.caller, query: query });
    say("Search: " + found.length + " found");
    const body = $("memories").querySelector("tbody");
    for (const row of body.querySelectorAll("tr")) {
      row.style.fontWeight = found.some((m) => m.id === row.dataset.id) ? "bold" : "";
    }
  });
}

async function exportCaller() {
  await act("Export", async () => {
    const document_ = await api("export", { caller: state.caller });
    const blob = new Blob([JSON.stringify(document_, null, 2)], { type: "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "caller-export.json";
    link.click();
    URL.revokeObjectURL(link.href);
  });
}

async function forget() {
  if (!window.confirm("Delete EVERYTHING held about this caller? This cannot be undone.")) { return; }
  await act("Forget", async () => {
    await api("forget", { caller: state.caller, confirmed: true });
    await reload();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("find").addEventListener("click", find);
  $("caller").addEventListener("keydown", (event) => { if (event.key === "Enter") { find(); } });
  $("add-note").addEventListener("click", addNote);
  $("rename").addEventListener("click", rename);
  $("search").addEventListener("click", search);
  $("export").addEventListener("click", exportCaller);
  $("forget").addEventListener("click", forget);
  $("refresh-audit").addEventListener("click", refreshAudit);
  refreshAudit();
});
