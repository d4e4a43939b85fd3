-- dl.search: the trials each method runs, seeds, failures, interrupts,
-- results (order, CSV, plot series), TPE against random search, and the
-- errors users meet.
local H = require "tests.lua.helper"
local dl = H.dl
local S = dl.search

-- A cheap objective with its optimum at lr 10^-2.5, hidden 64, dropout 0.2,
-- weight decay 1e-4 and tanh (the score there is 0).
local SPACE = {lr = S.loguniform(1e-5, 1), hidden = S.int(4, 128), dropout = S.uniform(0, 0.8),
               weight_decay = S.loguniform(1e-6, 1e-1), act = S.choice{"relu", "tanh", "sigmoid"}}
local function objective(p)
    return -((math.log(p.lr, 10) + 2.5) ^ 2 + ((p.hidden - 64) / 40) ^ 2 + ((p.dropout - 0.2) / 0.3) ^ 2
             + ((math.log(p.weight_decay, 10) + 4) / 2) ^ 2 + (p.act == "tanh" and 0 or 0.5))
end

local function close(got, want, tol)
    assert.are.equal(#want, #got)
    for i = 1, #want do
        assert(math.abs(got[i] - want[i]) <= tol * math.max(1, math.abs(want[i])),
               ("value %d: expected %.17g, got %.17g"):format(i, want[i], got[i]))
    end
end

local function params_of(res)
    local list = {}
    for i, r in ipairs(res.trials) do list[i] = r.params end
    return list
end

describe("dl.search spaces", function()
    it("samples within their bounds, int as whole numbers", function()
        local res = S.random({a = S.uniform(-1, 2), b = S.loguniform(1e-3, 10), c = S.int(3, 5),
                              d = S.choice{"x", "y"}, e = 7},
                             function(p) return 0 end, {trials = 200, seed = 4})
        local seen_c = {}
        for _, r in ipairs(res.trials) do
            local p = r.params
            assert.is_true(p.a >= -1 and p.a <= 2)
            assert.is_true(p.b >= 1e-3 and p.b <= 10)
            assert.are.equal("integer", math.type(p.c))
            seen_c[p.c] = true
            assert.is_true(p.d == "x" or p.d == "y")
            assert.are.equal(7, p.e)
        end
        assert.is_true(seen_c[3] and seen_c[4] and seen_c[5])
    end)

    it("loguniform spreads draws evenly over decades", function()
        local low = 0
        local res = S.random({b = S.loguniform(1e-4, 1)}, function(p) return p.b end,
                             {trials = 400, seed = 1})
        for _, r in ipairs(res.trials) do
            if r.params.b < 1e-2 then low = low + 1 end
        end
        assert.is_true(low > 150 and low < 250, "half the draws should be below 1e-2, got " .. low)
    end)

    it("print as themselves", function()
        assert.are.equal('choice{1, "a", true}', tostring(S.choice{1, "a", true}))
        assert.are.equal("loguniform(0.001, 1)", tostring(S.loguniform(0.001, 1)))
    end)
end)

describe("dl.search.grid", function()
    it("runs every combination once", function()
        local calls = {}
        local res = S.grid({h = S.choice{8, 16, 32}, act = S.choice{"relu", "tanh"}, n = S.int(1, 2)},
                           function(p)
                               local key = p.h .. p.act .. p.n
                               calls[key] = (calls[key] or 0) + 1
                               return p.h
                           end)
        assert.are.equal(12, #res.trials)
        for _, h in ipairs{8, 16, 32} do
            for _, act in ipairs{"relu", "tanh"} do
                for n = 1, 2 do assert.are.equal(1, calls[h .. act .. n]) end
            end
        end
        assert.are.equal(32, res.best.params.h)
    end)

    it("takes `points` values of a real range, in log scale for loguniform", function()
        local res = S.grid({lr = S.loguniform(1e-3, 1e-1), x = S.uniform(0, 1)},
                           function(p) return p.x end, {points = 3})
        assert.are.equal(9, #res.trials)
        local lrs = {}
        for _, r in ipairs(res.trials) do lrs[#lrs + 1] = r.params.lr end
        close({lrs[1], lrs[4], lrs[7]}, {1e-3, 1e-2, 1e-1}, 1e-9)
        close({res.trials[1].params.x, res.trials[2].params.x, res.trials[3].params.x},
                {0, 0.5, 1}, 1e-12)
    end)
end)

describe("seeds", function()
    it("repeat random and TPE trials, and differ between seeds", function()
        for _, method in ipairs{"random", "tpe", "halving"} do
            local opts = {trials = 15, seed = 7}
            if method == "halving" then opts = {trials = 9, budget = 9, seed = 7} end
            local fn = function(p, budget) return objective(p) + (budget or 0) end
            local a = S[method](SPACE, fn, opts)
            local b = S[method](SPACE, fn, opts)
            assert.are.same(params_of(a), params_of(b), method)
            opts.seed = 8
            local c = S[method](SPACE, fn, opts)
            assert.are_not.same(params_of(a), params_of(c), method)
        end
    end)

    it("without a seed, follow dl.manual_seed and record the seed used", function()
        local f = function(p) return p.x end
        dl.manual_seed(11)
        local a = S.random({x = S.uniform(0, 1)}, f, {trials = 4})
        dl.manual_seed(11)
        local b = S.random({x = S.uniform(0, 1)}, f, {trials = 4})
        assert.are.same(params_of(a), params_of(b))
        local c = S.random({x = S.uniform(0, 1)}, f, {trials = 4, seed = a.seed})
        assert.are.same(params_of(a), params_of(c))
    end)

    it("seed dl's generator before each trial, so trained models repeat", function()
        local function draw() return dl.rand(1):item() end
        local a = S.random({x = S.uniform(0, 1)}, draw, {trials = 3, seed = 2})
        local b = S.random({x = S.uniform(0, 1)}, draw, {trials = 3, seed = 2})
        for i = 1, 3 do assert.are.equal(a.trials[i].score, b.trials[i].score) end
        assert.are_not.equal(a.trials[1].score, a.trials[2].score)
    end)
end)

describe("dl.search.halving", function()
    it("runs rounds of growing budgets and keeps the best to the end", function()
        local budgets = {}
        local res = S.halving(SPACE, function(p, budget)
            budgets[#budgets + 1] = budget
            return objective(p) + budget       -- a larger budget never hurts
        end, {trials = 9, budget = 9, eta = 3, seed = 3})
        local count = {}
        for _, b in ipairs(budgets) do count[b] = (count[b] or 0) + 1 end
        assert.are.same({[1] = 9, [3] = 3, [9] = 1}, count)
        -- the survivor is the best of the nine first-round configurations
        local best_first = nil
        for _, r in ipairs(res.trials) do
            if r.budget == 1 and (best_first == nil or r.score > best_first.score) then best_first = r end
        end
        assert.are.equal(9, res.best.budget)
        assert.are.same(best_first.params, res.best.params)
        assert.are.equal(res.best, res[1])
    end)
end)

describe("dl.search.halving with losses and failures", function()
    it("keeps the lowest loss with mode = \"min\" and drops failed trials", function()
        local res = S.halving({x = S.uniform(0, 1)}, function(p, budget)
            if p.x > 0.8 then error("diverged") end
            return (p.x - 0.5) ^ 2 / budget
        end, {trials = 9, budget = 9, seed = 4, mode = "min"})
        local best_first
        for _, r in ipairs(res.trials) do
            assert.is_false(r.error ~= nil and r.budget > 1, "a failed trial went on")
            if r.budget == 1 and r.score and (best_first == nil or r.score < best_first.score) then
                best_first = r
            end
        end
        assert.are.equal(9, res.best.budget)
        assert.are.same(best_first.params, res.best.params)
    end)
end)

describe("TPE", function()
    it("beats random search for the same number of trials (mean over 10 seeds)", function()
        local random_total, tpe_total = 0, 0
        for seed = 1, 10 do
            random_total = random_total + S.random(SPACE, objective, {trials = 30, seed = seed}).best.score
            tpe_total = tpe_total + S.tpe(SPACE, objective, {trials = 30, seed = seed}).best.score
        end
        assert.is_true(tpe_total > random_total,
                       ("mean best score: TPE %.3f, random %.3f"):format(tpe_total / 10, random_total / 10))
    end)

    it("minimises with mode = \"min\"", function()
        local res = S.tpe({x = S.uniform(-5, 5)}, function(p) return (p.x - 1) ^ 2 end,
                          {trials = 40, seed = 1, mode = "min"})
        assert.is_true(math.abs(res.best.params.x - 1) < 0.3, "best x " .. res.best.params.x)
        for i = 2, #res do assert.is_true(res[i].score >= res[i - 1].score) end
    end)
end)

describe("failures and interrupts", function()
    it("records a failing trial with its error and goes on", function()
        local res = S.random({x = S.uniform(0, 1)}, function(p)
            if p.x > 0.5 then error("diverged at x=" .. p.x) end
            return p.x
        end, {trials = 20, seed = 5})
        assert.are.equal(20, #res.trials)
        local failed = 0
        for _, r in ipairs(res.trials) do
            if r.error then
                failed = failed + 1
                assert.is_nil(r.score)
                assert.truthy(r.error:find("diverged at x=", 1, true))
            end
        end
        assert.is_true(failed > 0 and failed < 20)
        assert.is_nil(res[#res].score)       -- failures sort last
        assert.truthy(tostring(res):find("failed"))
    end)

    it("records trials that return no number, or NaN", function()
        local outputs = {"0.5", {}, 0 / 0, nil, {score = 0.25, accuracy = 0.9}}
        local i = 0
        local res = S.grid({k = S.int(1, 5)}, function(p) i = i + 1 return outputs[p.k] end)
        assert.truthy(res.trials[1].error:find("returned string, expected a score", 1, true))
        assert.truthy(res.trials[2].error:find("a table without a number 'score'", 1, true))
        assert.truthy(res.trials[3].error:find("NaN", 1, true))
        assert.truthy(res.trials[4].error:find("returned nothing", 1, true))
        assert.are.equal(0.25, res.best.score)
        assert.are.equal(0.9, res.best.result.accuracy)
        assert.are.equal(5, i)
    end)

    it("raises when every trial failed", function()
        local msg = H.err(S.random, {x = S.uniform(0, 1)}, function() error("no data") end, {trials = 3})
        assert.truthy(msg:find("random: all 3 trials failed; the first with: .*no data"), msg)
    end)

    it("stops at Ctrl-C and keeps the finished trials", function()
        local n = 0
        local res = S.random({x = S.uniform(0, 1)}, function(p)
            n = n + 1
            if n == 4 then error("interrupted!", 0) end
            return p.x
        end, {trials = 10, seed = 1})
        assert.is_true(res.interrupted)
        assert.are.equal(3, #res.trials)
        assert.are.equal(3, #res)
        assert.truthy(tostring(res):find("interrupted"))
    end)

    it("records an error that only mentions an interruption as a failed trial", function()
        local res = S.random({x = S.uniform(0, 1)}, function(p)
            if p.x < 0.5 then error("download interrupted by the server") end
            return p.x
        end, {trials = 6, seed = 2})
        assert.is_false(res.interrupted)
        assert.are.equal(6, #res.trials)
    end)

    it("stops at a Ctrl-C that lands between trials", function()
        local n = 0
        local res = S.tpe({x = S.uniform(0, 1)}, function(p)
            n = n + 1
            if n == 3 then    -- reading the score raises, outside the trial's own pcall
                return setmetatable({}, {__index = function() error("interrupted!", 0) end})
            end
            return p.x
        end, {trials = 10, seed = 1})
        assert.is_true(res.interrupted)
        assert.are.equal(2, #res.trials)
        assert.are.equal(3, n)
    end)

    it("lets other errors of the search itself through", function()
        local msg = H.err(S.random, {x = S.uniform(0, 1)}, function() return 1 end, {trials = 2, verbose = 1})
        assert.truthy(msg:find("option 'verbose' to be true or false", 1, true), msg)
    end)
end)

describe("results", function()
    local res = S.random({lr = S.loguniform(1e-3, 1), name = S.choice{"a,b", "c"}},
                         function(p) return -p.lr end, {trials = 6, seed = 9})

    it("sort best first and print as a table", function()
        for i = 2, #res do assert.is_true(res[i - 1].score >= res[i].score) end
        assert.are.equal(res[1], res.best)
        local lines = {}
        for line in tostring(res):gmatch("[^\n]+") do lines[#lines + 1] = line end
        assert.truthy(lines[1]:find("dl.search.random: 6 trials, best score", 1, true))
        assert.truthy(lines[2]:find("trial%s+score%s+lr%s+name"))
        assert.are.equal(8, #lines)
        assert.truthy(lines[3]:find("^%s*" .. res.best.trial .. "%s"))
    end)

    it("save as CSV in run order", function()
        local path = os.tmpname()
        res:to_csv(path)
        local file = io.open(path)
        local header = file:read("l")
        local rows = {}
        for line in file:lines() do rows[#rows + 1] = line end
        file:close()
        os.remove(path)
        assert.are.equal("trial,score,lr,name,time,error", header)
        assert.are.equal(6, #rows)
        for i, row in ipairs(rows) do
            local trial, score = row:match("^(%d+),([^,]+),")
            assert.are.equal(i, tonumber(trial))
            assert.are.equal(res.trials[i].score, tonumber(score))
        end
        assert.truthy(table.concat(rows, "\n"):find('"a,b"', 1, true))
        assert.truthy(H.err(res.to_csv, res, 3):find("expected a file path, got number", 1, true))
    end)

    it("give dl.plot the score per trial and the best so far", function()
        local kind, series, o = res:plot_series()
        assert.are.equal("history", kind)
        assert.are.equal(6, #series.score)
        for i, r in ipairs(res.trials) do assert.are.equal(r.score, series.score[i]) end
        assert.are.equal(series.score[1], series.best_score[1])
        assert.are.equal(res.best.score, series.best_score[6])
        assert.are.equal("trial", o.xlabel)
    end)

    it("give dl.plot the score against one parameter", function()
        local kind, x, y, o, axis = res:plot_series{param = "lr"}
        assert.are.equal("scatter", kind)
        for i, r in ipairs(res.trials) do
            assert.are.equal(r.params.lr, x[i])
            assert.are.equal(r.score, y[i])
        end
        assert.are.equal("lr", o.xlabel)
        assert.is_true(axis.log)
        local _, names = res:plot_series{param = "name"}
        for i, r in ipairs(res.trials) do assert.are.equal(r.params.name == "a,b" and 1 or 2, names[i]) end
        assert.truthy(H.err(res.plot_series, res, {param = "depth"})
                      :find("expected option 'param' to name a parameter of the search (lr, name), got depth",
                            1, true))
    end)
end)

describe("dl.plot(results)", function()
    it("draws the score per trial, and against a parameter, through gnuplot", function()
        local plot = dl.plot
        plot.terminal("dumb", {width = 80, height = 24, echo = false})
        local res = S.random({lr = S.loguniform(1e-4, 1), act = S.choice{"relu", "tanh"}},
                             function(p) return -math.abs(math.log(p.lr, 10) + 2) end, {trials = 12, seed = 1})
        plot(res)
        local text = plot.last_text()
        if text == nil then
            pending("gnuplot is not installed")
            return
        end
        assert.truthy(text:find("dl.search.random", 1, true))
        assert.truthy(text:find("best_score", 1, true))
        assert.truthy(text:find("trial", 1, true))
        plot(res, {param = "lr"})
        assert.truthy(plot.last_text():find("0.0001", 1, true))    -- a log axis from 1e-4
        plot(res, {param = "act", title = "activation"})
        assert.truthy(plot.last_text():find("relu", 1, true))
        assert.truthy(plot.last_text():find("activation", 1, true))
        assert.truthy(H.err(plot, res, 3):find("expected an option table, got number", 1, true))
    end)
end)

describe("bad input", function()
    local f = function() return 1 end
    it("names the empty or malformed space", function()
        H.raises("bad argument #1 to 'random' (expected a space: a table of name = dl.search.choice{...}, "
                 .. "uniform(a, b), loguniform(a, b) or int(a, b), got an empty table)", S.random, {}, f)
        H.raises("bad argument #1 to 'grid' (expected a space: a table of name = dl.search.choice{...}, "
                 .. "uniform(a, b), loguniform(a, b) or int(a, b), got nil)", S.grid, nil, f)
        H.raises("bad argument #1 to 'tpe' (expected parameter 'lr' as dl.search.choice{...}, uniform, "
                 .. "loguniform, int or a fixed value, got a plain table (write dl.search.choice{...} "
                 .. "for a list))", S.tpe, {lr = {0.1, 0.01}}, f)
        H.raises("bad argument #1 to 'halving' (expected parameter names as keys (lr = ...), got key 1 "
                 .. "(a number))", S.halving, {S.uniform(0, 1)}, f)
        H.raises("bad argument #1 to 'choice' (expected a list of at least one value, got an empty list)",
                 S.choice, {})
        H.raises("bad argument #1 to 'choice' (expected numbers, strings or booleans, got table at "
                 .. "position 2)", S.choice, {1, {}})
        H.raises("bad argument #2 to 'uniform' (expected an upper bound above the lower bound 2, got 1)",
                 S.uniform, 2, 1)
        H.raises("bad argument #1 to 'loguniform' (expected a number > 0, got 0)", S.loguniform, 0, 1)
        H.raises("bad argument #1 to 'int' (expected a whole number, got 1.5)", S.int, 1.5, 3)
        H.raises("bad argument #2 to 'uniform' (expected a finite number, got nil)", S.uniform, 1)
    end)

    it("names the trial function and the options", function()
        H.raises("bad argument #2 to 'random' (expected a trial function fn(params) -> score, got nil)",
                 S.random, {x = S.uniform(0, 1)})
        H.raises("bad argument #3 to 'random' (unknown option 'trails'; known: mode, seed, trials, verbose)",
                 S.random, {x = S.uniform(0, 1)}, f, {trails = 3})
        H.raises("bad argument #3 to 'tpe' (expected option 'trials' to be a whole number >= 1, got 0)",
                 S.tpe, {x = S.uniform(0, 1)}, f, {trials = 0})
        H.raises("bad argument #3 to 'tpe' (expected option 'gamma' to be a number in (0, 1), got 1)",
                 S.tpe, {x = S.uniform(0, 1)}, f, {gamma = 1})
        H.raises("bad argument #3 to 'grid' (expected option 'mode' to be \"max\" or \"min\", got string)",
                 S.grid, {x = S.uniform(0, 1)}, f, {mode = "best"})
        H.raises("bad argument #3 to 'halving' (expected option 'budget' to be > 0, got -1)",
                 S.halving, {x = S.uniform(0, 1)}, f, {budget = -1})
    end)
end)
