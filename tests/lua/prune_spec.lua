-- nn.prune: magnitude pruning (per layer and global, masks through
-- training), channel pruning (same outputs when the removed channels are
-- dead, PyTorch's ln_structured choice and the sliced model's outputs,
-- fewer parameters, still trains), the report, and bad input.
local H = require "tests.lua.helper"
local dl = H.dl
local nn, optim = dl.nn, dl.optim

local build = os.getenv("DL_BUILD") or "build"

local function set(t, values)
    dl.no_grad(function() t:copy_(dl.is_tensor(values) and values or dl.tensor(values)) end)
end

local function zeros_of(t)
    return math.tointeger(t:eq(0):sum():item())
end

local function mlp()
    return nn.Sequential{nn.Linear(12, 20), nn.ReLU(), nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3)}
end

-- Every pruned |w| is at most every kept |w| (over the listed weights).
local function smallest_were_pruned(originals, masks)
    local pruned_max, kept_min = 0, math.huge
    for i, w in ipairs(originals) do
        local a = w:abs()
        local m = masks[i]
        local pruned = (a * (1 - m)):max():item()
        local kept = (a + (1 - m) * 1e9):min():item()
        pruned_max, kept_min = math.max(pruned_max, pruned), math.min(kept_min, kept)
    end
    assert.is_true(pruned_max <= kept_min, ("pruned up to %g, kept from %g"):format(pruned_max, kept_min))
end

