// Console shell: sign-in, navigation and hash routing to the page modules.
import { api, auth, setUnauthorizedHandler } from "./js/api.js";
import { clear, h, stateBox } from "./js/ui.js";
import * as dashboard from "./js/pages/dashboard.js";
import * as models from "./js/pages/models.js";
import * as benchmark from "./js/pages/benchmark.js";
import * as router from "./js/pages/router.js";
import * as decision from "./js/pages/decision.js";
import * as observe from "./js/pages/observe.js";
import * as request from "./js/pages/request.js";
import * as keys from "./js/pages/keys.js";
import * as lab from "./js/pages/lab.js";
import * as system from "./js/pages/system.js";

const NAV = [
  ["#/dashboard", "Dashboard"],
  ["#/models", "Models"],
  ["#/models/benchmark", "Benchmark", "sub"],
  ["#/router", "Router"],
  ["#/router/decisions", "Decisions", "sub"],
  ["#/observe", "Observe"],
  ["#/observe/routing", "Routing analytics", "sub"],
  ["#/keys", "Keys"],
  ["#/lab", "Lab"],
  ["#/system", "System"],
];

// [pattern, module, title, crumb parent]; the first match wins
const ROUTES = [
  [/^#\/dashboard$/, dashboard, "Dashboard"],
  [/^#\/models$/, models, "Models"],
  [/^#\/models\/benchmark$/, benchmark, "Models → Benchmark"],
  [/^#\/router$/, router, "Router"],
  [/^#\/router\/decisions$/, router, "Router → Decisions"],
  [/^#\/router\/decisions\/(.+)$/, decision, "Router → Decision"],
  [/^#\/observe$/, observe, "Observe → Requests"],
  [/^#\/observe\/routing$/, observe, "Observe → Routing"],
  [/^#\/observe\/requests\/(.+)$/, request, "Observe → Request"],
  [/^#\/keys$/, keys, "Keys"],
  [/^#\/lab$/, lab, "Lab"],
  [/^#\/system$/, system, "System"],
];

let cleanup = null;

function renderNav(hash) {
  const base = hash.split("?")[0];
  clear(document.getElementById("nav"), NAV.map(([href, label, cls]) => {
    const current = base === href || (href !== "#/router" && href !== "#/models" && href !== "#/observe" && base.startsWith(`${href}/`));
    return h("li", {}, h("a", { href, class: cls || "", "aria-current": current ? "page" : null }, label));
  }));
}

// narrow screens: the sidebar is a menu the topbar's button opens; any navigation closes it
function setNavOpen(open) {
  document.getElementById("shell").classList.toggle("nav-open", open);
  document.getElementById("nav-toggle").setAttribute("aria-expanded", String(open));
}

async function route() {
  const hash = location.hash || "#/dashboard";
  if (!location.hash) { location.replace("#/dashboard"); return; }
  setNavOpen(false);
  renderNav(hash);
  if (cleanup) { cleanup(); cleanup = null; }
  const page = document.getElementById("page");
  const tools = document.getElementById("topbar-tools");
  clear(tools);
  const path = hash.split("?")[0];
  const found = ROUTES.find(([re]) => re.test(path));
  if (!found) { clear(page, stateBox("empty", `No page at ${path}`)); return; }
  const [re, module, title] = found;
  const params = path.match(re).slice(1).map(decodeURIComponent);
  clear(document.getElementById("crumbs"), h("b", {}, title));
  document.title = `${title} · rolecall`;
  clear(page, stateBox("loading"));
  try {
    cleanup = (await module.render({ page, tools, params, path, hash })) || null;
  } catch (err) {
    clear(page, stateBox("error", `Could not load this page: ${err.message}`));
  }
}

function showLogin(message) {
  document.getElementById("shell").hidden = true;
  document.getElementById("login").hidden = false;
  const error = document.getElementById("login-error");
  error.hidden = !message;
  error.textContent = message || "";
  document.getElementById("token").focus();
}

function showShell() {
  document.getElementById("login").hidden = true;
  document.getElementById("shell").hidden = false;
  route();
}

async function signIn(event) {
  event.preventDefault();
  const input = document.getElementById("token");
  const token = input.value.trim();
  try {
    await api("/api/console/system", { token });
  } catch (err) {
    showLogin(err.status === 401 ? "That token was not accepted." : err.message);
    return;
  }
  auth.set(token);
  input.value = "";
  showShell();
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("rolecall.theme", theme);
}

function init() {
  const stored = localStorage.getItem("rolecall.theme");
  applyTheme(stored || (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark"));
  document.getElementById("theme").addEventListener("click", () =>
    applyTheme(document.documentElement.dataset.theme === "light" ? "dark" : "light"));
  document.getElementById("logout").addEventListener("click", () => { auth.clear(); showLogin(); });
  document.getElementById("nav-toggle").addEventListener("click", () =>
    setNavOpen(!document.getElementById("shell").classList.contains("nav-open")));
  document.getElementById("nav").addEventListener("click", (e) => { if (e.target.closest("a")) setNavOpen(false); });
  document.getElementById("login-form").addEventListener("submit", signIn);
  setUnauthorizedHandler(() => { auth.clear(); showLogin("Your session ended; sign in again."); });
  window.addEventListener("hashchange", () => { if (auth.token()) route(); });
  if (auth.token()) showShell(); else showLogin();
}

init();
