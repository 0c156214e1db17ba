-- wrk -s: each request asks for the URL given to wrk with `fresh=<thread>-<n>` added,
-- a URL no request asked for before, so that the page is made rather than sent as kept.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local sent = 0

function request()
  sent = sent + 1
  local separator = wrk.path:find("?", 1, true) and "&" or "?"
  local path = wrk.path .. separator .. "fresh=" .. thread_number .. "-" .. sent
  return wrk.format(nil, path)
end
