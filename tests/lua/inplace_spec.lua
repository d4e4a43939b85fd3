-- Every in-place write bumps the version of the storage it changes, so that
-- a backward whose saved tensor changed raises instead of giving a wrong
-- gradient (issue 12 item 2, issue 16 point 2); and writes into an
-- expanded view are refused (issue 14 point 7).
local H = require "tests.lua.helper"
local dl = H.dl
local nn, optim = dl.nn, dl.optim

-- y = sum(w * x) saves x; write(x) changes it; backward must refuse.
local function refuses_after(write)
    local x = dl.tensor{{4, 5, 6}, {7, 8, 9}}
    local w = dl.ones(2, 3, {requires_grad = true})
    local y = (w * x):sum()
    write(x)
    assert.matches("changed in place", H.err(function() y:backward() end))
    assert.is_nil(w.grad)
end

describe("in-place writes bump the version", function()
    it("t[i] = v on a 1-D tensor (issue 12's silent wrong gradient)", function()
        local x = dl.tensor{4, 5, 6}
        local w = dl.tensor({1, 1, 1}, {requires_grad = true})
        local y = (w * x):sum()
        x[1] = 100
        assert.equal(100, x[1])
        assert.matches("changed in place", H.err(function() y:backward() end))
        assert.is_nil(w.grad)
    end)

    it("t[i] = v on rows, t[i][j] = v, t[i] = tensor", function()
        refuses_after(function(x) x[1] = 0 end)
        refuses_after(function(x) x[2][3] = 0 end)
        refuses_after(function(x) x[1] = dl.tensor{1, 2, 3} end)
    end)

    it("fill_, zero_, copy_, mul_, uniform_, normal_", function()
        refuses_after(function(x) x:fill_(1) end)
        refuses_after(function(x) x:zero_() end)
        refuses_after(function(x) x:copy_(dl.ones(3)) end)
        refuses_after(function(x) x:mul_(2) end)
        refuses_after(function(x) x:uniform_() end)
        refuses_after(function(x) x:normal_() end)
        refuses_after(function(x) x:narrow(2, 2, 1):fill_(0) end)   -- through a view
    end)

    it("nn.init writes and optimiser steps", function()
        refuses_after(function(x) nn.init.constant(x, 3) end)
        for _, make in ipairs{optim.SGD, optim.Adam, optim.RMSprop, optim.Adagrad} do
            local lin = nn.Linear(3, 1)
            local loss = lin(dl.ones(2, 3)):pow(2):sum()
            loss:backward()
            local opt = make(lin:parameters(), {lr = 0.1})
            local again = lin(dl.ones(2, 3)):pow(2):sum()   -- saved the weight
            opt:step()
            assert.matches("changed in place", H.err(function() again:backward() end))
        end
    end)

    it("an unchanged tensor still backpropagates, and reads do not bump", function()
        local x = dl.tensor{4, 5, 6}
        local w = dl.tensor({1, 1, 1}, {requires_grad = true})
        local y = (w * x):sum()
        local _ = x[1] + x[2]
        y:backward()
        H.close(w.grad, {4, 5, 6})
    end)
end)

describe("in-place writes are refused", function()
    it("into a tensor that requires grad, naming the method", function()
        local w = dl.ones(3, {requires_grad = true})
        H.raises("bad argument #1 to '__newindex' (cannot change a tensor that requires grad in place; use dl.no_grad)",
                 function() w[1] = 2 end)
        H.raises("bad argument #1 to 'fill_' (cannot change a tensor that requires grad in place; use dl.no_grad)",
                 function() w:fill_(2) end)
        dl.no_grad(function() w[1] = 2 end)
        H.close(w, {2, 1, 1})
    end)

    it("into an expanded view (one element written many times)", function()
        local base = dl.tensor{{1, 2, 3}}
        local e = base:expand(4, 3)
        H.raises("bad argument #1 to 'fill_' (cannot write into an expanded tensor: dim 1 repeats one element 4 times; clone it first)",
                 function() e:fill_(0) end)
        H.raises("bad argument #1 to 'copy_' (cannot write into an expanded tensor: dim 1 repeats one element 4 times; clone it first)",
                 function() e:copy_(dl.zeros(4, 3)) end)
        for _, method in ipairs{"zero_", "mul_", "uniform_", "normal_"} do
            assert.matches("bad argument #1 to '" .. method .. "' %(cannot write into an expanded tensor",
                           H.err(e[method], e, 2))
        end
        H.close(base, {{1, 2, 3}})
        e[2] = dl.tensor{7, 8, 9}          -- one row of it is an ordinary view
        H.close(base, {{7, 8, 9}})
        local c = e:clone():fill_(0)
        H.close(c, {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}})
    end)
end)
