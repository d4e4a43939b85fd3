-- Autodiff from Lua: backward, .grad accumulation, no_grad, detach, and
-- the errors a student meets first.
local H = require "tests.lua.helper"
local dl = H.dl

describe("autograd", function()
    it("computes and accumulates gradients until zero_grad", function()
        local w = dl.tensor({1, 2, 3}, {requires_grad = true})
        local x = dl.tensor{4, 5, 6}
        for round = 1, 2 do
            local loss = (w * x):sum()
            loss:backward()
            H.close(w.grad, {4 * round, 5 * round, 6 * round})
        end
        assert.is_nil(x.grad)
        w:zero_grad()
        assert.is_nil(w.grad)
    end)

    it("the tiny step of the benchmark: ((w*x):sum()-1)^2", function()
        local w = dl.tensor({0.5, -1, 2, 0}, {requires_grad = true})
        local x = dl.tensor{1, 2, 3, 4}
        local loss = ((w * x):sum() - 1) ^ 2                 -- (0.5 - 2 + 6 - 1)^2 = 12.25
        H.close(loss, 12.25)
        assert.equal("pow", loss:grad_fn())
        loss:backward()
        H.close(w.grad, {7, 14, 21, 28})                      -- 2 * 3.5 * x
        assert.is_true(w:is_leaf())
        assert.is_false(loss:is_leaf())
    end)

    it("no_grad records nothing, restores the mode after errors, returns results", function()
        local w = dl.ones(2, {requires_grad = true})
        local y, z = dl.no_grad(function() return w * 2, 7 end)
        assert.is_false(y:requires_grad())
        assert.equal(7, z)
        assert.is_false(pcall(dl.no_grad, function() error("boom") end))
        assert.is_true(dl.is_grad_enabled())
        assert.is_true((w * 2):requires_grad())
    end)

    it("detach shares data but leaves the graph", function()
        local w = dl.ones(2, {requires_grad = true})
        local d = w:detach()
        assert.is_false(d:requires_grad())
        d:fill_(5)
        H.close(w, {5, 5})
    end)

    it("explains misuse", function()
        local w = dl.ones(2, {requires_grad = true})
        H.raises("bad argument #1 to 'backward' (expected a scalar loss, got shape (2,); or pass a gradient)",
                 function() (w * 2):backward() end)
        assert.matches("requires_grad", H.err(function() dl.ones(1):backward() end))
        assert.matches("cannot change a tensor that requires grad in place", H.err(function() w:fill_(0) end))
        dl.no_grad(function() w:fill_(3) end)
        H.close(w, {3, 3})
        local y = w * w
        y:sum():backward()
        assert.matches("freed", H.err(function() y:sum():backward() end))
    end)
end)

