-- Issue 12's wrong results, each reproduced: values and gradients against
-- PyTorch (tests/oracle/gradient_fixes.py writes its answers), plus the
-- in-place, view and join behaviours that have no numbers to compare.
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn

local build = os.getenv("DL_BUILD") or "build"
local reference_path = build .. "/oracle_gradient_fixes.lua"
local ok = os.execute(("/usr/bin/python3 tests/oracle/gradient_fixes.py %s"):format(reference_path))
assert(ok, "tests/oracle/gradient_fixes.py failed: is python3-torch installed?")
local reference = dofile(reference_path)

-- The dl side of each oracle case: the same computation on dl tensors.
local computations = {
    clone = function(x) return (x:clone() * x):sum() end,
    contiguous = function(m) return (m:t():contiguous() * m):sum() end,
    stack_many = function(...) return dl.stack({...}, 1) * dl.arange(1, 19):reshape(6, 3) end,
    cat_many = function(...) return dl.cat({...}, 1) * dl.arange(1, 19) end,
}

describe("gradients agree with PyTorch", function()
    local names = {}
    for name in pairs(computations) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
        it(name, function()
            local case = assert(reference[name], "no PyTorch case " .. name)
            local leaves = {}
            for i, values in ipairs(case.inputs) do
                leaves[i] = dl.tensor(values, {requires_grad = true})
            end
            local out = computations[name](table.unpack(leaves))
            H.close(out, case.out, 1e-5)
            out:sum():backward()
            for i, leaf in ipairs(leaves) do
                H.close(leaf.grad or dl.zeros_like(leaf), case.grads[i], 1e-5)
            end
        end)
    end
end)

describe("graphs", function()
    it("joins of any number of tensors keep every gradient; a refused join frees cleanly", function()
        local ts = {}
        for i = 1, 40 do ts[i] = dl.full({2}, i, {requires_grad = true}) end
        local y = dl.stack(ts, 2)                       -- (2, 40)
        assert.same({2, 40}, y:shape())
        ;(y * y):sum():backward()
        for i = 1, 40 do H.close(ts[i].grad, {2 * i, 2 * i}) end
        ts[41] = dl.ones(3, {requires_grad = true})
        assert.matches("tensor 41 has shape %(3,%)", H.err(dl.stack, ts, 1))
        assert.matches("tensor 2 has shape %(3, 1%)",
                       H.err(dl.cat, {dl.ones(2, 1, {requires_grad = true}), dl.ones(3, 1)}, 2))
        collectgarbage()
        collectgarbage()
        H.close(dl.cat(ts, 1):sum(), 2 * (40 * 41 / 2) + 3)
    end)

    it("a view of a leaf serves several backward passes (as in PyTorch)", function()
        local w = dl.tensor({{1, 2}, {3, 4}}, {requires_grad = true})
        local wt = w:t()
        for _ = 1, 2 do
            (wt:matmul(dl.tensor{{1, 0}, {0, 2}})):sum():backward()
        end
        H.close(w.grad, {{2, 2}, {4, 4}})               -- torch: [[2, 2], [4, 4]]
        local row = w:reshape(4):narrow(1, 2, 2)        -- a view of a view
        for _ = 1, 3 do (row * 2):sum():backward() end
        H.close(w.grad, {{2, 8}, {10, 4}})
        assert.is_false(wt:is_leaf())
    end)

    it("a graph that saved tensors is still freed by backward", function()
        local w = dl.ones(2, {requires_grad = true})
        local y = w * w
        y:sum():backward()
        assert.matches("freed", H.err(function() y:sum():backward() end))
        local s = (w:t() * w):sum()                     -- mul saved the view
        s:backward()
        assert.matches("freed", H.err(function() s:backward() end))
    end)
end)
