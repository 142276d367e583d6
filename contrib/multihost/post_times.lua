-- SPDX-License-Identifier: Apache-2.0
-- post_times.lua -- wrk script for `make bench-multihost`: contrib/bench/post.lua
-- (the requests of `make bench`, path in BENCH_POST_LUA) plus, per wrk thread,
-- the number of requests made in each 10 ms of CLOCK_REALTIME (a request is
-- made when the connection's previous 204 was read, below), so that
-- contrib/multihost/bench.py can set the answers beside the ledger's
-- confirmation times. done() prints post.lua's "BENCH_RESULT {json}" and one
-- line "MH_TIMES bucket:count,..." (bucket = realtime in units of 10 ms).
--
-- Pacing (BENCH_RATE) is not supported here: post.lua declares its own
-- clock_gettime type then.

dofile(os.getenv("BENCH_POST_LUA"))

local ffi = require("ffi")
ffi.cdef [[
   typedef struct { long tv_sec; long tv_nsec; } mh_timespec;
   int clock_gettime(int clk, mh_timespec *ts);
]]
local ts = ffi.new("mh_timespec")
local CLOCK_REALTIME = 0

local post_setup, post_done = setup, done
local threads = {}

function setup(thread)
   post_setup(thread)
   table.insert(threads, thread)
end

-- The intermediary's 204 has no header, and wrk calls response() only for
-- an answer with headers; but with keep-alive and no pipelining wrk asks
-- request() for a connection's next request as soon as it has read the
-- previous answer. So the times of request() are those of the answers,
-- apart from the first request of each connection (bench.py drops the
-- first -c of them) and the ones in flight when wrk stops (answered too,
-- and confirmed, but not counted by wrk).
-- A global, so that done() can read each thread's with thread:get.
asked_at = {}

local post_request = request

function request()
   ffi.C.clock_gettime(CLOCK_REALTIME, ts)
   local b = tonumber(ts.tv_sec) * 100 + math.floor(tonumber(ts.tv_nsec) / 10000000)
   asked_at[b] = (asked_at[b] or 0) + 1
   return post_request()
end

function done(summary, latency, requests)
   post_done(summary, latency, requests)
   local all = {}
   for _, t in ipairs(threads) do
      local got = t:get("asked_at") or {}
      for b, n in pairs(got) do
         all[b] = (all[b] or 0) + n
      end
   end
   local out = {}
   for b, n in pairs(all) do
      out[#out + 1] = string.format("%d:%d", b, n)
   end
   io.write("MH_TIMES " .. table.concat(out, ",") .. "\n")
end
