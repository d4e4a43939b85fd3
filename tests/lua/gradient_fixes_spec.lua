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
    prod_one_zero = function(x) return x:prod() end,
    prod_two_zeros = function(x) return x:prod() end,
    prod_dim_zeros = function(x) return x:prod(2) end,
    prod_dim1_zeros = function(x) return x:prod(1) end,
    bce_saturated = function(x)
        return nn.bce(x:sigmoid(), dl.tensor{0, 1, 1, 0, 1, 0.25}, {reduction = "sum"})
    end,
    bce_edges = function(p) return nn.bce(p, dl.tensor{1, 0, 0, 1, 1, 0.3}, {reduction = "none"}) end,
    bce_target_grad = function(p, t) return nn.bce(p, t, {reduction = "sum"}) end,
    pow_zero = function(x) return x ^ 0 end,
    pow_tensor_zero = function(x, e) return x ^ e end,
    std_no_spread = function(x) return x:std() end,
    std_dim_no_spread = function(x) return x:std(2) end,
    std_one_biased = function(x) return x:std({unbiased = false}) end,
    var_correction_2 = function(x) return x:var(1, {correction = 2}) end,
    std_correction_3 = function(x) return x:std(1, {correction = 3}) end,
    var_dim_correction = function(x) return x:var(2, {correction = 2}) end,
    var_empty = function(x) return x:var(1) end,
    max_ties = function(x) return x:max() end,
    min_ties = function(x) return x:min() end,
    max_dim_ties = function(x) return x:max(2) end,
    gelu_tanh = function(x) return dl.gelu(x, {approximate = "tanh"}) end,
    gelu_tanh_layer = function(x) return nn.GELU{approximate = "tanh"}(x) end,
    gelu_exact = function(x) return x:gelu{approximate = "none"} end,
    clamp_nan_min = function(x) return x:clamp(0 / 0, 1) end,
    clamp_nan_max = function(x) return x:clamp{min = 0, max = 0 / 0} end,
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

    it("a view of a parameter taken once outlives optimiser steps", function()
        local w = dl.tensor({{1, 2}, {3, 4}}, {requires_grad = true})
        local wt = w:t()
        local opt = dl.optim.SGD({w}, {lr = 0.5})
        local x = dl.tensor{{1, 0}, {0, 2}}
        for _ = 1, 3 do
            opt:zero_grad()
            wt:matmul(x):sum():backward()
            opt:step()
        end
        H.close(w, {{-0.5, 0.5}, {0, 1}})               -- each step: w -= 0.5 [[1, 1], [2, 2]]
        H.close(wt, {{-0.5, 0}, {0.5, 1}})
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

describe("conv2d with an empty batch", function()
    it("gives zero weight and bias gradients (PyTorch: zeros), and keeps earlier ones", function()
        local F = nn.functional
        for _, k in ipairs{1, 3, 5} do
            for _, stride in ipairs{1, 2} do
                -- poison the buffer cache with non-zero floats of the gradient's size
                for _ = 1, 4 do local _ = dl.full({3, 2, k, k}, 7e30) end
                local w = dl.randn(3, 2, k, k, {requires_grad = true})
                local b = dl.randn(3, {requires_grad = true})
                local x = dl.randn(0, 2, 9, 9, {requires_grad = true})
                local y = F.conv2d(x, w, b, {stride = stride, padding = 1})
                y:sum():backward()
                H.close(w.grad, dl.zeros(3, 2, k, k):totable())
                H.close(b.grad, {0, 0, 0})
                assert.same({0, 2, 9, 9}, x.grad:shape())
                F.conv2d(dl.ones(1, 2, 9, 9), w, b, {stride = stride, padding = 1}):sum():backward()
                local before = w.grad:clone()
                F.conv2d(x, w, b, {stride = stride, padding = 1}):sum():backward()
                H.close(w.grad, before:totable())
            end
        end
    end)
end)

describe("layers refuse what they do not know", function()
    it("unknown options and approximations, for every layer", function()
        assert.equal("bad argument #1 to 'GELU' (expected approximate = \"none\" or \"tanh\", got \"fast\")",
                     H.err(nn.GELU, {approximate = "fast"}))
        assert.equal("bad argument #2 to 'gelu' (expected approximate = \"none\" or \"tanh\", got fast)",
                     H.err(dl.gelu, dl.ones(2), {approximate = "fast"}))
        assert.equal("bad argument #1 to 'ReLU' (unknown option 'inplace'; it takes no options)",
                     H.err(nn.ReLU, {inplace = true}))
        local makers = {
            Linear = function(o) return nn.Linear(2, 3, o) end,
            Conv2d = function(o) return nn.Conv2d(1, 1, 3, o) end,
            MaxPool2d = function(o) return nn.MaxPool2d(2, o) end,
            AvgPool2d = function(o) return nn.AvgPool2d(2, o) end,
            Flatten = function(o) return nn.Flatten(o) end,
            Dropout = function(o) return nn.Dropout(0.5, o) end,
            BatchNorm1d = function(o) return nn.BatchNorm1d(2, o) end,
            BatchNorm2d = function(o) return nn.BatchNorm2d(2, o) end,
            LayerNorm = function(o) return nn.LayerNorm(2, o) end,
            Embedding = function(o) return nn.Embedding(3, 2, o) end,
            ReLU = function(o) return nn.ReLU(o) end,
            Sigmoid = function(o) return nn.Sigmoid(o) end,
            Tanh = function(o) return nn.Tanh(o) end,
            GELU = function(o) return nn.GELU(o) end,
            Softmax = function(o) return nn.Softmax(1, o) end,
            LogSoftmax = function(o) return nn.LogSoftmax(1, o) end,
            Identity = function(o) return nn.Identity(o) end,
        }
        for name, make in pairs(makers) do
            make()                                           -- no options: fine
            assert.matches("unknown option 'bogus'", H.err(make, {bogus = 1}), nil, true)
        end
        assert.matches("separate arguments", H.err(nn.Sequential, nn.ReLU(), nn.Tanh()))
    end)
end)
