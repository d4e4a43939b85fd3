-- bench_lua.lua -- cost of one small tensor operation called from Lua.
--
--   lua5.4 scripts/bench/bench_lua.lua THREADS    (with build/?.so on LUA_CPATH)
--
-- Prints "key value" lines read by scripts/bench:
--   threads
--   small_add_us   microseconds per `a + b` on two 16-float tensors: the
--                  binding's argument checks, the core call, the new userdata
--                  and its share of garbage collection. The time of the same
--                  loop without the addition is subtracted.
-- Each figure is the median of REPS timed runs of ITERS operations, after one
-- untimed warm-up run.
local dl = require "dl"

local ITERS, REPS = 200000, 7

-- Median of a list of numbers.
local function median(xs)
    table.sort(xs)
    local n = #xs
    if n % 2 == 1 then return xs[(n + 1) // 2] end
    return (xs[n // 2] + xs[n // 2 + 1]) / 2
end

-- Median seconds of fn(ITERS) over REPS runs, after one warm-up run.
local function median_seconds(fn)
    fn(ITERS)
    local times = {}
    for r = 1, REPS do
        local start = dl.clock()
        fn(ITERS)
        times[r] = dl.clock() - start
    end
    return median(times)
end

local threads = tonumber(arg[1])
if threads then dl.threads(threads) end
print("threads", dl.threads())

local a, b = dl.randn(16), dl.randn(16)

local function adds(n)
    local c
    for _ = 1, n do c = a + b end
    return c
end

local function empty(n)
    local c
    for _ = 1, n do c = a end
    return c
end

local per_op = (median_seconds(adds) - median_seconds(empty)) / ITERS
print(("small_add_us %.4f"):format(per_op * 1e6))