describe("layers and modules", function()
    local nn, optim = dl.nn, dl.optim

    it("Sequential is indexable and lists parameters in order", function()
        dl.manual_seed(0)
        local model = nn.Sequential{nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)}
        assert.equal(3, #model)
        local params = model:parameters()
        assert.equal(4, #params)
        assert.same({3, 4}, params[1]:shape())
        assert.equal(model[1].weight, params[1])
        assert.equal(3 * 4 + 3 + 3 * 2 + 2, model:num_parameters())
        local named = model:named_parameters()
        assert.equal("3.bias", named[4][1])
    end)

    it("initialises like PyTorch: Linear weights within 1/sqrt(fan_in)", function()
        dl.manual_seed(1)
        local layer = nn.Linear(400, 300)
        local bound = 1 / math.sqrt(400)
        assert.is_true(layer.weight:abs():max():item() <= bound)
        assert.is_true(layer.weight:abs():max():item() > 0.95 * bound)
        -- U(-b, b) has standard deviation b / sqrt(3)
        assert.is_true(math.abs(layer.weight:std():item() - bound / math.sqrt(3)) < 0.002)
        local w = dl.empty(200, 300)
        nn.init.kaiming_normal(w, {nonlinearity = "relu"})
        assert.is_true(math.abs(w:std():item() - math.sqrt(2 / 300)) < 0.002)
        nn.init.xavier_uniform(w)
        assert.is_true(w:abs():max():item() <= math.sqrt(6 / 500))
    end)

    it("a user-defined Module trains like the built-in ones", function()
        dl.manual_seed(2)
        local Scale = nn.Module:extend("Scale")
        function Scale:init(n) self.weight = dl.ones(n, {requires_grad = true}) end
        function Scale:forward(x) return x * self.weight end
        local model = nn.Sequential{Scale(3), nn.Linear(3, 1)}
        assert.equal(3 + 3 + 1, model:num_parameters())
        local x, y = dl.randn(16, 3), dl.randn(16, 1)
        local opt = optim.Adam(model, {lr = 0.05})
        local first, last
        for step = 1, 100 do
            local loss = nn.mse_loss(model(x), y)
            opt:zero_grad()
            loss:backward()
            opt:step()
            if step == 1 then first = loss:item() end
            last = loss:item()
        end
        assert.is_true(last < 0.8 * first)
        local inline = nn.Module{forward = function(_, v) return v:relu() end}
        H.close(inline(dl.tensor{-1, 2}), {0, 2})
    end)

    it("train() and eval() switch dropout and batch norm", function()
        dl.manual_seed(3)
        local model = nn.Sequential{nn.Dropout(0.5), nn.BatchNorm1d(2)}
        local x = dl.randn(64, 2) * 3 + 5
        local y = model(x)
        assert.is_true(math.abs(y:mean():item()) < 0.2)
        H.close(model[2].running_mean, (x:mean(1) * 0.1):totable(), 0.6)
        model:eval()
        assert.is_false(model[1].training)
        local z = model(dl.ones(2, 2))
        local expected = (1 - model[2].running_mean) / (model[2].running_var + 1e-5):sqrt()
        H.close(z[1], expected:totable(), 1e-4)
    end)

    it("summary lists layers, output shapes and parameter counts", function()
        local model = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)}
        local text = model:summary{1, 784}
        assert.matches("1 Linear%s+%(1, 256%)%s+200,960", text)
        assert.matches("3 Linear%s+%(1, 10%)%s+2,570", text)
        assert.matches("Total params: 203,530", text)
    end)

    it("conv, pooling and flatten give the documented shapes", function()
        local model = nn.Sequential{
            nn.Conv2d(1, 16, 5, {padding = 2}), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, {padding = 2}), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1568, 10),
        }
        assert.same({3, 10}, model(dl.randn(3, 1, 28, 28)):shape())
    end)

    it("max pooling picks the first maximum (or first NaN) of each window, as PyTorch", function()
        local nan = 0 / 0
        -- eight 2x2 windows side by side: rows hold each window's top and bottom
        local top    = {1, 3,  0, 0,  1, nan,  2, 1,  nan, 1,  0, 2,  0, 1,  0, 0}
        local bottom = {3, 2,  0, 0,  nan, 5,  5, 5,  2, nan,  2, 1,  2, 2,  0, 1}
        local x = dl.tensor({top, bottom}):reshape(1, 1, 2, 16)
        x:requires_grad(true)
        local y = dl.nn.functional.max_pool2d(x, 2)
        y:sum():backward()
        -- the winner of each window: a b / c d -> 1 2 / 3 4
        local winners = {2, 1, 2, 3, 1, 2, 3, 4}
        local grad = x.grad:reshape(2, 16):totable()
        for window, winner in ipairs(winners) do
            local row, col = (winner - 1) // 2 + 1, 2 * (window - 1) + (winner - 1) % 2 + 1
            assert.equal(1, grad[row][col], "window " .. window)
        end
        assert.equal(#winners, x.grad:sum():item())
        -- rows wider than the 2x2 kernel's buffer, with many ties: values and
        -- winners as max() over each window's four values in scan order
        local big = (dl.randn(2, 3, 6, 2100) * 2):floor()
        big:requires_grad(true)
        local pooled = dl.nn.functional.max_pool2d(big, 2)
        pooled:sum():backward()
        local function windows(t)
            return t:reshape(18, 2, 1050, 2):permute(1, 3, 2, 4):reshape(18, 1050, 4)
        end
        local values, first = windows(big:detach()):max(3)
        local _, routed = windows(big.grad):max(3)
        assert.equal(0, (pooled:detach():reshape(18, 1050) - values):abs():max():item())
        assert.equal(0, (routed - first):abs():max():item())
    end)

    it("cross_entropy of a large batch (rows shared by threads) is log-softmax's NLL", function()
        dl.manual_seed(3)
        local n, c = 3000, 30
        local z = dl.randn(n, c, {requires_grad = true})
        local y = (dl.rand(n) * c):floor() + 1
        local each = nn.cross_entropy(z, y, {reduction = "none"})
        local logp = z:detach():log_softmax(2)
        local worst = 0
        for i = 1, n, 7 do
            local want = -logp[i][y[i]]
            worst = math.max(worst, math.abs(each[i] - want) / (math.abs(want) + 1e-6))
        end
        assert.is_true(worst < 1e-5)
        nn.cross_entropy(z, y):backward()
        local p = z:detach():softmax(2)
        local grad_worst = 0
        for i = 1, n, 7 do
            local k = y[i]
            local want = (p[i][k] - 1) / n
            grad_worst = math.max(grad_worst, math.abs(z.grad[i][k] - want))
        end
        assert.is_true(grad_worst < 1e-8)
    end)

    it("layer arguments are checked", function()
        H.raises("bad argument #2 to 'Linear' (expected the output size >= 1, got 0)",
                 function() nn.Linear(3, 0) end)
        assert.matches("bad argument #1 to 'linear' %(expected shape %(%*, 3%), got %(2, 4%)%)",
                       H.err(function() nn.Linear(3, 2)(dl.ones(2, 4)) end))
        assert.matches("expected class labels in 1..3, got 4 at row 2",
                       H.err(function() nn.cross_entropy(dl.ones(2, 3), dl.tensor{1, 4}) end))
        assert.matches("unknown option 'lr_typo'", H.err(function() optim.SGD({dl.ones(1, {requires_grad = true})}, {lr_typo = 1}) end))
        H.raises("bad argument #4 to 'Conv2d' (expected the padding >= 0, got -1)",
                 function() nn.Conv2d(1, 2, 3, {padding = -1}) end)
        H.raises("bad argument #4 to 'Conv2d' (expected the padding >= 0, got -2)",
                 function() nn.Conv2d(1, 2, 3, {padding = {1, -2}}) end)
        assert.equal(0, nn.Conv2d(1, 2, 3, {padding = {0, 1}})(dl.ones(1, 1, 3, 3)):size(3) - 1)
        H.raises("bad argument #1 to 'BatchNorm2d' (expected 3 channels in dim 2, got shape (2, 4, 5, 5))",
                 function() nn.BatchNorm2d(3)(dl.ones(2, 4, 5, 5)) end)
        H.raises("bad argument #1 to 'BatchNorm1d' (expected 3 features in dim 2, got shape (2, 4))",
                 function() nn.BatchNorm1d(3)(dl.ones(2, 4)) end)
        H.raises("bad argument #1 to 'LayerNorm' (expected a last dim of 4, got shape (3, 5))",
                 function() nn.LayerNorm(4)(dl.ones(3, 5)) end)
        H.raises("bad argument #1 to 'Linear' (cannot make a parameter of 1000000000000 x " ..
                 "1000000000000 floats: a tensor of 1e+24 elements is too large)",
                 function() nn.Linear(1e12, 1e12) end)
        H.raises("bad argument #2 to 'nll_loss' (expected class labels in 1..5, got nan at row 1)",
                 function() nn.nll_loss(dl.zeros(3, 5), dl.tensor{0 / 0, 2, 3}) end)
        H.raises("bad argument #3 to 'Linear' (expected option 'bias' to be a boolean, got string)",
                 function() nn.Linear(2, 2, {bias = "no"}) end)
        H.raises("bad argument #2 to 'xavier_uniform' (expected option 'gain' to be a number, got string)",
                 function() nn.init.xavier_uniform(dl.empty(3, 4), {gain = "relu"}) end)
        local model = nn.Sequential{nn.Linear(2, 3)}
        H.raises("bad argument #1 to 'summary' (expected an example input or its shape such as " ..
                 "{1, 784}, got {-1, 2})", function() model:summary{-1, 2} end)
        H.raises("bad argument #1 to 'summary' (expected an example input or its shape such as " ..
                 "{1, 784}, got string)", function() model:summary("x") end)
    end)

    it("optimiser and scheduler options are checked as torch.optim checks them", function()
        local function params() return {dl.ones(1, {requires_grad = true})} end
        H.raises("bad argument #2 to 'SGD' (expected option 'lr' to be a finite number, got nan)",
                 function() optim.SGD(params(), {lr = 0 / 0}) end)
        H.raises("bad argument #2 to 'SGD' (expected option 'lr' to be a finite number, got inf)",
                 function() optim.SGD(params(), {lr = math.huge}) end)
        H.raises("bad argument #2 to 'SGD' (expected momentum >= 0, got -0.5)",
                 function() optim.SGD(params(), {momentum = -0.5}) end)
        H.raises("bad argument #2 to 'Adam' (expected weight_decay >= 0, got -1)",
                 function() optim.Adam(params(), {weight_decay = -1}) end)
        H.raises("bad argument #2 to 'Adam' (betas[2] must be in [0, 1), got nan)",
                 function() optim.Adam(params(), {betas = {0.9, 0 / 0}}) end)
        local opt = optim.SGD(params(), {lr = 0.1})
        H.raises("bad argument #2 to 'StepLR' (expected step_size to be a whole number >= 1, got 0)",
                 function() optim.StepLR(opt, {step_size = 0}) end)
        H.raises("bad argument #2 to 'CosineLR' (expected t_max to be a whole number >= 1, got 2.5)",
                 function() optim.CosineLR(opt, {t_max = 2.5}) end)
        H.raises("bad argument #2 to 'ReduceLROnPlateau' (expected factor < 1, got 1.5)",
                 function() optim.ReduceLROnPlateau(opt, {factor = 1.5}) end)
        H.raises("bad argument #2 to 'clip_grad_norm' (expected a positive norm, got nan)",
                 function() optim.clip_grad_norm(params(), 0 / 0) end)
    end)
end)

