-- fashion_mnist_ddp.lua -- the multi-layer perceptron of
-- fashion_mnist_mlp.lua trained data-parallel with dl.dist: every process
-- (rank) trains on its share of each batch and the gradients are averaged,
-- so N ranks reach the weights one process would. For a model this small
-- the all-reduce of each step costs as much as its compute: see "What to
-- expect of the speed" in docs/distributed.md.
--
--   dlrepl examples/fashion_mnist_ddp.lua [epochs]                  one process
--   mpirun -np 2 dlrepl examples/fashion_mnist_ddp.lua [epochs]     two ranks
--
-- (as root, mpirun also wants --allow-run-as-root). See docs/distributed.md.
-- The data comes from Debian's dataset-fashion-mnist package.
local dist = dl.dist
dist.init()
local rank, world = dist.rank(), dist.world_size()
-- The ranks of one machine share its cores.
dl.threads(math.max(1, dl.threads() // world))

dl.manual_seed(0)   -- the same seed everywhere: rank 0's weights are sent anyway
local epochs = tonumber(arg and arg[1]) or 5
local BATCH = 128   -- the batch of one step over all ranks: each takes BATCH / world

local train, test = dl.data.fashion_mnist()
train:standardize()
test:standardize(train)

local model = nn.DataParallel(nn.Sequential{
    nn.Flatten(),
    nn.Linear(784, 256), nn.ReLU(),
    nn.Linear(256, 128), nn.ReLU(),
    nn.Linear(128, 10),
})
dist.print(model)
local opt = optim.Adam(model:parameters(), {lr = 1e-3})

-- This rank's part of the data: every epoch the same shuffle on all ranks,
-- each rank taking its share of every batch.
local my_train = train:shard(rank, world, {seed = 1})
local my_test = test:shard(rank, world, {seed = 1})

-- Test accuracy over the whole test set: each rank counts its part.
local function evaluate()
    local counts = dl.zeros(2)
    dl.no_grad(function()
        for x, y in my_test:batches(1000) do
            counts = counts + dl.tensor{model(x):argmax(2):eq(y):sum():item(), #y}
        end
    end)
    dist.all_reduce(counts)
    return counts[1] / counts[2]
end

for epoch = 1, epochs do
    local start, losses = dl.clock(), dl.zeros(2)
    model:train()
    for x, y in my_train:batches(BATCH // world, {shuffle = true}) do
        local loss = nn.cross_entropy(model(x), y)
        opt:zero_grad()
        loss:backward()
        model:sync_grads()
        opt:step()
        losses = losses + dl.tensor{loss:item() * #y, #y}
    end
    dist.all_reduce(losses)
    model:eval()
    dist.print(("epoch %d   loss %.4f   test accuracy %.4f   (%.1f s, %d rank%s)"):format(
        epoch, losses[1] / losses[2], evaluate(), dl.clock() - start, world, world == 1 and "" or "s"))
end
