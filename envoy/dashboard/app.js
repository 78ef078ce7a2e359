// The dashboard: public catalogue and room view, demo sign-in, host and guest actions, each saga's timeline.
import { api, query, setToken } from "./api.js";
import { renderRows, showTimeline } from "./render.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 500; // the room view and the timeline: polled, well within the 1 s the page promises
let me = null; // {subject, role}
let timelineOf = "";

function claims(token) {
  const part = token.split(".")[1] || "";
  return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
}

function say(error) {
  const box = $("error");
  box.hidden = !error;
  box.textContent = error ? error.message : "";
}

async function attempt(action) {
  try { say(null); return await action(); } catch (error) { say(error); if (error.status === 401) signOut(); return undefined; }
}

function signIn(token) {
  const c = claims(token);
  me = { subject: c.sub, role: c.role };
  setToken(token);
  sessionStorage.setItem("bnb-token", token);
  $("who").textContent = `Signed in as ${c.role} ${c.sub}`;
  $("signout").hidden = false;
  $("host").hidden = me.role !== "host";
  $("guest").hidden = me.role !== "guest";
  refreshMine();
}

function signOut() {
  me = null;
  setToken("");
  sessionStorage.removeItem("bnb-token");
  $("who").textContent = "Not signed in: the catalogue and the room view are public.";
  $("signout").hidden = true;
  $("host").hidden = $("guest").hidden = $("timeline").hidden = true;
  timelineOf = "";
}

async function loadDemoUsers() {
  const reply = await fetch("/ui/demo-tokens.json").catch(() => null);
  if (!reply || !reply.ok) return; // production: no demo users, paste a token
  const { users } = await reply.json();
  for (const user of users) {
    const option = new Option(`${user.role} ${user.subject}`, user.token);
    $("demo-user").add(option);
  }
}

async function refreshPublic() {
  const rooms = await api("GET", "/rooms?page_size=100");
  renderRows($("rooms"), rooms.rooms, (r) => [r.room_id, r.host_id, r.description, r.price_per_night, r.status, r.review_count]);
  const views = await api("GET", "/roomviews?page_size=100");
  renderRows($("views"), views.room_views, (v) => [v.room_id, v.room_status, v.review_count,
    v.reservation_id ? `${v.reservation_status} ${v.reservation_id}` : "", v.payment_status, v.updated_at], "room_id");
}

function timelineButton(id) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Timeline";
  button.addEventListener("click", () => openTimeline(id));
  return button;
}

async function refreshMine() {
  if (!me) return;
  if (me.role === "host") {
    const rooms = await api("GET", `/rooms?${query({ host_id: me.subject, page_size: 100 })}`);
    renderRows($("my-rooms"), rooms.rooms, (r) => [r.room_id, r.description, r.status, r.review_count]);
    const res = await api("GET", "/reservations?page_size=100");
    renderRows($("host-reservations"), res.reservations, (r) => [r.reservation_id, r.room_id, r.guest_id,
      `${r.check_in} → ${r.check_out}`, r.status, timelineButton(r.reservation_id)]);
    const messages = await api("GET", "/messages?page_size=20");
    renderList($("host-messages"), messages.messages);
  } else {
    const [res, pay, messages] = await Promise.all([api("GET", "/reservations?page_size=100"),
      api("GET", "/payments?page_size=100").catch(() => null), api("GET", "/messages?page_size=20")]);
    const paid = Object.fromEntries((pay ? pay.payments : []).map((p) => [p.reservation_id, p.status]));
    renderRows($("my-reservations"), res.reservations, (r) => [r.reservation_id, r.room_id,
      `${r.check_in} → ${r.check_out}`, r.status, paid[r.reservation_id] || "", actions(r)]);
    renderList($("guest-messages"), messages.messages);
  }
}

function renderList(list, messages) {
  list.replaceChildren(...messages.map((m) => Object.assign(document.createElement("li"), { textContent: m.text })));
}

function actions(r) {
  const cell = document.createDocumentFragment();
  cell.append(timelineButton(r.reservation_id));
  if (r.status !== "cancelled") {
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.setAttribute("aria-label", `Cancel reservation ${r.reservation_id}`);
    cancel.addEventListener("click", () => attempt(async () => {
      await api("POST", `/reservations/${r.reservation_id}:cancel`, {});
      await openTimeline(r.reservation_id);
      await refreshMine().catch(background);
    }));
    cell.append(" ", cancel);
  }
  return cell;
}

async function openTimeline(id) {
  timelineOf = id;
  $("timeline").hidden = false;
  $("timeline-of").textContent = `Reservation ${id}`;
  await pollTimeline();
}

async function pollTimeline() {
  if (!timelineOf || !me) return;
  try {
    const t = await api("GET", `/reservations/${timelineOf}/timeline`);
    showTimeline($("steps"), t.steps);
  } catch (error) {
    if (error.status !== 404) throw error; // 404: no step seen yet
  }
}

async function search(event) {
  event.preventDefault();
  $("free-rooms").dataset.state = "searching";
  await attempt(async () => {
    const stay = { check_in: $("check-in").value, check_out: $("check-out").value };
    const found = await api("GET", `/rooms?${query({ ...stay, page_size: 100 })}`);
    $("free-rooms").tBodies[0].replaceChildren();
    renderRows($("free-rooms"), found.rooms, (r) => [r.room_id, r.description, r.price_per_night, reserveButton(r, stay)]);
  });
  $("free-rooms").dataset.state = "done";
}

function reserveButton(room, stay) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Reserve";
  button.setAttribute("aria-label", `Reserve room ${room.room_id}`);
  button.addEventListener("click", () => attempt(async () => {
    try {
      const r = await api("POST", "/reservations", { room_id: room.room_id, ...stay });
      await openTimeline(r.reservation_id);
    } catch (error) {
      const undone = /reservation ([0-9a-f-]{36}) was undone/.exec(error.said || "");
      if (undone) await openTimeline(undone[1]); // the compensation's steps
      throw error;
    } finally {
      await refreshMine().catch(background);
    }
  }));
  return button;
}

function defaultDates() {
  const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
  $("check-in").value = day(30);
  $("check-out").value = day(32);
}

function wire() {
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim() || $("demo-user").value;
    if (!token) return say(new Error("Choose a demo user or paste a token"));
    attempt(async () => { try { signIn(token); } catch { throw new Error("That is not a token (a JWT: three dot-separated parts)"); } });
    $("token").value = "";
  });
  $("signout").addEventListener("click", signOut);
  $("search").addEventListener("submit", search);
  $("register").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      await api("POST", "/rooms", { description: $("description").value, price_per_night: Number($("price").value) });
      await refreshMine();
    });
  });
  $("review").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      await api("POST", "/reviews", { room_id: $("review-room").value.trim(), rating: Number($("rating").value), text: $("review-text").value });
      await refreshMine();
    });
  });
}

// A refresh that fails is noted beside the page, never over the answer to what the user did.
function background(error) {
  $("status").textContent = error ? `Refresh failed: ${error.message}` : "";
}

function every(ms, work) {
  const tick = async () => { await work().then(() => background(null), background); setTimeout(tick, ms); };
  tick();
}

wire();
defaultDates();
loadDemoUsers();
const saved = sessionStorage.getItem("bnb-token");
if (saved) attempt(async () => signIn(saved));
every(POLL_MS, refreshPublic);
every(POLL_MS, pollTimeline);
every(2000, refreshMine);
