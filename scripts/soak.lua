-- wrk script for scripts/soak.py; not meant to be run on its own.
--
-- Usage: wrk ... -s scripts/soak.lua URL -- PLAN COUNTS_DIR
--
-- PLAN is a Lua file written by soak.py that returns the server's Host and a
-- list of requests. Each wrk thread cycles through the list, starting at its
-- own offset. An entry is either a request ready to send, or
-- {prefix, suffix, marked} for a path made new each time: the thread puts
-- its id and a counter between prefix and suffix, so no such path is ever
-- asked for twice (a missing file, or a new spelling of an existing one).
--
-- The requests whose answer should be an error (404 for a missing path, 416
-- for a range past the end) are sent as HTTP/1.0 with "Connection:
-- keep-alive", so the server echoes "Connection: keep-alive": response()
-- cannot see which request an answer belongs to, but it can see that mark.
-- An error status without the mark, or a marked answer that is neither 404
-- nor 416, is unexpected.
--
-- Every thread counts answers by status and writes its counts about once a
-- second to COUNTS_DIR/thread-ID (replaced whole, by rename), which soak.py
-- reads while the load runs; done() prints the final counts on one line.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local host, plan, position, id, fresh_count
local counts_path, last_write, responses
statuses = {}
unexpected = 0
expected = 0

function init(args)
   local loaded = dofile(args[1])
   host, plan = loaded.host, loaded.requests
   id = wrk.thread:get("id")
   -- Threads start at different places, so they are not in step.
   position = (id * 7919) % #plan
   fresh_count = 0
   counts_path = args[2] .. "/thread-" .. id
   last_write = os.time()
   responses = 0
end

function request()
   position = position % #plan + 1
   local entry = plan[position]
   if type(entry) == "string" then
      return entry
   end
   fresh_count = fresh_count + 1
   local path = entry[1] .. id .. "-" .. fresh_count .. entry[2]
   if entry[3] then
      return "GET " .. path .. " HTTP/1.0\r\nHost: " .. host .. "\r\nConnection: keep-alive\r\n\r\n"
   end
   return "GET " .. path .. " HTTP/1.1\r\nHost: " .. host .. "\r\n\r\n"
end

local function write_counts()
   local tmp = counts_path .. ".tmp"
   local f = io.open(tmp, "w")
   if not f then
      return
   end
   for status, n in pairs(statuses) do
      f:write(status, " ", n, "\n")
   end
   f:write("expected ", expected, "\n", "unexpected ", unexpected, "\n")
   f:close()
   os.rename(tmp, counts_path)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   local marked = headers["Connection"] == "keep-alive"
   if marked then
      if status == 404 or status == 416 then
         expected = expected + 1
      else
         unexpected = unexpected + 1
      end
   elseif status < 200 or status > 399 then
      unexpected = unexpected + 1
   end
   responses = responses + 1
   if responses % 64 == 0 then
      local now = os.time()
      if now ~= last_write then
         last_write = now
         write_counts()
      end
   end
end

function done(summary, latency, requests)
   local statuses, expected, unexpected = {}, 0, 0
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         statuses[status] = (statuses[status] or 0) + n
      end
      expected = expected + thread:get("expected")
      unexpected = unexpected + thread:get("unexpected")
   end
   local line = "soak-counts expected=" .. expected .. " unexpected=" .. unexpected
   for status, n in pairs(statuses) do
      line = line .. " " .. status .. "=" .. n
   end
   print(line)
end
