-- SPDX-License-Identifier: Apache-2.0
-- post.lua -- wrk script for `make bench`.
--
-- Every request is a POST with X-Verification-Context: CTX_ALPHA and a body
-- no other request of the run carries (run tag, wrk thread, counter), so each
-- one is a distinct operation for mpbs-run and no cache can help either side.
--
-- Environment (set by contrib/bench/run.py):
--   BENCH_MODE   keepalive (default) or close: close adds "Connection: close",
--                so every request pays a TCP handshake and teardown
--   BENCH_TAG    a string unique to this wrk run (default "bench")
--   BENCH_PATH   request path (default /nuvl)
--   BENCH_BODY   body size in bytes, at least the distinct prefix (default 64)
--   BENCH_RATE   total requests/s to pace at; 0 or unset = as fast as possible
--   BENCH_THREADS the -t given to wrk (pacing splits the rate between threads)
--
-- done() prints one line "BENCH_RESULT {json}" that run.py parses.

local mode = os.getenv("BENCH_MODE") or "keepalive"
local tag = os.getenv("BENCH_TAG") or "bench"
local path = os.getenv("BENCH_PATH") or "/nuvl"
local body_size = tonumber(os.getenv("BENCH_BODY") or "64")
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")

local next_thread_id = 1

function setup(thread)
   thread:set("thread_id", next_thread_id)
   next_thread_id = next_thread_id + 1
end

local headers, prefix, pad
local sent = 0

function init(args)
   headers = {
      ["X-Verification-Context"] = "CTX_ALPHA",
      ["Content-Type"] = "application/octet-stream",
   }
   if mode == "close" then
      headers["Connection"] = "close"
   end
   prefix = string.format("%s-t%d-", tag, thread_id or 0)
   local fixed = #prefix + 12
   pad = string.rep("x", body_size > fixed and body_size - fixed or 0)
end

function request()
   sent = sent + 1
   return wrk.format("POST", path, headers, string.format("%s%012d%s", prefix, sent, pad))
end

-- Pacing (only when BENCH_RATE is set): each thread hands out send slots
-- interval_ms apart; a slot that is already past is not caught up with a
-- burst, so the offered rate never exceeds the target. wrk's delay() has
-- millisecond granularity, so sends come in small bursts per millisecond.
if rate > 0 then
   local ffi = require("ffi")
   ffi.cdef [[
      typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
      int clock_gettime(int clk, bench_timespec *ts);
   ]]
   local ts = ffi.new("bench_timespec")
   local CLOCK_MONOTONIC = 1
   local interval_ms = nthreads * 1000.0 / rate
   local next_slot = 0

   local function now_ms()
      ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
      return tonumber(ts.tv_sec) * 1000.0 + tonumber(ts.tv_nsec) / 1e6
   end

   function delay()
      local now = now_ms()
      if next_slot < now then
         next_slot = now
      end
      local wait = next_slot - now
      next_slot = next_slot + interval_ms
      return math.floor(wait)
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
