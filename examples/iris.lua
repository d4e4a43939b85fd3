-- iris.lua -- a flower classifier from a CSV file, one step at a time:
-- load, look, split, standardize, train, evaluate.
--
--   dlrepl examples/iris.lua
--
-- examples/data/iris.csv is Fisher's iris data (public domain): 150
-- flowers, four measurements each, and the species, one of three.
dl.manual_seed(0)
local here = (arg and arg[0] or ""):match("^(.*)/") or "."

-- 1. Load: the species column is text, so it becomes classes 1..3.
local iris = dl.data.csv(here .. "/data/iris.csv", {target = "species"})
print(iris)

-- 2. Split: 80% to learn from, 20% kept aside to measure honestly;
--    stratify keeps the three species equally represented in both.
local train, test = iris:split(0.8, {stratify = true})
print(("\ntrain %d rows, test %d rows"):format(#train, #test))

-- 3. Standardize: each measurement gets mean 0 and std 1 on the training
--    set; the test set is scaled with the *training* set's statistics.
train:standardize()
test:standardize(train)

-- 4. A small network: 4 measurements -> 16 hidden units -> 3 class scores.
local model = nn.Sequential{
    nn.Linear(4, 16),
    nn.ReLU(),
    nn.Linear(16, 3),
}
local opt = optim.Adam(model:parameters(), {lr = 0.01})

-- Share of rows whose highest score is the right class.
local function accuracy(ds)
    return dl.no_grad(function()
        return model(ds.x):argmax(2):eq(ds.y):mean():item()
    end)
end

-- 5. Train: a few passes (epochs) over shuffled batches of 16 flowers.
for epoch = 1, 40 do
    local total = 0
    for x, y in train:batches(16, {shuffle = true}) do
        local loss = nn.cross_entropy(model(x), y)   -- how wrong are the scores?
        opt:zero_grad()
        loss:backward()                              -- gradients of every weight
        opt:step()                                   -- nudge the weights downhill
        total = total + loss:item() * #y
    end
    if epoch == 1 or epoch % 10 == 0 then
        print(("epoch %2d   loss %.4f   train accuracy %.3f"):format(
            epoch, total / #train, accuracy(train)))
    end
end

-- 6. Evaluate on flowers the model never saw.
print(("\ntest accuracy %.3f"):format(accuracy(test)))
local first = test:head(5)
local predicted = dl.no_grad(function() return model(first.x):argmax(2) end)
for i = 1, #first do
    print(("  %-10s predicted %s"):format(iris.classes[first.y[i]],
                                          iris.classes[predicted[i]]))
end
