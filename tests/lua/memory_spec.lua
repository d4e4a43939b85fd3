-- Memory stays flat without collectgarbage() in user code: the bindings
-- tell the Lua GC about tensor bytes. Without that, each iteration below
-- would leave 8 MB of dead tensors that Lua believes weigh a few bytes.
local H = require "tests.lua.helper"
local dl = H.dl

describe("memory", function()
    it("stays bounded over 20,000 iterations of y = x * 2 + 1 on 1000x1000", function()
        local limit_mb = 200
        local threads = dl.threads()
        dl.threads(1)    -- one thread: steady timing on a busy machine
        local x = dl.randn(1000, 1000)
        local y = x * 2 + 1
        local start = H.rss()
        local growth_mb, last = 0, 0
        for i = 1, 20000 do
            y = x * 2 + 1
            if i % 20 == 0 then
                growth_mb = math.max(growth_mb, (H.rss() - start) / 2 ^ 20)
                last = i
                if growth_mb >= limit_mb then break end    -- fail before swapping
            end
        end
        dl.threads(threads)
        assert.is_true(growth_mb < limit_mb,
            ("resident memory grew by %.0f MB by iteration %d (limit %d MB)"):format(
                growth_mb, last, limit_mb))
        assert.is_true(dl.memory() < 64 * 2 ^ 20,
            ("%.0f MB of tensors still alive"):format(dl.memory() / 2 ^ 20))
        H.close(y[1]:narrow(1, 1, 2), (x[1]:narrow(1, 1, 2) * 2 + 1):totable())
    end)

    it("keeps dead temporaries under a quarter of the live tensor data", function()
        -- while 256 MB live, GC cycles are paced by a sixteenth of it, so a
        -- loop of 4 MB temporaries leaves a bounded, small share dead
        local live = dl.zeros(64, 2 ^ 20)
        local x = dl.randn(1000, 1000)
        local base = dl.memory()
        local worst = 0
        for _ = 1, 300 do
            local _ = x * 2
            worst = math.max(worst, dl.memory() - base)
        end
        assert.is_true(worst < 64 * 2 ^ 20,
            ("%.0f MB of dead tensors with 256 MB live"):format(worst / 2 ^ 20))
        live = nil
        collectgarbage()
    end)
end)
