-- bce_saturated_spec.lua -- nn.bce where a sigmoid saturates: the loss and
-- the gradients for the probabilities and the targets equal PyTorch's
-- (tests/oracle/bce_saturated.py) at p = 0, p = 1 and next to them, so a
-- classifier that grows confident keeps finite gradients.
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn

local build = os.getenv("DL_BUILD") or "build"

local function agree(got, want, what)
    local values = got:reshape(-1):totable()
    assert.equals(#want, #values, what .. ": sizes differ")
    for i, w in ipairs(want) do
        local g = values[i]
        local same = g == w or math.abs(g - w) <= 1e-4 * math.abs(w) + 1e-5
        assert(same, ("%s: element %d is %.9g, PyTorch has %.9g"):format(what, i, g, w))
    end
end

describe("nn.bce at saturation", function()
    it("agrees with PyTorch's loss and gradients, for every reduction", function()
        local path = build .. "/oracle_bce_saturated.lua"
        assert(os.execute("/usr/bin/python3 tests/oracle/bce_saturated.py " .. path),
               "tests/oracle/bce_saturated.py failed")
        local ref = dofile(path)
        for _, case in ipairs(ref.cases) do
            local p = dl.tensor(ref.p, {requires_grad = true})
            local t = dl.tensor(ref.t, {requires_grad = true})
            local loss = nn.bce(p, t, {reduction = case.reduction})
            agree(loss, case.loss, case.reduction .. " loss")
            loss:sum():backward()
            agree(p.grad, case.dp, case.reduction .. " d/dp")
            agree(t.grad, case.dt, case.reduction .. " d/dt")
        end
    end)
end)
