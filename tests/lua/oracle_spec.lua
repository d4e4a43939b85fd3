-- Every layer, loss and optimiser against PyTorch (Debian's python3-torch):
-- tests/oracle/reference.py writes PyTorch's inputs, weights, outputs and
-- gradients; here dl rebuilds each case from those numbers and must agree
-- to 1e-4 relative.
local H = require "tests.lua.helper"
local dl = H.dl
local nn, optim = dl.nn, dl.optim

local function load_reference()
    return H.oracle("tests/oracle/reference.py", "oracle_reference.lua")
end

local function tensor(spec)
    return dl.tensor(spec.data):reshape(spec.shape)
end

-- |got - want| <= 1e-4 |want| + 1e-5, element by element.
local function agree(got, spec, what)
    assert(dl.is_tensor(got), what .. ": expected a tensor, got " .. type(got))
    assert.are.same(spec.shape, got:shape(), what .. ": shapes differ")
    local values = got:reshape(-1):totable()
    for i, want in ipairs(spec.data) do
        local err = math.abs(values[i] - want)
        assert(err <= 1e-4 * math.abs(want) + 1e-5,
               ("%s: element %d is %.9g, PyTorch has %.9g"):format(what, i, values[i], want))
    end
end

local function build_layer(case)
    local a = case.args
    local builders = {
        Linear = function() return nn.Linear(a.n_in, a.n_out, {bias = a.bias}) end,
        Conv2d = function() return nn.Conv2d(a.n_in, a.n_out, a.k, {stride = a.stride, padding = a.padding}) end,
        MaxPool2d = function() return nn.MaxPool2d(a.k, {stride = a.stride, padding = a.padding}) end,
        AvgPool2d = function() return nn.AvgPool2d(a.k, {stride = a.stride, padding = a.padding}) end,
        Flatten = function() return nn.Flatten() end,
        BatchNorm1d = function() return nn.BatchNorm1d(a.n) end,
        BatchNorm2d = function() return nn.BatchNorm2d(a.n) end,
        LayerNorm = function() return nn.LayerNorm(a.n) end,
        Embedding = function() return nn.Embedding(a.num, a.dim) end,
        Softmax = function() return nn.Softmax(a.dim) end,
        LogSoftmax = function() return nn.LogSoftmax(a.dim) end,
    }
    local layer = (builders[case.name] or function() return nn[case.name]() end)()
    for name, spec in pairs(case.params) do
        dl.no_grad(function() layer[name]:copy_(tensor(spec)) end)
    end
    for name, spec in pairs(case.buffers) do
        if layer[name] then layer[name]:copy_(tensor(spec)) end
    end
    layer:train(case.train)
    return layer
end

local reference = load_reference()

describe("oracle: layers against PyTorch", function()
    for i, case in ipairs(reference) do
        if case.kind == "layer" then
            it(("%d %s %s"):format(i, case.name, case.train and "" or "(eval)"), function()
                local layer = build_layer(case)
                local x = tensor(case.input)
                if case.grads.input then x:requires_grad(true) end
                local y = layer(x)
                agree(y, case.output, case.name .. " output")
                local weighted = (y * tensor(case.upstream)):sum()
                weighted:backward()
                for name, spec in pairs(case.grads) do
                    local t = name == "input" and x or layer[name]
                    agree(t.grad, spec, case.name .. " gradient of " .. name)
                end
                for name, spec in pairs(case.buffers_after) do
                    agree(layer[name], spec, case.name .. " " .. name .. " after the step")
                end
            end)
        end
    end
end)

describe("oracle: losses against PyTorch", function()
    for i, case in ipairs(reference) do
        if case.kind == "loss" then
            it(("%d %s %s"):format(i, case.name, case.options.reduction or ""), function()
                local x = tensor(case.input):requires_grad(true)
                local loss = nn[case.name](x, tensor(case.target), case.options)
                agree(loss, case.output, case.name)
                local weighted = (loss * tensor(case.upstream)):sum()
                weighted:backward()
                agree(x.grad, case.grads.input, case.name .. " gradient")
            end)
        end
    end
end)

describe("oracle: optimisers against PyTorch (10 steps)", function()
    for i, case in ipairs(reference) do
        if case.kind == "optim" then
            it(("%d %s"):format(i, case.name), function()
                local w = tensor(case.w0):requires_grad(true)
                local x, y = tensor(case.x), tensor(case.y)
                local opt = optim[case.name]({w}, case.options)
                for _ = 1, case.steps do
                    opt:zero_grad()
                    local loss = ((w * x - y) ^ 2):sum()
                    loss:backward()
                    opt:step()
                end
                agree(w, case.w, case.name .. " parameters")
            end)
        end
    end
end)
