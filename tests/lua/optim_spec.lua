-- Optimisers and schedulers: the behaviour PyTorch users rely on beyond the
-- oracle's numbers (tests/lua/optim_oracle_spec.lua): options checked when
-- set, state_dict round trips that resume bit-identically, clear errors.
local H = require "tests.lua.helper"
local dl = H.dl
local optim = dl.optim
local steps = require "dl.steps"

-- A fresh pair of parameters, always the same numbers.
local function parameters()
    dl.manual_seed(3)
    return {dl.randn(4, 3, {requires_grad = true}), dl.randn(3, {requires_grad = true})}
end

local x, y
do
    dl.manual_seed(4)
    x, y = dl.randn(4, 3), dl.randn(4, 3)
end

local function train(params, opt, n)
    for _ = 1, n do
        opt:zero_grad()
        local loss = ((params[1] * x + params[2] - y) ^ 2):sum()
        loss:backward()
        opt:step()
    end
end

local function sgd() return optim.SGD(parameters(), {lr = 1}) end

-- Options with which each optimiser uses all of its state.
local FULL = {
    SGD = {lr = 0.01, momentum = 0.9}, Adam = {lr = 0.01, amsgrad = true},
    AdamW = {lr = 0.01, amsgrad = true}, RMSprop = {momentum = 0.5, centered = true},
    Adagrad = {initial_accumulator_value = 0.1}, Adamax = {}, Adadelta = {}, NAdam = {},
    RAdam = {}, Lion = {lr = 0.01},
}

describe("issue 12: schedulers as torch.optim.lr_scheduler", function()
    it("CosineAnnealingLR follows the cosine back up after t_max", function()
        local opt = sgd()
        opt.lr = 0.1
        local s = optim.CosineAnnealingLR(opt, {t_max = 2})
        local lrs = {}
        for i = 1, 4 do lrs[i] = s:step() end
        for i, want in ipairs{0.05, 0, 0.05, 0.1} do
            assert(math.abs(lrs[i] - want) < 1e-15, ("epoch %d: %.17g, want %g"):format(i, lrs[i], want))
        end
        assert.equal(optim.CosineLR, optim.CosineAnnealingLR)
    end)

    it("ReduceLROnPlateau counts its cooldown down on improving epochs too", function()
        local opt = sgd()
        local s = optim.ReduceLROnPlateau(opt, {patience = 0, cooldown = 1, factor = 0.5})
        local lrs = {}
        for i, metric in ipairs{1, 2, 0.5, 2, 2} do lrs[i] = s:step(metric) end
        assert.same({1, 0.5, 0.5, 0.25, 0.25}, lrs)
    end)

    it("a LinearLR warm-up then a cosine decay, chained by SequentialLR", function()
        local opt = sgd()
        local warm = optim.LinearLR(opt, {start_factor = 0.25, total_iters = 2})
        local decay = optim.CosineAnnealingLR(opt, {t_max = 2})
        local s = optim.SequentialLR(opt, {schedulers = {warm, decay}, milestones = {2}})
        assert.equal(0.25, opt.lr)
        local lrs = {}
        for i = 1, 4 do lrs[i] = s:step() end
        assert.same({0.625, 1, 0.5, 0}, lrs)
    end)

    it("LambdaLR multiplies the first lr by the function of the epoch", function()
        local opt = sgd()
        local s = optim.LambdaLR(opt, function(epoch) return 1 / (epoch + 1) end)
        assert.equal(1, opt.lr)
        s:step()
        assert.equal(0.5, opt.lr)
        assert.equal(0.5, s:get_last_lr())
    end)

    it("OneCycleLR cycles Adam's beta1 and stops at total_steps", function()
        local opt = optim.Adam(parameters())
        local s = optim.OneCycleLR(opt, {max_lr = 0.1, total_steps = 10})
        assert.equal(0.95, opt.betas[1])
        assert.equal(0.999, opt.betas[2])
        assert(math.abs(opt.lr - 0.1 / 25) < 1e-15)
        for _ = 1, 9 do s:step() end
        assert.equal(0.95, opt.betas[1])
        assert(math.abs(opt.lr - 0.1 / 25 / 1e4) < 1e-15)
        H.raises("bad argument #1 to 'step' (OneCycleLR's schedule has ended: total_steps = 10)",
                 function() s:step() end)
    end)
end)

