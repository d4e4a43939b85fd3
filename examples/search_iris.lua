-- search_iris.lua -- hyper-parameter search on the iris flowers: learning
-- rate, hidden width, dropout and weight decay, by random search and by
-- TPE with the same number of trials.
--
--   dlrepl examples/search_iris.lua [trials [epochs [seed]]]
--
-- Each trial trains a small network on 80% of the flowers and scores it by
-- its cross-entropy on the other 20% (lower is better: the loss still
-- tells settings apart where accuracy is already 100%). The same seed
-- gives the same trials. With 30 trials of 40 epochs it takes a few
-- seconds; `make test` runs it with 4 trials of 2 epochs.
local trials = tonumber(arg and arg[1]) or 30
local epochs = tonumber(arg and arg[2]) or 40
local seed = tonumber(arg and arg[3]) or 1
local here = (arg and arg[0] or ""):match("^(.*)/") or "."

dl.manual_seed(0)
local iris = dl.data.csv(here .. "/data/iris.csv", {target = "species"})
local train, valid = iris:split(0.8, {stratify = true, seed = 0})
train:standardize()
valid:standardize(train)

local S = dl.search
local space = {
    lr = S.loguniform(1e-4, 1),
    hidden = S.int(2, 64),
    dropout = S.uniform(0, 0.7),
    weight_decay = S.loguniform(1e-6, 1),
}

-- One trial: train with the settings p, return the validation loss (and
-- the accuracy, kept in the record's `result`).
local function trial(p)
    local model = nn.Sequential{
        nn.Linear(4, p.hidden), nn.ReLU(), nn.Dropout(p.dropout), nn.Linear(p.hidden, 3),
    }
    local opt = optim.Adam(model:parameters(), {lr = p.lr, weight_decay = p.weight_decay})
    for _ = 1, epochs do
        model:train()
        for x, y in train:batches(16, {shuffle = true}) do
            local loss = nn.cross_entropy(model(x), y)
            opt:zero_grad()
            loss:backward()
            opt:step()
        end
    end
    model:eval()
    return dl.no_grad(function()
        local scores = model(valid.x)
        return {score = nn.cross_entropy(scores, valid.y):item(),
                accuracy = scores:argmax(2):eq(valid.y):mean():item()}
    end)
end

local results = {}
for _, method in ipairs{"random", "tpe"} do
    local opts = {trials = trials, seed = seed, mode = "min"}
    if method == "tpe" then opts.startup = math.min(10, math.max(1, trials // 3)) end
    local start = dl.clock()
    results[method] = S[method](space, trial, opts)
    local res = results[method]
    print(("\n%s search, %d trials, %.1f s"):format(method, #res.trials, dl.clock() - start))
    print(res)
end

print()
for _, method in ipairs{"random", "tpe"} do
    local best = results[method].best
    print(("%-6s best validation loss %.4f (accuracy %.3f): lr %.3g, hidden %d, dropout %.2f, "
           .. "weight decay %.2g"):format(method, best.score, best.result.accuracy, best.params.lr,
           best.params.hidden, best.params.dropout, best.params.weight_decay))
end
