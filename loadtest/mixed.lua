-- Mixed traffic on every route of the model server, for wrk (loadtest/soak.py runs it).
--
--   NIVESH_BENCH_KEY=... NIVESH_BENCH_USERS=200 \
--   wrk -t8 -c8 -d60s --timeout 30s -s loadtest/mixed.lua http://127.0.0.1:PORT
--
-- Environment: NIVESH_BENCH_KEY, an API key with the predict scope; NIVESH_BENCH_USERS, how many
-- users have online features (ids U0000001 .. U<N>, as the synthetic data names them).
--
-- Each wrk thread walks its own schedule of 200 requests: the assistant once (about a second of
-- CPU a turn on an idle machine), GET /ready and GET /models twice each, POST /feedback four
-- times (on the last prediction id this thread was answered with), and the five prediction routes
-- in turn for the rest. Bodies vary: random users, horizons, categories, amounts and times (all
-- in 2025), queries and notes.
--
-- Latency is timed here, per request, with the monotonic clock, and needs one connection per
-- thread (-t equal to -c) so that a response answers the request this thread sent last. wrk's
-- own percentiles are corrected for coordinated omission (stats_correct: every answer slower than
-- the mean interval adds synthetic samples), so one 10 s assistant turn in a closed loop adds
-- about a hundred; they are reported apart, as corrected_p99_us. Answers other than 2xx are
-- counted by status, error code and the start of their message. `done` prints one line,
-- "SOAK_RESULT {json}": requests, socket errors, percentiles (microseconds) overall and per route,
-- and those counts.

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } nivesh_timespec;
  int clock_gettime(int clock, nivesh_timespec *now);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("nivesh_timespec")

local KEY = os.getenv("NIVESH_BENCH_KEY") or ""
local USERS = tonumber(os.getenv("NIVESH_BENCH_USERS") or "200")
local SCHEDULE = 200
local KINDS = 20 -- kinds of error a thread tells apart; the rest count as "other"
local PERCENTILES = { 50, 90, 99, 100 }

local QUERIES = {
  "how much did I spend on food last month",
  "what is my account balance",
  "show my last five transactions",
  "can I afford a 20k EMI on my salary",
  "set a budget of 8000 for dining",
  "why was my credit card payment declined",
  "kitna kharcha hua groceries pe is mahine",
  "transfer 5000 to my savings account",
  "am I spending more on travel than usual",
  "what is the weather in Pune",
  "when is my next loan EMI due",
  "how can I improve my credit score",
}

local NOTES = {
  "Paid 1,200 to Swiggy on 3 March via UPI",
  "Rs. 45,000 salary credited to A/c XX4521 on 1st April",
  "Spent 2,340 at Big Bazaar on groceries yesterday",
  "EMI of 12,500 debited for home loan on 5 May 2025",
  "Booked Indigo flight to Goa for 8,760 using HDFC credit card",
  "Netflix subscription 649 renewed on 14 Feb",
  "Electricity bill of Rs 3,215 paid to BESCOM through netbanking",
  "Withdrew 10,000 from ATM at MG Road on Saturday",
}

local CHATS = {
  "Can I afford a 20k EMI?",
  "How much did I spend on dining last month?",
  "Suggest a monthly budget for groceries.",
}

local CATEGORIES = {
  "groceries", "food_delivery", "dining", "shopping", "travel", "fuel",
  "utilities", "entertainment", "subscriptions", "healthcare", "rent", "emi",
}
local MERCHANTS = {
  { "Swiggy", "food_delivery" }, { "Zomato", "food_delivery" }, { "BigBasket", "groceries" },
  { "DMart", "groceries" }, { "Croma", "shopping" }, { "Amazon", "shopping" },
  { "IndianOil", "fuel" }, { "MakeMyTrip", "travel" }, { "BESCOM", "utilities" },
  { "BookMyShow", "entertainment" }, { "Apollo Pharmacy", "healthcare" },
}
local CHANNELS = { "UPI", "card", "netbanking", "ATM" }

-- Globals: each thread's own state; `done` gathers `errors`, `took` and `route_of` of every thread.
counter, thread_id, last_id = 0, 0, nil
errors, kinds = {}, 0
took, route_of = {}, {} -- per answered request: microseconds, and its route
local sent_at, sent_route
local threads = {}

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1e6 + tonumber(clock.tv_nsec) / 1e3
end

