-- Every optimiser (every option) and every scheduler against PyTorch
-- (Debian's python3-torch): tests/oracle/optim.py writes torch's starting
-- parameters and data, the parameters after 10 steps, and the learning
-- rates of 16 scheduler epochs; here dl repeats each case and must agree
-- (parameters to 1e-4 relative, learning rates to 1e-12).
local H = require "tests.lua.helper"
local dl = H.dl
local optim = dl.optim

local function load_reference()
    return H.oracle("tests/oracle/optim.py", "oracle_optim.lua")
end

local function tensor(spec)
    return dl.tensor(spec.data):reshape(spec.shape)
end

-- |got - want| <= 1e-4 |want| + 1e-5, element by element.
local function agree(got, spec, what)
    assert.are.same(spec.shape, got:shape(), what .. ": shapes differ")
    local values = got:reshape(-1):totable()
    for i, want in ipairs(spec.data) do
        local err = math.abs(values[i] - want)
        assert(err <= 1e-4 * math.abs(want) + 1e-5,
               ("%s: element %d is %.9g, PyTorch has %.9g"):format(what, i, values[i], want))
    end
end

local function close(got, want, what)
    assert(math.abs(got - want) <= 1e-12 * math.max(1, math.abs(want)),
           ("%s: dl has %.17g, PyTorch %.17g"):format(what, got, want))
end

local function describe_options(options)
    local parts = {}
    for key, value in pairs(options) do
        parts[#parts + 1] = ("%s=%s"):format(key, type(value) == "table"
                                             and "{" .. table.concat(value, ",") .. "}" or tostring(value))
    end
    table.sort(parts)
    return table.concat(parts, " ")
end

local reference = load_reference()

describe("oracle: optimisers against PyTorch (10 steps, every option)", function()
    for i, case in ipairs(reference) do
        if case.kind == "optimizer" then
            it(("%d %s %s"):format(i, case.name, describe_options(case.options)), function()
                local w = tensor(case.start[1]):requires_grad(true)
                local b = tensor(case.start[2]):requires_grad(true)
                local x, y = tensor(case.x), tensor(case.y)
                local opt = optim[case.name]({w, b}, case.options)
                for _ = 1, case.steps do
                    opt:zero_grad()
                    local loss = ((w * x + b - y) ^ 2):sum()
                    loss:backward()
                    opt:step()
                end
                agree(w, case.after[1], case.name .. " w")
                agree(b, case.after[2], case.name .. " b")
            end)
        end
    end
end)

-- The scheduler of a case (SequentialLR builds its parts first).
local function build_scheduler(case, opt)
    if case.name == "LambdaLR" then
        return optim.LambdaLR(opt, load(case.lua_lambda)())
    elseif case.name == "SequentialLR" then
        local parts = {}
        for j, part in ipairs(case.parts) do parts[j] = optim[part[1]](opt, part[2]) end
        return optim.SequentialLR(opt, {schedulers = parts, milestones = case.options.milestones})
    end
    return optim[case.name](opt, case.options)
end

describe("oracle: schedulers against PyTorch (16 epochs)", function()
    for i, case in ipairs(reference) do
        if case.kind == "scheduler" then
            it(("%d %s %s"):format(i, case.name, describe_options(case.options)), function()
                local w = dl.zeros(2, {requires_grad = true})
                local opt = optim[case.optimizer]({w}, case.optimizer_options)
                local sched = build_scheduler(case, opt)
                local function momentum()
                    return opt.betas and opt.betas[1] or opt.momentum
                end
                close(opt.lr, case.lrs[1], case.name .. " lr after construction")
                for epoch = 1, 16 do
                    local returned = sched:step(case.metrics[epoch])
                    close(opt.lr, case.lrs[epoch + 1], ("%s lr of epoch %d"):format(case.name, epoch))
                    assert.equal(opt.lr, returned)
                    if case.name == "OneCycleLR" then
                        close(momentum(), case.momenta[epoch + 1],
                              ("%s momentum of epoch %d"):format(case.name, epoch))
                    end
                end
            end)
        end
    end
end)