describe("nn.prune.magnitude", function()
    it("zeroes the smallest weights of each layer", function()
        dl.manual_seed(1)
        local m = mlp()
        local originals = {m[1].weight:clone(), m[3].weight:clone(), m[5].weight:clone()}
        local bias = m[1].bias:clone()
        nn.prune.magnitude(m, {amount = 0.3})
        local masks = {}
        for i, k in ipairs{1, 3, 5} do
            local w = m[k].weight
            assert.are.equal(math.floor(0.3 * w:numel()), zeros_of(w))
            masks[i] = m[k].weight_mask
            assert.are.equal(math.floor(0.3 * w:numel()), zeros_of(masks[i]))
            smallest_were_pruned({originals[i]}, {masks[i]})
        end
        H.close(m[1].bias, bias:totable())    -- biases are kept
        local report = nn.prune.report(m)
        assert.are.equal(3, #report)
        assert.are.equal("1", report[1].name)
        assert.are.equal(12 * 20 + 20, report[1].parameters)
        assert.are.equal(math.floor(0.3 * 240), report[1].zeros)
        assert.is_true(math.abs(report.total.sparsity - 0.3) < 0.01)
    end)

    it("ranks all layers together with scope = \"global\"", function()
        dl.manual_seed(2)
        local m = mlp()
        set(m[5].weight, m[5].weight * 10)          -- the last layer's weights are the largest
        local originals = {m[1].weight:clone(), m[3].weight:clone(), m[5].weight:clone()}
        nn.prune.magnitude(m, {amount = 0.5, scope = "global"})
        local report = nn.prune.report(m)
        local total = 240 + 320 + 48
        assert.are.equal(math.floor(0.5 * total), report.total.zeros)
        smallest_were_pruned(originals, {m[1].weight_mask, m[3].weight_mask, m[5].weight_mask})
        assert.is_true(report[3].sparsity < 0.1, "large weights kept: " .. report[3].sparsity)
        -- layer 3 starts with smaller weights (bound 1/sqrt(20) against 1/sqrt(12))
        assert.is_true(report[2].sparsity > report[1].sparsity)
    end)

    it("prunes convolutions, in nested modules too", function()
        dl.manual_seed(3)
        local m = nn.Sequential{nn.Sequential{nn.Conv2d(2, 4, 3), nn.ReLU()}, nn.Flatten(), nn.Linear(4 * 4 * 4, 2)}
        nn.prune.magnitude(m, {amount = 0.25})
        local report = nn.prune.report(m)
        assert.are.equal("1.1", report[1].name)
        assert.are.equal("Conv2d", report[1].type)
        assert.are.equal(math.floor(0.25 * 72), report[1].zeros)
        assert.are.same({2, 2}, m(dl.randn(2, 2, 6, 6)):shape())
    end)

    it("keeps the pruned weights zero through optimiser steps", function()
        for _, make in ipairs{function(p) return optim.SGD(p, {lr = 0.1, momentum = 0.9, weight_decay = 0.01}) end,
                              function(p) return optim.Adam(p, {lr = 0.01}) end,
                              function(p) return optim.AdamW(p, {lr = 0.01, weight_decay = 0.1}) end} do
            dl.manual_seed(4)
            local m = mlp()
            nn.prune.magnitude(m, {amount = 0.6})
            local before = m[1].weight:clone()
            local opt = make(m:parameters())
            local x = dl.randn(32, 12)
            local y = x:narrow(2, 1, 3):argmax(2)
            for _ = 1, 5 do
                local loss = nn.cross_entropy(m(x), y)
                opt:zero_grad()
                loss:backward()
                opt:step()
            end
            local mask = m[1].weight_mask
            assert.are.equal(0, (m[1].weight * (1 - mask)):abs():sum():item())
            assert.are.equal(zeros_of(mask), zeros_of(m[1].weight))
            assert.is_true((m[1].weight - before):abs():sum():item() > 0, "the kept weights train")
            -- the forward uses exactly weight * mask
            local x1 = dl.randn(3, 12)
            H.close(m[1](x1), (x1:matmul((m[1].weight * mask):t()) + m[1].bias):totable())
        end
    end)
end)

describe("nn.prune.channels", function()
    it("gives the same outputs when the removed neurons are dead", function()
        dl.manual_seed(5)
        local m = mlp()
        -- neurons 2, 5, 7, ... of layer 1 and 1, 4, ... of layer 3 output zero
        local dead1, dead3 = {2, 5, 7, 8, 11, 13, 17, 19, 20, 1}, {1, 4, 9, 12, 14, 15, 16, 3}
        local w1, b1 = m[1].weight:totable(), m[1].bias:totable()
        for _, r in ipairs(dead1) do
            for c = 1, 12 do w1[r][c] = 0 end
            b1[r] = 0
        end
        local w3, b3 = m[3].weight:totable(), m[3].bias:totable()
        for _, r in ipairs(dead3) do
            for c = 1, 20 do w3[r][c] = 0 end
            b3[r] = 0
        end
        set(m[1].weight, w1); set(m[1].bias, b1); set(m[3].weight, w3); set(m[3].bias, b3)
        local x = dl.randn(7, 12)
        local want = dl.no_grad(function() return m(x) end)
        nn.prune.channels(m, {amount = 0.5})
        assert.are.same({10, 12}, m[1].weight:shape())
        assert.are.same({8, 10}, m[3].weight:shape())
        assert.are.same({3, 8}, m[5].weight:shape())
        assert.are.equal(10, m[1].out_features)
        assert.are.equal(10, m[3].in_features)
        H.close(dl.no_grad(function() return m(x) end), want:totable(), 1e-5)
    end)

    it("rewrites BatchNorm and the Linear after a Flatten, with the same outputs for dead filters", function()
        dl.manual_seed(6)
        local m = nn.Sequential{nn.Conv2d(1, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Flatten(), nn.Linear(6 * 3 * 3, 3)}
        local w, b = m[1].weight:totable(), m[1].bias:totable()
        for _, f in ipairs{1, 4, 5} do
            for i = 1, 3 do for j = 1, 3 do w[f][1][i][j] = 0 end end
            b[f] = 0
        end
        set(m[1].weight, w); set(m[1].bias, b)
        set(m[2].bias, dl.tensor{0, -0.2, 0.3, 0, 0, 0.2})    -- dead filters keep beta 0
        set(m[2].weight, dl.tensor{1.5, 0.5, 1, 2, 0.7, 1.2})
        m:eval()
        local x = dl.randn(4, 1, 8, 8)
        local want = dl.no_grad(function() return m(x) end)
        nn.prune.channels(m, {amount = 0.5})
        assert.are.same({3, 1, 3, 3}, m[1].weight:shape())
        assert.are.same({3}, m[2].weight:shape())
        assert.are.same({3}, m[2].running_mean:shape())
        assert.are.equal(3, m[2].num_features)
        assert.are.same({3, 27}, m[6].weight:shape())
        assert.are.equal(27, m[6].in_features)
        assert.are.equal((3 * 9 + 3) + (3 + 3) + (3 * 27 + 3), m:num_parameters())
        H.close(dl.no_grad(function() return m(x) end), want:totable(), 1e-5)
    end)

    it("agrees with PyTorch's ln_structured choice and the sliced model", function()
        local path = build .. "/prune_reference.lua"
        assert(os.execute(("/usr/bin/python3 -W ignore tests/oracle/prune.py %s"):format(path)),
               "tests/oracle/prune.py failed: is python3-torch installed? (scripts/install-deps)")
        local ref = dofile(path)
        local W = ref.weights
        local m = nn.Sequential{nn.Conv2d(2, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Flatten(), nn.Linear(6 * 3 * 3, 10), nn.ReLU(), nn.Linear(10, 3)}
        set(m[1].weight, W.conv_weight); set(m[1].bias, W.conv_bias)
        set(m[2].weight, W.bn_weight); set(m[2].bias, W.bn_bias)
        set(m[2].running_mean, W.bn_mean); set(m[2].running_var, W.bn_var)
        set(m[6].weight, W.fc1_weight); set(m[6].bias, W.fc1_bias)
        set(m[8].weight, W.fc2_weight); set(m[8].bias, W.fc2_bias)
        m:eval()
        local x = dl.tensor(ref.x)
        H.close(dl.no_grad(function() return m(x) end), ref.whole, 1e-4)
        nn.prune.channels(m, {amount = 0.5})
        H.close(m[1].bias, (dl.tensor(W.conv_bias):index_select(1, dl.tensor(ref.kept_conv))):totable())
        H.close(m[6].bias, (dl.tensor(W.fc1_bias):index_select(1, dl.tensor(ref.kept_fc1))):totable())
        H.close(dl.no_grad(function() return m(x) end), ref.pruned, 1e-4)
    end)

    it("leaves fewer parameters, keeps magnitude masks, and the pruned MLP still trains", function()
        dl.manual_seed(7)
        local m = nn.Sequential{nn.Linear(10, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 3)}
        nn.prune.magnitude(m, {amount = 0.2})
        nn.prune.channels(m, {amount = 0.5})
        assert.are.equal(10 * 32 + 32 + 32 * 3 + 3, m:num_parameters())
        assert.are.same({32, 10}, m[1].weight_mask:shape())
        assert.are.same({3, 32}, m[4].weight_mask:shape())
        -- a learnable problem: the class is the largest of the first three inputs
        local x = dl.randn(256, 10)
        local y = x:narrow(2, 1, 3):argmax(2)
        local opt = optim.Adam(m:parameters(), {lr = 0.01})
        local first, last
        for step = 1, 150 do
            local loss = nn.cross_entropy(m(x), y)
            opt:zero_grad()
            loss:backward()
            opt:step()
            if step == 1 then first = loss:item() end
            last = loss:item()
        end
        assert.is_true(last < 0.5 * first, ("loss %g -> %g"):format(first, last))
        assert.are.equal(zeros_of(m[1].weight_mask), zeros_of(m[1].weight))
    end)
end)

describe("saving a pruned model", function()
    it("rebuilds it at its pruned size, with its zeros", function()
        if not nn.load then
            pending("nn.load is not in this build")
            return
        end
        dl.manual_seed(9)
        local m = nn.Sequential{nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                                nn.Linear(4 * 4 * 4, 6), nn.ReLU(), nn.Linear(6, 2)}
        nn.prune.magnitude(m, {amount = 0.3})
        nn.prune.channels(m, {amount = 0.5})
        m:eval()
        local path = os.tmpname()
        m:save(path)
        local loaded = nn.load(path)
        os.remove(path)
        loaded:eval()
        local x = dl.randn(3, 1, 6, 6)
        assert.are.same({2, 1, 3, 3}, loaded[1].weight:shape())
        assert.are.same({3, 32}, loaded[5].weight:shape())
        H.close(dl.no_grad(function() return loaded(x) end),
                dl.no_grad(function() return m(x) end):totable(), 1e-6)
    end)
end)

describe("nn.prune.report", function()
    it("prints one row per layer and a total", function()
        dl.manual_seed(8)
        local m = nn.Sequential{nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 2)}
        nn.prune.magnitude(m, {amount = 0.5})
        local text = tostring(nn.prune.report(m))
        local lines = {}
        for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
        assert.are.equal(4, #lines)
        assert.truthy(lines[1]:find("layer%s+type%s+parameters%s+weights%s+zeros%s+sparsity"))
        assert.truthy(lines[2]:find("^1%s+Linear%s+50%s+40%s+20%s+50.0%%$"), lines[2])
        assert.truthy(lines[4]:find("^total%s+72%s+60%s+30%s+50.0%%$"), lines[4])
    end)
end)

describe("bad input", function()
    it("names amounts outside [0, 1), unknown options and scopes", function()
        local m = mlp()
        H.raises("bad argument #2 to 'prune.magnitude' (expected option 'amount' as a fraction in [0, 1), got 1)",
                 nn.prune.magnitude, m, {amount = 1})
        H.raises("bad argument #2 to 'prune.channels' (expected option 'amount' as a fraction in [0, 1), got -0.1)",
                 nn.prune.channels, m, {amount = -0.1})
        H.raises("bad argument #2 to 'prune.magnitude' (expected option 'amount' as a fraction in [0, 1), got nil)",
                 nn.prune.magnitude, m)
        H.raises("bad argument #2 to 'prune.magnitude' (expected option 'scope' \"layer\" or \"global\", got all)",
                 nn.prune.magnitude, m, {amount = 0.5, scope = "all"})
        H.raises("bad argument #2 to 'prune.channels' (unknown option 'amout'; known: amount)",
                 nn.prune.channels, m, {amout = 0.5})
    end)

    it("names models without prunable layers", function()
        H.raises("bad argument #1 to 'prune.magnitude' (expected a model with Linear or Conv2d layers, got "
                 .. "Sequential, which has none)", nn.prune.magnitude, nn.Sequential{nn.ReLU()}, {amount = 0.5})
        H.raises("bad argument #1 to 'prune.report' (expected a model (an nn module), got a tensor)",
                 nn.prune.report, dl.ones(2))
        H.raises("bad argument #1 to 'prune.channels' (expected an nn.Sequential, got nn.Linear)",
                 nn.prune.channels, nn.Linear(2, 2), {amount = 0.5})
        H.raises("bad argument #1 to 'prune.channels' (expected a Sequential with a Linear or Conv2d layer "
                 .. "followed (through activations, pooling, BatchNorm or Flatten) by another, got none)",
                 nn.prune.channels, nn.Sequential{nn.Linear(3, 2), nn.LayerNorm(2), nn.Linear(2, 2)},
                 {amount = 0.5})
        -- after a Flatten a BatchNorm normalises values, not channels: that conv is left alone
        H.raises("bad argument #1 to 'prune.channels' (expected a Sequential with a Linear or Conv2d layer "
                 .. "followed (through activations, pooling, BatchNorm or Flatten) by another, got none)",
                 nn.prune.channels, nn.Sequential{nn.Conv2d(1, 2, 3), nn.Flatten(), nn.BatchNorm1d(8),
                                                  nn.Linear(8, 2)}, {amount = 0.5})
    end)
end)
