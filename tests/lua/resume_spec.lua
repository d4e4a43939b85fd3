-- A stopped run resumes from its files: the model saved with m:save, the
-- optimiser's and the scheduler's state with dl.save, both read back in a
-- fresh model and optimiser, reach the same weights, bit for bit, as a run
-- that never stopped (issue 11's saving, end to end).
local H = require "tests.lua.helper"
local dl = H.dl
local nn, optim = dl.nn, dl.optim

local function batches()
    dl.manual_seed(7)
    local xs, ys = {}, {}
    for i = 1, 6 do
        xs[i] = dl.randn(16, 4)
        ys[i] = (xs[i]:sum(2) + 0.5):gt(0):add(1)   -- labels 1..2
    end
    return xs, ys
end

local function make_model()
    dl.manual_seed(3)
    return nn.Sequential{nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.0), nn.Linear(8, 2)}
end

local function train(model, opt, sched, xs, ys, from, to)
    for i = from, to do
        opt:zero_grad()
        nn.cross_entropy(model(xs[i]), ys[i]):backward()
        opt:step()
        sched:step()
    end
end

local function weights(model)
    local out = {}
    for _, p in ipairs(model:parameters()) do out[#out + 1] = p:reshape(-1):totable() end
    return out
end

describe("a run saved to files", function()
    for _, name in ipairs{"SGD", "Adam", "AdamW", "RMSprop"} do
        it(("resumes with %s to the weights of an uninterrupted run"):format(name), function()
            local xs, ys = batches()
            local options = {lr = 0.05}
            if name == "SGD" then options.momentum = 0.9 end

            local whole = make_model()
            local whole_opt = optim[name](whole, options)
            train(whole, whole_opt, optim.StepLR(whole_opt, {step_size = 2, gamma = 0.5}), xs, ys, 1, 6)

            local first = make_model()
            local first_opt = optim[name](first, options)
            local first_sched = optim.StepLR(first_opt, {step_size = 2, gamma = 0.5})
            train(first, first_opt, first_sched, xs, ys, 1, 3)
            local dir = os.tmpname()
            os.remove(dir)
            assert(os.execute("mkdir -p " .. dir))
            first:save(dir .. "/model.safetensors")
            dl.save({optimizer = first_opt:state_dict(), scheduler = first_sched:state_dict()},
                    dir .. "/state.safetensors")

            local model = nn.load(dir .. "/model.safetensors"):train()
            local opt = optim[name](model, options)
            local sched = optim.StepLR(opt, {step_size = 2, gamma = 0.5})
            local state = dl.load(dir .. "/state.safetensors")
            opt:load_state_dict(state.optimizer)
            sched:load_state_dict(state.scheduler)
            train(model, opt, sched, xs, ys, 4, 6)
            os.execute("rm -rf " .. dir)

            assert.are.same(weights(whole), weights(model))
            assert.are.equal(whole_opt.lr, opt.lr)
        end)
    end
end)
