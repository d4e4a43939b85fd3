-- prune_fashion.lua -- prune -> fine-tune -> evaluate: the Fashion-MNIST
-- multi-layer perceptron loses half its hidden units.
--
--   dlrepl examples/prune_fashion.lua [train_rows [test_rows]]
--
-- Trains the MLP of fashion_mnist_mlp.lua for one epoch, removes half the
-- neurons of each hidden layer (nn.prune.channels: those with the smallest
-- L1 norm, and the matching inputs of the next layer), fine-tunes one
-- epoch, and compares test accuracy, parameters and inference time. With
-- no arguments it uses the whole data set (60,000 + 10,000 images); `make
-- test` runs it on 2,000 + 1,000. Needs Debian's dataset-fashion-mnist.
dl.manual_seed(0)
local train_rows = tonumber(arg and arg[1])
local test_rows = tonumber(arg and arg[2])

local train, test = dl.data.fashion_mnist()
if train_rows then train = train:head(train_rows) end
if test_rows then test = test:head(test_rows) end
train:standardize()
test:standardize(train)

local model = nn.Sequential{
    nn.Flatten(),
    nn.Linear(784, 256), nn.ReLU(),
    nn.Linear(256, 128), nn.ReLU(),
    nn.Linear(128, 10),
}

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

-- Test accuracy, and the best of three timed passes over the test set.
local function evaluate()
    model:eval()
    local correct, best = 0, math.huge
    dl.no_grad(function()
        for pass = 1, 3 do
            local start = dl.clock()
            for _, b in ipairs(batches) do
                local scores = model(b[1])
                if pass == 1 then correct = correct + scores:argmax(2):eq(b[2]):sum():item() end
            end
            best = math.min(best, dl.clock() - start)
        end
    end)
    return correct / #test, best
end

local function show(what, accuracy, seconds)
    print(("%-26s accuracy %.4f   parameters %7d   inference %6.1f ms"):format(
        what, accuracy, model:num_parameters(), 1000 * seconds))
end

train_one_epoch(1e-3)
local accuracy, time = evaluate()
show("trained one epoch", accuracy, time)

nn.prune.channels(model, {amount = 0.5})
print(model)
local pruned_accuracy, pruned_time = evaluate()
show("pruned half the hidden", pruned_accuracy, pruned_time)

train_one_epoch(5e-4)
local tuned_accuracy, tuned_time = evaluate()
show("fine-tuned one epoch", tuned_accuracy, tuned_time)
print(nn.prune.report(model))
print(("\naccuracy %+.2f points after pruning and fine-tuning; inference %.2fx faster")
      :format(100 * (tuned_accuracy - accuracy), time / tuned_time))
