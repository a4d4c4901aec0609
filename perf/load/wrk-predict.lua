-- wrk script for TensorServe REST predict on the demo half_plus_two model (TF Serving's documented example).
--   wrk -t2 -c16 -d10s --latency -s perf/load/wrk-predict.lua http://127.0.0.1:8501
-- A response counts as correct when it is HTTP 200 with predictions [2.5, 3.0, 4.5]; wrong answers are reported
-- at the end (wrk itself only reports non-2xx statuses and socket errors).

wrk.method = "POST"
wrk.path = "/v1/models/half_plus_two:predict"
wrk.body = '{"instances":[1.0,2.0,5.0]}'
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0
  checked = 0
end

function response(status, headers, body)
  checked = checked + 1
  -- TF Serving pretty-prints the JSON, so compare with all whitespace removed.
  if status ~= 200 or not string.find(body:gsub("%s", ""), '"predictions":[2.5,3.0,4.5]', 1, true) then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local total_checked, total_wrong = 0, 0
  for _, thread in ipairs(threads) do
    total_checked = total_checked + thread:get("checked")
    total_wrong = total_wrong + thread:get("wrong")
  end
  io.write(string.format("checked responses: %d, wrong or non-200: %d\n", total_checked, total_wrong))
  for _, p in ipairs({ 50, 75, 95, 99 }) do
    io.write(string.format("p%d: %.3f ms\n", p, latency:percentile(p) / 1000.0))
  end
end
