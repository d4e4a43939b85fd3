-- bench_train.lua -- training workloads of the autodiff issue, in dlrepl.
--
--   lua5.4 scripts/bench/bench_train.lua THREADS   (with build/?.so on LUA_CPATH)
--
-- Prints "key value" lines read by scripts/bench/run:
--   tiny_step_us   one autodiff step on 16 floats: ((w*x):sum()-1)^2, backward,
--                  zero_grad (the best of 7 runs of ITERS steps, as the epochs)
--   mlp_epoch_s    one epoch of a 784-256-128-10 ReLU MLP on 60,000 x 784
--                  synthetic samples, batch 64, SGD with momentum 0.9
--   mlp_loop_s, mlp_fit_s   that epoch by the hand-written loop over
--                  ds:batches and by model:fit (verbose off), timed in
--                  turns in this run: what fit adds to the loop
--   cnn_epoch_s    one epoch of Conv 5x5 1->16 pad 2, ReLU, MaxPool 2,
--                  Conv 5x5 16->32 pad 2, ReLU, MaxPool 2, Linear 1568->10,
--                  same data as 1x28x28 images, batch 64, SGD with momentum
-- The data has Fashion-MNIST's shape; values are random (speed only). Each
-- epoch figure is the best of EPOCHS epochs: a shared machine's neighbours
-- slow single runs by up to a third.
local dl = require "dl"
local nn, optim = dl.nn, dl.optim

local threads = tonumber(arg[1])
if threads then dl.threads(threads) end
dl.manual_seed(1)

-- Tiny step ---------------------------------------------------------------------
local ITERS = 20000
local w = dl.randn(16, {requires_grad = true})
local x16 = dl.randn(16)
local function tiny_steps(n)
    for _ = 1, n do
        local loss = ((w * x16):sum() - 1) ^ 2
        loss:backward()
        w:zero_grad()
    end
end
tiny_steps(ITERS)
local best_run = math.huge
for _ = 1, 7 do
    local start = dl.clock()
    tiny_steps(ITERS)
    best_run = math.min(best_run, (dl.clock() - start) / ITERS)
end
print(("tiny_step_us %.3f"):format(best_run * 1e6))

-- One epoch -----------------------------------------------------------------------
local N, BATCH, EPOCHS = 60000, 64, 3
local images = dl.randn(N, 784)
local labels = (dl.rand(N) * 10):floor() + 1

-- Seconds for one epoch (or its first `batches` batches).
local function epoch(model, inputs, batches)
    local opt = optim.SGD(model, {lr = 0.01, momentum = 0.9})
    local order = dl.randperm(N)
    local last = batches and (batches - 1) * BATCH + 1 or N
    local start = dl.clock()
    for i = 1, last, BATCH do
        local idx = order:narrow(1, i, math.min(BATCH, N - i + 1))
        local loss = nn.cross_entropy(model(inputs:index_select(1, idx)), labels:index_select(1, idx))
        opt:zero_grad()
        loss:backward()
        opt:step()
    end
    return dl.clock() - start
end

local mlp = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)}
-- The best of EPOCHS epochs, after a short warm-up (caches, threads).
local function best_epoch(model, inputs, warmup_batches)
    epoch(model, inputs, warmup_batches)
    local best = math.huge
    for _ = 1, EPOCHS do
        best = math.min(best, epoch(model, inputs))
    end
    return best
end

print(("mlp_epoch_s %.4f"):format(best_epoch(mlp, images, 100)))

-- The loop fit runs, written by hand over a dataset, and fit itself: the
-- same batches (ds:batches draws the same shuffle), turn about.
local train = dl.data.dataset(images, labels)
local function loop_epoch(model)
    local opt = optim.SGD(model, {lr = 0.01, momentum = 0.9})
    local start = dl.clock()
    for x, y in train:batches(BATCH, {shuffle = true}) do
        local loss = nn.cross_entropy(model(x), y)
        opt:zero_grad()
        loss:backward()
        opt:step()
    end
    return dl.clock() - start
end
local function fit_epoch(model)
    local opt = optim.SGD(model, {lr = 0.01, momentum = 0.9})
    local start = dl.clock()
    model:fit(train, {batch_size = BATCH, loss = "cross_entropy", optimizer = opt, verbose = false})
    return dl.clock() - start
end
local best_loop, best_fit = math.huge, math.huge
for _ = 1, EPOCHS do
    best_loop = math.min(best_loop, loop_epoch(mlp))
    best_fit = math.min(best_fit, fit_epoch(mlp))
end
print(("mlp_loop_s %.4f"):format(best_loop))
print(("mlp_fit_s %.4f"):format(best_fit))

local cnn = nn.Sequential{
    nn.Conv2d(1, 16, 5, {padding = 2}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 5, {padding = 2}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(1568, 10),
}
local image_batches = images:reshape(N, 1, 28, 28)
print(("cnn_epoch_s %.4f"):format(best_epoch(cnn, image_batches, 10)))