describe("optimiser options", function()
    it("come from one table: each optimiser's defaults are its fields", function()
        for _, kind in ipairs(steps.optimizers) do
            local opt = optim[kind.name](parameters())
            assert.equal(kind.name, opt.name)
            for _, spec in ipairs(kind.options) do
                assert.same(spec.default, opt[spec.name], kind.name .. "." .. spec.name)
            end
        end
        assert.equal(10, #steps.optimizers)
    end)

    it("are checked when set after construction, naming the option", function()
        local opt = optim.SGD(parameters(), {lr = 0.1})
        H.raises("bad assignment to 'SGD.lr' (option 'lr' expects a number, got string)",
                 function() opt.lr = "fast" end)
        H.raises("bad assignment to 'SGD.lr' (expected lr >= 0, got -1)", function() opt.lr = -1 end)
        H.raises("bad assignment to 'SGD.lr' (expected option 'lr' to be a finite number, got nan)",
                 function() opt.lr = 0 / 0 end)
        H.raises("bad assignment to 'SGD.nesterov' (nesterov needs momentum > 0 and dampening 0)",
                 function() opt.nesterov = true end)
        assert.equal(false, opt.nesterov)
        assert.equal(0.1, opt.lr)
        local adam = optim.Adam(parameters())
        H.raises("bad assignment to 'Adam.betas' (betas[1] must be in [0, 1), got 1.5)",
                 function() adam.betas = {1.5, 0.9} end)
        H.raises("bad assignment to 'Adam.amsgrad' (option 'amsgrad' expects a boolean, got number)",
                 function() adam.amsgrad = 1 end)
        -- A valid value takes effect at the next step; other fields are plain.
        opt.lr = 0
        local params = opt.params
        local before = params[1]:clone()
        train(params, opt, 1)
        assert.equal(0, (params[1] - before):abs():max():item())
        opt.note = "mine"
        assert.equal("mine", opt.note)
    end)

    it("are refused at construction with the known names", function()
        H.raises("bad argument #2 to 'Lion' (unknown option 'eps'; known: betas, lr, weight_decay)",
                 function() optim.Lion(parameters(), {eps = 1e-8}) end)
        H.raises("bad argument #2 to 'Adadelta' (expected rho in [0, 1], got 1.5)",
                 function() optim.Adadelta(parameters(), {rho = 1.5}) end)
        H.raises("bad argument #2 to 'RMSprop' (option 'centered' expects a boolean, got string)",
                 function() optim.RMSprop(parameters(), {centered = "yes"}) end)
        H.raises("bad argument #2 to 'NAdam' (expected momentum_decay >= 0, got -1)",
                 function() optim.NAdam(parameters(), {momentum_decay = -1}) end)
        H.raises("bad argument #2 to 'Adagrad' (expected initial_accumulator_value >= 0, got -0.5)",
                 function() optim.Adagrad(parameters(), {initial_accumulator_value = -0.5}) end)
        H.raises("bad argument #2 to 'RAdam' (option 'betas' expects two numbers, got 3 values)",
                 function() optim.RAdam(parameters(), {betas = {0.9, 0.9, 0.9}}) end)
        H.raises("bad argument #2 to 'SGD' (nesterov needs momentum > 0 and dampening 0)",
                 function() optim.SGD(parameters(), {nesterov = true}) end)
    end)

    it("maximize climbs: the step of -loss with maximize equals the step of loss", function()
        for _, name in ipairs{"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Adadelta"} do
            local down, up = parameters(), parameters()
            local a = optim[name](down, {lr = 0.1})
            local b = optim[name](up, {lr = 0.1, maximize = true})
            for _ = 1, 3 do
                a:zero_grad()
                b:zero_grad()
                local l1 = ((down[1] * x + down[2] - y) ^ 2):sum()
                l1:backward()
                local l2 = -((up[1] * x + up[2] - y) ^ 2):sum()
                l2:backward()
                a:step()
                b:step()
            end
            assert.equal(0, (down[1] - up[1]):abs():max():item(), name)
        end
    end)

    it("leave parameters without a gradient and their state alone", function()
        local params = parameters()
        local opt = optim.Adam(params)
        local before = params[2]:clone()
        local loss = (params[1] * x):sum()
        loss:backward()
        opt:step()
        assert.equal(0, (params[2] - before):abs():max():item())
        assert.is_nil(opt.state[2])
        assert.equal(1, opt.state[1].step)
    end)
end)

describe("Optimizer:state_dict", function()
    it("has PyTorch's layout, with copies of the state tensors", function()
        local params = parameters()
        local opt = optim.Adam(params, {lr = 0.01, amsgrad = true})
        train(params, opt, 3)
        local sd = opt:state_dict()
        assert.equal(3, sd.state[1].step)
        assert.equal(3, sd.state[2].step)
        for _, key in ipairs{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"} do
            assert.same({4, 3}, sd.state[1][key]:shape())
            assert.same({3}, sd.state[2][key]:shape())
        end
        local group = sd.param_groups[1]
        assert.equal(1, #sd.param_groups)
        assert.same({1, 2}, group.params)
        assert.equal(0.01, group.lr)
        assert.same({0.9, 0.999}, group.betas)
        assert.equal(true, group.amsgrad)
        assert.equal(false, group.maximize)
        local saved = sd.state[1].exp_avg:clone()
        train(params, opt, 1)
        assert.equal(0, (sd.state[1].exp_avg - saved):abs():max():item())
        assert.equal(3, sd.state[1].step)
    end)

    for name, options in pairs(FULL) do
        it(name .. ": a run resumed from state_dict ends bit-identical to an uninterrupted one", function()
            local straight = parameters()
            train(straight, optim[name](straight, options), 6)

            local first = parameters()
            local opt = optim[name](first, options)
            train(first, opt, 3)
            local sd = opt:state_dict()
            local weights = {first[1]:clone(), first[2]:clone()}

            local resumed = parameters()
            dl.no_grad(function()
                resumed[1]:copy_(weights[1])
                resumed[2]:copy_(weights[2])
            end)
            local fresh = optim[name](resumed)
            fresh:load_state_dict(sd)
            for key in pairs(options) do assert.same(options[key], fresh[key]) end
            train(resumed, fresh, 3)
            for i = 1, 2 do
                assert.equal(0, (resumed[i] - straight[i]):abs():max():item(),
                             ("%s parameter %d"):format(name, i))
            end
        end)
    end

    it("load_state_dict names what does not match and changes nothing then", function()
        local params = parameters()
        local opt = optim.Adam(params, {lr = 0.01})
        train(params, opt, 2)
        local sd = opt:state_dict()
        local other = optim.Adam({dl.zeros(3, 4, {requires_grad = true}),
                                  dl.zeros(3, {requires_grad = true})})
        H.raises("bad argument #1 to 'load_state_dict' (state 'exp_avg' of parameter 1 has shape " ..
                 "(4, 3), the parameter (3, 4))", function() other:load_state_dict(sd) end)
        assert.same({}, other.state)
        local one = optim.Adam({dl.zeros(4, 3, {requires_grad = true})})
        H.raises("bad argument #1 to 'load_state_dict' (the optimizer has 1 parameters, the state " ..
                 "dict 2)", function() one:load_state_dict(sd) end)
        local sgd_opt = optim.SGD(parameters())
        H.raises("bad argument #1 to 'load_state_dict' (unknown option 'amsgrad' for SGD; known: " ..
                 "dampening, lr, maximize, momentum, nesterov, weight_decay)",
                 function() sgd_opt:load_state_dict(sd) end)
        sd.param_groups[1].lr = -1
        H.raises("bad argument #1 to 'load_state_dict' (expected lr >= 0, got -1)",
                 function() opt:load_state_dict(sd) end)
        assert.equal(0.01, opt.lr)
        sd.param_groups[1].lr = 0.01
        sd.state[2].velocity = dl.zeros(3)
        H.raises("bad argument #1 to 'load_state_dict' (unknown state 'velocity' of parameter 2 for Adam)",
                 function() opt:load_state_dict(sd) end)
        H.raises("bad argument #1 to 'load_state_dict' (expected a table {state = ..., param_groups = ...} " ..
                 "from state_dict, got number)", function() opt:load_state_dict(5) end)
    end)
end)

describe("Scheduler:state_dict", function()
    local function resumed_lrs(make, metrics)
        local straight = make(sgd())
        local want = {}
        for i = 1, 8 do want[i] = straight:step(metrics and metrics[i]) end
        local opt = sgd()
        local s = make(opt)
        for i = 1, 4 do s:step(metrics and metrics[i]) end
        local sd, osd = s:state_dict(), opt:state_dict()
        local opt2 = sgd()
        local s2 = make(opt2)
        opt2:load_state_dict(osd)
        s2:load_state_dict(sd)
        local got = {}
        for i = 1, 4 do got[i] = want[i] end
        for i = 5, 8 do got[i] = s2:step(metrics and metrics[i]) end
        return want, got
    end

    it("resumes every scheduler where it stopped", function()
        local makers = {
            function(o) return optim.StepLR(o, {step_size = 3}) end,
            function(o) return optim.MultiStepLR(o, {milestones = {2, 6}}) end,
            function(o) return optim.CosineLR(o, {t_max = 3}) end,
            function(o) return optim.CosineAnnealingWarmRestarts(o, {t_0 = 2, t_mult = 2}) end,
            function(o) return optim.OneCycleLR(o, {max_lr = 2, total_steps = 9}) end,
            function(o) return optim.LambdaLR(o, function(e) return 0.5 ^ e end) end,
            function(o)
                return optim.SequentialLR(o, {schedulers = {optim.LinearLR(o, {total_iters = 3}),
                                                            optim.ExponentialLR(o, {gamma = 0.5})},
                                              milestones = {3}})
            end,
        }
        for i, make in ipairs(makers) do
            local want, got = resumed_lrs(make)
            assert.same(want, got, "scheduler " .. i)
        end
        local want, got = resumed_lrs(function(o) return optim.ReduceLROnPlateau(o, {patience = 1}) end,
                                      {1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5})
        assert.same(want, got)
        local sd = optim.StepLR(sgd(), {step_size = 2}):state_dict()
        assert.equal(0, sd.last_epoch)
        assert.equal(2, sd.step_size)
        assert.is_nil(sd.optimizer)
    end)

    it("load_state_dict refuses fields the scheduler does not have", function()
        local s = optim.StepLR(sgd(), {step_size = 2})
        H.raises("bad argument #1 to 'load_state_dict' (StepLR has no field 't_max' of type number)",
                 function() s:load_state_dict{t_max = 3} end)
        H.raises("bad argument #1 to 'load_state_dict' (StepLR has no field 'gamma' of type string)",
                 function() s:load_state_dict{gamma = "x"} end)
    end)
end)

describe("scheduler options", function()
    it("are checked with clear errors", function()
        local opt = sgd()
        H.raises("bad argument #2 to 'OneCycleLR' (expected {max_lr = ...})",
                 function() optim.OneCycleLR(opt, {total_steps = 4}) end)
        H.raises("bad argument #2 to 'OneCycleLR' (expected total_steps, or epochs and steps_per_epoch)",
                 function() optim.OneCycleLR(opt, {max_lr = 1}) end)
        H.raises("bad argument #2 to 'OneCycleLR' (anneal_strategy must be \"cos\" or \"linear\", got \"cosine\")",
                 function() optim.OneCycleLR(opt, {max_lr = 1, total_steps = 4, anneal_strategy = "cosine"}) end)
        H.raises("bad argument #2 to 'OneCycleLR' (cycle_momentum needs an optimizer with momentum or " ..
                 "betas; Adagrad has neither: give cycle_momentum = false)",
                 function() optim.OneCycleLR(optim.Adagrad(parameters()), {max_lr = 1, total_steps = 4}) end)
        H.raises("bad argument #2 to 'LambdaLR' (expected a function of the epoch, got number)",
                 function() optim.LambdaLR(opt, 0.5) end)
        H.raises("bad argument #2 to 'LambdaLR' (the function gave string at epoch 0, expected a finite number)",
                 function() optim.LambdaLR(opt, function() return "x" end) end)
        H.raises("bad argument #2 to 'MultiStepLR' (expected milestones to be whole numbers >= 1, got 2.5 at 2)",
                 function() optim.MultiStepLR(opt, {milestones = {1, 2.5}}) end)
        H.raises("bad argument #2 to 'MultiStepLR' (expected milestones in increasing order)",
                 function() optim.MultiStepLR(opt, {milestones = {3, 2}}) end)
        H.raises("bad argument #2 to 'LinearLR' (expected start_factor in (0, 1], got 0)",
                 function() optim.LinearLR(opt, {start_factor = 0}) end)
        H.raises("bad argument #2 to 'CosineAnnealingWarmRestarts' (expected t_mult to be a whole number " ..
                 ">= 1, got 1.5)", function() optim.CosineAnnealingWarmRestarts(opt, {t_0 = 2, t_mult = 1.5}) end)
        local s = optim.CosineAnnealingWarmRestarts(opt, {t_0 = 2})
        H.raises("bad argument #1 to 'step' (expected an epoch >= 0, got -1)", function() s:step(-1) end)
        H.raises("bad argument #2 to 'SequentialLR' (expected 1 milestones for 2 schedulers, got 0)",
                 function()
                     optim.SequentialLR(opt, {schedulers = {optim.StepLR(opt, {step_size = 1}),
                                                            optim.StepLR(opt, {step_size = 1})},
                                              milestones = {}})
                 end)
        H.raises("bad argument #2 to 'SequentialLR' (schedulers[1] is not a scheduler of this optimizer)",
                 function()
                     optim.SequentialLR(opt, {schedulers = {optim.StepLR(sgd(), {step_size = 1})},
                                              milestones = {}})
                 end)
        H.raises("bad argument #2 to 'ReduceLROnPlateau' (threshold_mode must be \"rel\" or \"abs\", got \"x\")",
                 function() optim.ReduceLROnPlateau(opt, {threshold_mode = "x"}) end)
    end)
end)

describe("methods of every optimiser and scheduler given wrong arguments", function()
    it("raise 'bad argument #N to name (...)' or work", function()
        local values = {nil, 0, -1, 1.5, "x", {}, {1, 2}, dl.ones(3), function() end, 0 / 0}
        local nvalues = 10
        local make = {}
        for name, options in pairs(FULL) do
            make[name] = function() return optim[name](parameters(), options) end
        end
        local function opt() return optim.SGD(parameters(), {lr = 0.1, momentum = 0.9}) end
        make.StepLR = function() return optim.StepLR(opt(), {step_size = 2}) end
        make.MultiStepLR = function() return optim.MultiStepLR(opt(), {milestones = {2}}) end
        make.CosineLR = function() return optim.CosineLR(opt(), {t_max = 2}) end
        make.LambdaLR = function() return optim.LambdaLR(opt(), function() return 1 end) end
        make.LinearLR = function() return optim.LinearLR(opt()) end
        make.OneCycleLR = function() return optim.OneCycleLR(opt(), {max_lr = 1, total_steps = 5}) end
        make.CosineAnnealingWarmRestarts = function()
            return optim.CosineAnnealingWarmRestarts(opt(), {t_0 = 2})
        end
        make.SequentialLR = function()
            local o = opt()
            return optim.SequentialLR(o, {schedulers = {optim.LinearLR(o), optim.StepLR(o, {step_size = 2})},
                                          milestones = {3}})
        end
        make.ReduceLROnPlateau = function() return optim.ReduceLROnPlateau(opt()) end
        local methods = {"step", "zero_grad", "state_dict", "load_state_dict", "get_lr", "get_last_lr"}
        local form = "^bad argument #%d+ to '[%w_]+' %(.+%)$"
        local wrong = {}
        for kind, new in pairs(make) do
            for _, method in ipairs(methods) do
                for i = 1, nvalues do
                    local target = new()
                    if target[method] then
                        local ok, msg = pcall(target[method], target, values[i])
                        msg = not ok and tostring(msg):gsub("^[^:]*:%d+: ", "") or ""
                        if not ok and not msg:match(form) and #wrong < 10 then
                            wrong[#wrong + 1] = ("%s:%s(#%d): %s"):format(kind, method, i, msg)
                        end
                    end
                end
            end
        end
        assert.equal("", table.concat(wrong, "\n"))
    end)
end)