local function pick(list)
  return list[math.random(#list)]
end

local function user()
  return string.format("U%07d", math.random(USERS))
end

local function when()
  return string.format(
    "2025-%02d-%02dT%02d:%02d:00+05:30",
    math.random(12), math.random(28), math.random(0, 23), math.random(0, 59)
  )
end

local function post(path, body)
  local headers = { ["X-API-Key"] = KEY, ["Content-Type"] = "application/json" }
  return wrk.format("POST", path, headers, body)
end

local function get(path)
  return wrk.format("GET", path, { ["X-API-Key"] = KEY })
end

local function transaction()
  local merchant = pick(MERCHANTS)
  return string.format(
    '{"user_id": "%s", "amount": %.2f, "merchant": "%s", "category": "%s", "timestamp": "%s", "channel": "%s"}',
    user(), math.exp(4 + math.random() * 7), merchant[1], merchant[2], when(), pick(CHANNELS)
  )
end

local function spending()
  local category = ""
  if math.random() < 0.3 then category = string.format(', "category": "%s"', pick(CATEGORIES)) end
  local body = string.format('{"user_id": "%s", "horizon_months": %d%s}', user(), math.random(6), category)
  return post("/predict/spending", body)
end

-- The prediction routes, in turn: name, request.
local ROUTES = {
  { "intent", function() return post("/predict/intent", string.format('{"query": "%s"}', pick(QUERIES))) end },
  { "ner", function() return post("/predict/ner", string.format('{"text": "%s"}', pick(NOTES))) end },
  { "spending", spending },
  { "anomaly", function() return post("/predict/anomaly", string.format('{"transaction": %s}', transaction())) end },
  { "credit-risk", function() return post("/predict/credit-risk", string.format('{"user_id": "%s"}', user())) end },
}

local function next_request()
  counter = counter + 1
  local slot = counter % SCHEDULE
  if slot == 0 then
    local chat = string.format('{"messages": [{"role": "user", "content": "%s"}]}', pick(CHATS))
    return "chat", post("/assistant/chat", chat)
  elseif slot == 50 or slot == 150 then
    return "ready", get("/ready")
  elseif slot == 100 or slot == 199 then
    return "models", get("/models")
  elseif slot % 50 == 25 and last_id then
    local feedback = string.format('{"prediction_id": "%s", "actual": %d}', last_id, math.random(0, 1))
    return "feedback", post("/feedback", feedback)
  end
  local route = ROUTES[slot % #ROUTES + 1]
  return route[1], route[2]()
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
  counter = math.random(0, SCHEDULE - 1) -- threads start at different points of the schedule
end

function request()
  local route, text = next_request()
  sent_route, sent_at = route, now_us()
  return text
end

local function count_error(status, body)
  -- status, error code and the start of the message, digits as 0: ids and times fold into one kind
  local code = string.match(body, '"error":%s*"([%w_]+)"') or "?"
  local message = string.sub(string.match(body, '"message":%s*"([^"]*)"') or body, 1, 80)
  message = string.gsub(string.gsub(message, '[%c"\\]', " "), "%d", "0")
  local name = status .. " " .. code .. ": " .. message
  if errors[name] == nil and kinds >= KINDS then
    name = "other"
  elseif errors[name] == nil then
    kinds = kinds + 1
  end
  errors[name] = (errors[name] or 0) + 1
end

function response(status, headers, body)
  if sent_at then
    table.insert(took, now_us() - sent_at)
    table.insert(route_of, sent_route)
    sent_at = nil
  end
  if status >= 200 and status < 300 then
    last_id = string.match(body, '"prediction_id":%s*"([%x%-]+)"') or last_id
  else
    count_error(status, body)
  end
end

local function percentiles(values)
  table.sort(values)
  local parts = { string.format('"n": %d', #values) }
  for _, p in ipairs(PERCENTILES) do
    local rank = math.max(1, math.ceil(p / 100 * #values))
    table.insert(parts, string.format('"p%d_us": %d', p, values[rank] or 0))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function json_counts(counts)
  local parts = {}
  for name, count in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', name, count))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local all, by_route, errors_all = {}, {}, {}
  for _, thread in ipairs(threads) do
    local routes = thread:get("route_of") or {}
    for i, us in ipairs(thread:get("took") or {}) do
      table.insert(all, us)
      by_route[routes[i]] = by_route[routes[i]] or {}
      table.insert(by_route[routes[i]], us)
    end
    for name, count in pairs(thread:get("errors") or {}) do
      errors_all[name] = (errors_all[name] or 0) + count
    end
  end
  local routes = {}
  for route, values in pairs(by_route) do
    table.insert(routes, string.format('"%s": %s', route, percentiles(values)))
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK_RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": {"connect": %d, '
      .. '"read": %d, "write": %d, "timeout": %d}, "corrected_p99_us": %d, "latency": %s, '
      .. '"routes": {%s}, "errors": %s}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(99), percentiles(all), table.concat(routes, ", "), json_counts(errors_all)
  ))
end