describe("optimisers, schedulers and clipping", function()
    local nn, optim = dl.nn, dl.optim

    local function fresh()
        return optim.SGD({dl.ones(1, {requires_grad = true})}, {lr = 1})
    end

    it("StepLR, ExponentialLR and CosineLR follow their formulas", function()
        local opt = fresh()
        local s = optim.StepLR(opt, {step_size = 2, gamma = 0.5})
        local lrs = {}
        for i = 1, 5 do lrs[i] = s:step() end
        assert.same({1, 0.5, 0.5, 0.25, 0.25}, lrs)
        opt = fresh()
        s = optim.ExponentialLR(opt, {gamma = 0.9})
        s:step()
        s:step()
        assert.is_true(math.abs(opt.lr - 0.81) < 1e-12)
        opt = fresh()
        s = optim.CosineLR(opt, {t_max = 4})
        s:step()
        s:step()
        assert.is_true(math.abs(opt.lr - 0.5) < 1e-12)
        s:step()
        s:step()
        assert.is_true(math.abs(opt.lr) < 1e-12)
    end)

    it("ReduceLROnPlateau cuts the rate after `patience` bad epochs", function()
        local opt = fresh()
        local s = optim.ReduceLROnPlateau(opt, {patience = 2, factor = 0.5})
        for _, metric in ipairs{1.0, 0.9, 0.95, 0.95, 0.95} do s:step(metric) end
        assert.equal(0.5, opt.lr)
    end)

    it("clip_grad_norm scales gradients to the norm and returns the old norm", function()
        local a = dl.tensor({3, 0}, {requires_grad = true})
        local b = dl.tensor({0, 4}, {requires_grad = true})
        local loss = (a * a):sum() / 2 + (b * b):sum() / 2   -- grads equal the values
        loss:backward()
        local norm = optim.clip_grad_norm({a, b}, 1)
        assert.is_true(math.abs(norm - 5) < 1e-5)
        H.close(a.grad, {0.6, 0}, 1e-5)
        H.close(b.grad, {0, 0.8}, 1e-5)
    end)

    it("l1_penalty is lambda * sum |w| and differentiable", function()
        local w = dl.tensor({-1, 2}, {requires_grad = true})
        local penalty = optim.l1_penalty({w}, 0.1)
        H.close(penalty, 0.3, 1e-6)
        penalty:backward()
        H.close(w.grad, {-0.1, 0.1}, 1e-6)
        assert.equal(optim.l1_penalty, nn.utils.l1_penalty)
    end)

    it("memory stays flat over 10,000 training steps", function()
        local threads = dl.threads()
        dl.threads(1)
        dl.manual_seed(4)
        local model = nn.Sequential{nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)}
        local opt = optim.SGD(model, {lr = 0.01, momentum = 0.9})
        local x, y = dl.randn(32, 64), (dl.rand(32) * 10):floor() + 1
        local peak_tensors, lua_kb, rss = 0, {}, {}
        for step = 1, 10000 do
            local loss = nn.cross_entropy(model(x), y)
            opt:zero_grad()
            loss:backward()
            opt:step()
            peak_tensors = math.max(peak_tensors, dl.memory())
            if step == 1000 or step == 10000 then
                lua_kb[step], rss[step] = collectgarbage("count"), H.rss()
            end
        end
        dl.threads(threads)
        -- Dead tensors are collected as the steps go (each step leaves about
        -- 100 KB of them: 1 GB over the run if nothing were freed)...
        assert.is_true(peak_tensors < 32 * 2 ^ 20,
            ("live tensor bytes reached %.1f MB"):format(peak_tensors / 2 ^ 20))
        assert.is_true(lua_kb[10000] < lua_kb[1000] + 4096,
            ("the Lua heap grew from %.0f KB to %.0f KB"):format(lua_kb[1000], lua_kb[10000]))
        -- ...and the process does not grow (AddressSanitizer's quarantine holds freed
        -- memory on purpose, so its builds are judged by the two above).
        if not (os.getenv("LD_PRELOAD") or ""):find("asan") then
            assert.is_true(rss[10000] - rss[1000] < 16 * 2 ^ 20,
                ("resident memory grew by %.1f MB"):format((rss[10000] - rss[1000]) / 2 ^ 20))
        end
    end)
end)
