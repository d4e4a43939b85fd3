-- search.lua -- dl.search: hyper-parameter search by grid, random sampling,
-- successive halving and the Tree-structured Parzen Estimator.
--
--   local space = {lr = dl.search.loguniform(1e-4, 1e-1), hidden = dl.search.choice{16, 32}}
--   local res = dl.search.tpe(space, function(p) return train_and_score(p) end, {trials = 30})
--   print(res); res.best.params; res:to_csv("search.csv"); dl.plot(res)
--
-- The trial function gets a table of parameter values (and, for halving,
-- a budget) and returns a score, or a table with a number `score` (its
-- other fields are kept as the record's `result`). Higher is better unless
-- opts.mode is "min". A trial that raises, or returns no number (or NaN),
-- is recorded as failed with its message and the search goes on; Ctrl-C
-- stops the search and returns the finished trials. With opts.seed the
-- parameters drawn are the same on every run, and trial i starts with
-- dl.manual_seed(seed + i) so the model it trains repeats too; without
-- it the search's seed is drawn from dl's generator (so dl.manual_seed
-- before the search repeats the draws) and kept as results.seed.
local dl = require "dl"
local raise = require("dl.errors").raise
local S = require "dl.search_space"
local tpe = require "dl.search_tpe"
local results = require "dl.search_results"

local search = {
    choice = S.choice,
    uniform = S.uniform,
    loguniform = S.loguniform,
    int = S.int,
}

local function argerror(fn, n, expected, got)
    raise(("bad argument #%d to '%s' (expected %s, got %s)"):format(n, fn, expected, got))
end

-- The options of method `fn` checked against `known` (name -> check).
local function options(fn, opts, known)
    if opts == nil then return {} end
    if type(opts) ~= "table" then argerror(fn, 3, "an option table", type(opts)) end
    for key, value in pairs(opts) do
        local check = known[key]
        if not check then
            local names = {}
            for k in pairs(known) do names[#names + 1] = k end
            table.sort(names)
            raise(("bad argument #3 to '%s' (unknown option '%s'; known: %s)")
                  :format(fn, tostring(key), table.concat(names, ", ")))
        end
        local expected = check(value)
        if expected then
            argerror(fn, 3, ("option '%s' %s"):format(key, expected),
                     type(value) == "number" and tostring(value) or type(value))
        end
    end
    return opts
end

local function count(least)
    return function(v)
        if type(v) ~= "number" or v ~= math.floor(v) or v < least or v == math.huge then
            return ("to be a whole number >= %d"):format(least)
        end
    end
end

local function fraction(v)
    if type(v) ~= "number" or not (v > 0 and v < 1) then return "to be a number in (0, 1)" end
end

local function mode(v)
    if v ~= "max" and v ~= "min" then return 'to be "max" or "min"' end
end

local function number_check(v)
    if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then return "to be a number" end
end

local function boolean(v)
    if type(v) ~= "boolean" then return "to be true or false" end
end

local function check_function(fn, f)
    local callable = type(f) == "function"
        or (getmetatable(f) ~= nil and type(getmetatable(f).__call) == "function")
    if not callable then argerror(fn, 2, "a trial function fn(params) -> score", type(f)) end
end

-- Ctrl-C at the prompt surfaces as the error "interrupted!" (raised in Lua)
-- or "<function>: interrupted" (from a loop of the core).
local function is_interrupt(err)
    return type(err) == "string" and err:find("interrupted!?$") ~= nil
end

local function describe(v)
    if type(v) == "number" then return tostring(v) end
    if type(v) == "table" then return "a table without a number 'score'" end
    return type(v) == "nil" and "nothing" or type(v)
end

-- A search in progress: the shared loop of every method.
local Run = {}
Run.__index = Run

local function new_run(method, space_table, names, f, opts)
    local seed = opts.seed
    if seed == nil then   -- from dl's generator, so dl.manual_seed repeats the search too
        local draws = dl.rand(2):totable()
        seed = math.floor(draws[1] * (1 << 24)) * (1 << 24) + math.floor(draws[2] * (1 << 24))
    end
    local run = setmetatable({space = space_table, names = names, f = f, opts = opts, seed = seed,
                              rng = S.rng(seed), fixed_seed = opts.seed ~= nil,
                              res = results.new(method, names, opts.mode or "max")}, Run)
    run.res.seed = seed
    run.res.space = space_table
    return run
end

-- Runs one trial; returns its record, or nil when Ctrl-C stopped it.
function Run:trial(params, budget)
    local n = #self.res.trials + 1
    if self.fixed_seed then dl.manual_seed(self.seed + n) end
    local copy = {}
    for k, v in pairs(params) do copy[k] = v end
    local start = dl.clock()
    local ok, out = pcall(self.f, copy, budget)
    local record = {params = params, budget = budget, time = dl.clock() - start}
    if not ok then
        if is_interrupt(out) then
            self.res.interrupted = true
            return nil
        end
        record.error = tostring(out)
    else
        local score = out
        if type(out) == "table" then score, record.result = out.score, out end
        if type(score) ~= "number" then
            record.error = ("the trial function returned %s, expected a score (a number or a "
                            .. "table with a number 'score')"):format(describe(out))
        elseif score ~= score then
            record.error = "the trial function returned NaN"
        else
            record.score = score
        end
    end
    self.res:add(record)
    if self.opts.verbose then
        local shown = {}
        for _, name in ipairs(self.names) do shown[#shown + 1] = ("%s=%s"):format(name, tostring(params[name])) end
        print(("trial %d  %s  %s"):format(record.trial,
              record.score and ("score %.4g"):format(record.score) or "failed: " .. record.error,
              table.concat(shown, " ")))
    end
    return record
end

-- Runs the search loop `loop`; Ctrl-C landing outside a trial (between
-- two) also ends the search with the trials finished so far.
function Run:guard(loop)
    local ok, err = pcall(loop)
    if not ok then
        if not is_interrupt(err) then error(err, 0) end
        self.res.interrupted = true
    end
end

-- The finished results; raises when every trial failed.
function Run:finish(fn)
    local res = self.res:finish()
    if res.interrupted then
        io.stderr:write(("dl.search.%s: interrupted; the %d finished trials are kept\n")
                        :format(fn, #res.trials))
    end
    if #res.trials > 0 and res.best == nil and not res.interrupted then
        raise(("%s: all %d trials failed; the first with: %s"):format(fn, #res.trials,
              res.trials[1].error))
    end
    return res
end

-- A score oriented so that higher is better.
function Run:gain(score)
    return self.res.mode == "min" and -score or score
end

local common = {mode = mode, seed = count(0), verbose = boolean}

local function with(extra)
    local known = {}
    for k, v in pairs(common) do known[k] = v end
    for k, v in pairs(extra) do known[k] = v end
    return known
end

--- dl.search.grid(space, fn, {points = 3, mode = "max"}) -> results: one
--- trial for every combination of the dimensions' values: every choice,
--- `points` evenly spread values of a real range (in log scale for
--- loguniform), every integer of an int range (when it holds more than
--- `points`, or 10 if points is not given, that many evenly spread ones).
function search.grid(space_table, f, opts)
    local fn = "grid"
    local names = S.check(fn, space_table)
    check_function(fn, f)
    opts = options(fn, opts, with{points = count(1)})
    local run = new_run(fn, space_table, names, f, opts)
    local lists = {}
    for i, name in ipairs(names) do lists[i] = S.grid_values(space_table[name], opts.points or 3, opts.points or 10) end
    -- the combinations in odometer order, the last name turning fastest
    local index = {}
    for i = 1, #names do index[i] = 1 end
    run:guard(function()
        while true do
            local params = {}
            for i, name in ipairs(names) do params[name] = lists[i][index[i]] end
            if not run:trial(params) then return end
            local i = #names
            while i >= 1 do
                index[i] = index[i] + 1
                if index[i] <= #lists[i] then break end
                index[i] = 1
                i = i - 1
            end
            if i == 0 then return end
        end
    end)
    return run:finish(fn)
end

--- dl.search.random(space, fn, {trials = 20, seed =, mode = "max"}) ->
--- results: `trials` independent draws from the space.
function search.random(space_table, f, opts)
    local fn = "random"
    local names = S.check(fn, space_table)
    check_function(fn, f)
    opts = options(fn, opts, with{trials = count(1)})
    local run = new_run(fn, space_table, names, f, opts)
    run:guard(function()
        for _ = 1, opts.trials or 20 do
            if not run:trial(S.draw(space_table, names, run.rng)) then return end
        end
    end)
    return run:finish(fn)
end

--- dl.search.halving(space, fn, {budget = 27, trials = 27, eta = 3,
--- min_budget =, seed =, mode = "max"}) -> results: successive halving,
--- Hyperband's inner loop. `trials` draws are each run with a small
--- budget (fn(params, budget), e.g. a number of epochs); the best 1/eta
--- go on with eta times the budget, until the last round runs the
--- survivors with the full budget. Records carry their budget; results
--- rank the largest budget first.
function search.halving(space_table, f, opts)
    local fn = "halving"
    local names = S.check(fn, space_table)
    check_function(fn, f)
    opts = options(fn, opts, with{trials = count(1), budget = number_check, eta = count(2),
                                   min_budget = number_check})
    local trials, eta = opts.trials or 27, opts.eta or 3
    local budget = opts.budget or 27
    if budget <= 0 then argerror(fn, 3, "option 'budget' to be > 0", tostring(budget)) end
    local rounds = 0
    while eta ^ (rounds + 1) <= trials do rounds = rounds + 1 end
    local first = opts.min_budget or budget / eta ^ rounds
    if first <= 0 or first > budget then
        argerror(fn, 3, ("option 'min_budget' in (0, %s]"):format(tostring(budget)), tostring(first))
    end
    local whole = math.type(budget) == "integer"
    local run = new_run(fn, space_table, names, f, opts)
    local alive = {}
    for i = 1, trials do alive[i] = S.draw(space_table, names, run.rng) end
    run:guard(function()
        for round = 0, rounds do
            local b = round == rounds and budget or first * eta ^ round
            if whole then b = math.max(1, math.floor(b + 0.5)) end
            local scored = {}
            for _, params in ipairs(alive) do
                local record = run:trial(params, b)
                if not record then return end
                if record.score then scored[#scored + 1] = record end
            end
            if round == rounds then return end
            table.sort(scored, function(a, c)
                if a.score ~= c.score then return run:gain(a.score) > run:gain(c.score) end
                return a.trial < c.trial
            end)
            alive = {}
            for i = 1, math.min(#scored, math.max(1, #scored // eta)) do alive[i] = scored[i].params end
            if #alive == 0 then return end
        end
    end)
    return run:finish(fn)
end

--- dl.search.tpe(space, fn, {trials = 30, startup = 10, gamma = 0.25,
--- candidates = 24, seed =, mode = "max"}) -> results: the Tree-structured
--- Parzen Estimator. The first `startup` trials are random draws; each
--- later one is the candidate (of `candidates` drawn from the good trials'
--- densities) where good trials are most likely relative to the others.
function search.tpe(space_table, f, opts)
    local fn = "tpe"
    local names = S.check(fn, space_table)
    check_function(fn, f)
    opts = options(fn, opts, with{trials = count(1), startup = count(1), gamma = fraction,
                                   candidates = count(1)})
    local run = new_run(fn, space_table, names, f, opts)
    local startup = opts.startup or 10
    local settings = {gamma = opts.gamma or 0.25, candidates = opts.candidates or 24}
    local finished = {}
    run:guard(function()
        for i = 1, opts.trials or 30 do
            local params
            if i <= startup or #finished < 2 then
                params = S.draw(space_table, names, run.rng)
            else
                params = tpe.propose(space_table, names, finished, run.rng, settings)
            end
            local record = run:trial(params)
            if not record then return end
            if record.score then
                finished[#finished + 1] = {params = params, score = run:gain(record.score),
                                           trial = record.trial}
            end
        end
    end)
    return run:finish(fn)
end

return search
