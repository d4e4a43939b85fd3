-- The buffer cache gives memory back: it holds no more than what is live
-- (at least 64 MiB), frees sizes left unused, empties on
-- dl.memory.release(), and an allocation that fails flushes it and tries
-- again. Memory-limit cases run in a child dlrepl (prlimit on its pid).
local H = require "tests.lua.helper"
local dl = H.dl

local build = os.getenv("DL_BUILD") or "build"
local dlrepl = build .. "/dlrepl"
local MiB = 2 ^ 20
-- AddressSanitizer's quarantine holds freed memory on purpose, and its
-- address space is mostly shadow: resident and address-space figures are
-- only judged in the normal build.
local sanitized = (os.getenv("LD_PRELOAD") or ""):find("asan") ~= nil
    or (os.getenv("DL_BUILD") or ""):find("san") ~= nil

local function script(code)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(code)
    f:close()
    return path
end

describe("dl.memory", function()
    it("gives the live, cached and peak tensor bytes and the Lua heap", function()
        dl.memory.release()
        local live, cached, peak, heap = dl.memory()
        assert.equal(0, cached)
        assert.is_true(peak >= live and heap > 0)
        local t = dl.zeros(1000, 1000)
        local live2, _, peak2 = dl.memory()
        assert.equal(live + 4000000, live2)
        assert.is_true(peak2 >= live2)
        t = nil   -- luacheck: ignore
        collectgarbage()
        local live3, cached3 = dl.memory()
        assert.equal(live, live3)
        assert.equal(4000000, cached3)    -- kept for the next tensor of its size
        assert.is_true(dl.memory.release() >= 4000000)
        assert.equal(0, select(2, dl.memory()))
    end)

    it("keeps at most 64 MiB cached when nothing is live (the issue's loop)", function()
        local before = H.rss()
        for i = 1, 600 do local b = dl.zeros(2 ^ 20 + i * 16) end   -- luacheck: ignore
        collectgarbage()
        local live, cached = dl.memory()
        -- The cache may hold as much as is live (other specs' tensors).
        assert.is_true(cached <= math.max(64 * MiB, live), ("%d bytes cached"):format(cached))
        assert.is_true(sanitized or H.rss() - before < cached + 60 * MiB,
                       ("RSS grew %.0f MB, %.0f MB cached"):format((H.rss() - before) / MiB,
                                                                  cached / MiB))
        dl.memory.release()
        assert.equal(0, select(2, dl.memory()))
        assert.is_true(sanitized or H.rss() - before < 40 * MiB,
                       ("RSS still %.0f MB above the start after release")
                           :format((H.rss() - before) / MiB))
    end)

    it("holds no more than the live bytes, the buffers used longest ago leaving first",
       function()
        dl.memory.release()
        local big = dl.zeros(32 * MiB)     -- 128 MiB live
        local keep = {}
        for i = 1, 40 do keep[i] = dl.zeros(MiB + i * 16) end   -- 40 x 4 MiB
        keep = nil    -- luacheck: ignore
        collectgarbage()
        local live, cached = dl.memory()
        assert.is_true(cached <= live, cached .. " > " .. live)
        assert.is_true(cached >= 100 * MiB, cached)
        -- When the live data goes, the cache shrinks to 64 MiB with it.
        big = nil     -- luacheck: ignore
        collectgarbage()
        assert.is_true(select(2, dl.memory()) <= 64 * MiB)
        dl.memory.release()
    end)

    it("frees a size not asked for during many allocations", function()
        dl.memory.release()
        local t = dl.zeros(3 * MiB)
        t = nil       -- luacheck: ignore
        collectgarbage()
        assert.equal(12 * MiB, select(2, dl.memory()))
        for _ = 1, 30000 do local s = dl.zeros(4) end    -- luacheck: ignore
        assert.is_true(select(2, dl.memory()) < MiB)
        dl.memory.release()
    end)

    it("flushes the cache and retries before reporting out of memory", function()
        if os.execute("command -v prlimit >/dev/null") ~= true then
            return pending("needs prlimit(1)")
        end
        if sanitized then return pending("address-space limits and ASan do not mix") end
        -- 640 MiB live, 600 MiB cached in 40 MiB buffers (mmapped, so freeing
        -- them shrinks the address space), then the limit is set to what the
        -- child maps plus 1 GiB minus 300 MiB: dl.zeros(2^28) (1 GiB) fits
        -- only once the cache is gone.
        local go = os.tmpname()
        os.remove(go)
        local path = script(([[
            local a = dl.zeros(160 * 2^20)
            for i = 1, 15 do local b = dl.zeros(10 * 2^20 + i * 16) end
            collectgarbage()
            local function vm()
                for l in io.lines("/proc/self/status") do
                    local kb = l:match("^VmSize:%%s+(%%d+)")
                    if kb then return tonumber(kb) * 1024 end
                end
            end
            print("pid " .. io.open("/proc/self/stat"):read("n"))
            print(("ready %%d %%d"):format(vm(), select(2, dl.memory())))
            io.stdout:flush()
            local t0 = dl.clock()
            while not io.open(%q) and dl.clock() - t0 < 30 do end
            local ok, err = pcall(dl.zeros, 2^28)
            print("result", ok, ok and "" or err, select(2, dl.memory()))
        ]]):format(go))
        local p = assert(io.popen(("%s %s 2>&1"):format(dlrepl, path)))
        local pid, vm, cached
        for line in p:lines() do
            pid = pid or line:match("^pid (%d+)")
            vm, cached = line:match("^ready (%d+) (%d+)")
            if vm then break end
        end
        assert(pid and vm, "the child did not start")
        vm, cached = tonumber(vm), tonumber(cached)
        assert.is_true(cached >= 500 * MiB, "cached " .. cached)
        local limit = math.floor(vm + 1024 * MiB - cached / 2)
        assert(os.execute(("prlimit --pid %s --as=%d"):format(pid, limit)))
        assert(io.open(go, "w")):close()
        local rest = p:read("a")
        p:close()
        os.remove(go)
        os.remove(path)
        assert.truthy(rest:find("result\ttrue\t\t0", 1, true), rest)
    end)
end)
