-- prune_fashion.lua -- prune -> fine-tune -> evaluate: the Fashion-MNIST
-- multi-layer perceptron loses half its hidden units.
--
--   dlrepl examples/prune_fashion.lua [train_rows [test_rows]]
--
-- Trains the MLP of fashion_mnist_mlp.lua for one epoch, removes half the
-- neurons of each hidden layer (nn.prune.channels: those with the smallest
-- L1 norm, and the matching inputs of the next layer), fine-tunes one
-- epoch, and compares test accuracy, parameters and inference time (on
-- one thread, the pruned model against an unpruned copy, in turns). With
-- no arguments it uses the whole data set (60,000 + 10,000 images); `make
-- test` runs it on 2,000 + 1,000. Needs Debian's dataset-fashion-mnist.
-- On the whole set: 85.0% after one epoch, 78.0% right after pruning,
-- 86.7% after fine-tuning (a second epoch: fine-tuning recovers the loss),
-- and about 1.9x faster inference.
dl.manual_seed(0)
local train_rows = tonumber(arg and arg[1])
local test_rows = tonumber(arg and arg[2])

local train, test = dl.data.fashion_mnist()
if train_rows then train = train:head(train_rows) end
if test_rows then test = test:head(test_rows) end
train:standardize()
test:standardize(train)

local function mlp()
    return nn.Sequential{
        nn.Flatten(),
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 10),
    }
end
local model = mlp()

local function train_one_epoch(lr)
    local opt = optim.Adam(model:parameters(), {lr = lr})   -- after pruning: new tensors
    model:train()
    for x, y in train:batches(128, {shuffle = true}) do
        local loss = nn.cross_entropy(model(x), y)
        opt:zero_grad()
        loss:backward()
        opt:step()
    end
end

-- The test set as batches of 1000, made once so that timing sees only the model.
local batches = {}
for x, y in test:batches(1000) do batches[#batches + 1] = {x, y} end

-- Test accuracy of model m.
local function accuracy_of(m)
    m:eval()
    local correct = 0
    dl.no_grad(function()
        for _, b in ipairs(batches) do correct = correct + m(b[1]):argmax(2):eq(b[2]):sum():item() end
    end)
    return correct / #test
end

-- Seconds of one pass of m over the test set.
local function pass_time(m)
    m:eval()
    local start = dl.clock()
    dl.no_grad(function()
        for _, b in ipairs(batches) do m(b[1]) end
    end)
    return dl.clock() - start
end

-- The fastest of several passes of each model, taken in turns so that both
-- see the same load, on one thread: on a busy machine a second thread
-- waiting for a core blurs the comparison more than anything else.
local function compare_times(a, b)
    local threads = dl.threads()
    dl.threads(1)
    local best_a, best_b = math.huge, math.huge
    for _ = 1, 7 do
        best_a = math.min(best_a, pass_time(a))
        best_b = math.min(best_b, pass_time(b))
    end
    dl.threads(threads)
    return best_a, best_b
end

local function show(what, m, accuracy)
    print(("%-26s accuracy %.4f   parameters %7d"):format(what, accuracy, m:num_parameters()))
end

train_one_epoch(1e-3)
local accuracy = accuracy_of(model)
show("trained one epoch", model, accuracy)

-- An unpruned copy, to time against the pruned model.
local original = mlp()
dl.no_grad(function()
    for i, p in ipairs(original:parameters()) do p:copy_(model:parameters()[i]) end
end)

nn.prune.channels(model, {amount = 0.5})
print(model)
show("pruned half the hidden", model, accuracy_of(model))

train_one_epoch(5e-4)
local tuned_accuracy = accuracy_of(model)
show("fine-tuned one epoch", model, tuned_accuracy)
print(nn.prune.report(model))

local time, pruned_time = compare_times(original, model)
print(("\ninference on the %d test images (one thread): %.1f ms unpruned, %.1f ms pruned "
       .. "(%.2fx faster)"):format(#test, 1000 * time, 1000 * pruned_time, time / pruned_time))
print(("accuracy %+.2f points after pruning and fine-tuning"):format(100 * (tuned_accuracy - accuracy)))
