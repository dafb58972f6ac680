-- wrk script: each thread sends its own share of pre-signed webhook requests
-- (file: one "timestamp<TAB>signature<TAB>body" per line), so no two
-- requests carry the same event id and the bridge publishes every one.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(args[2])
  reqs = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == tid then
      local ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["telnyx-timestamp"] = ts,
        ["telnyx-signature-ed25519"] = sig,
      }, body)
    end
    i = i + 1
  end
  n = 0
end

function request()
  n = n + 1
  if n > #reqs then n = 1 end -- wrapped: duplicates from here on (answered 200 without Kafka)
  return reqs[n]
end
