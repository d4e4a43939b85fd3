-- equivalence.lua -- run by tests/lua/dist_spec.lua under mpirun -np 2:
-- nn.DataParallel on 2 ranks with batch 4 each against one process with
-- batch 8, 20 steps of SGD with momentum on the same shuffled data. Rank 0
-- prints "ranks agree <max difference between the ranks' weights>" and
-- "single process <max difference to the one-process weights>".
local dl = require "dl"
local nn, optim, dist = dl.nn, dl.optim, dl.dist

local STEPS, BATCH, SEED = 20, 4, 3
dist.init()
local rank, world = dist.rank(), dist.world_size()

-- The data: 40 rows of 5 features, 3 classes, the same on every rank.
dl.manual_seed(100)
local x = dl.randn(40, 5)
local y = (x:narrow(2, 1, 1):squeeze(2):gt(0) + x:narrow(2, 2, 1):squeeze(2):gt(0.5)) + 1
local ds = dl.data.dataset(x, y)

-- Trains `model` for STEPS steps on shard (rank, world) with batches of
-- `batch`; sync averages the gradients (nil: one process, nothing to do).
local function train(model, shard_rank, shard_world, batch, sync)
    local opt = optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9})
    local shard = ds:shard(shard_rank, shard_world, {seed = SEED})
    local step = 0
    while step < STEPS do
        for xb, yb in shard:batches(batch, {shuffle = true}) do
            opt:zero_grad()
            nn.cross_entropy(model(xb), yb):backward()
            if sync then model:sync_grads() end
            opt:step()
            step = step + 1
            if step == STEPS then break end
        end
    end
end

local function make_model()
    return nn.Sequential{nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3)}
end

local function flat_weights(model)
    local parts = {}
    for i, p in ipairs(model:parameters()) do parts[i] = p:detach():flatten() end
    return dl.cat(parts, 1)
end

-- Each rank starts from its own weights; DataParallel gives them rank 0's.
dl.manual_seed(1 + rank)
local model = nn.DataParallel(make_model())
train(model, rank, world, BATCH, true)
local everyone = dist.all_gather(flat_weights(model))
if rank == 0 then
    print(("ranks agree %.3g"):format((everyone[1] - everyone[2]):abs():max():item()))
    dl.manual_seed(1)
    local alone = make_model()
    train(alone, 0, 1, BATCH * world, nil)
    print(("single process %.3g"):format((flat_weights(alone) - everyone[1]):abs():max():item()))
    local moved = (flat_weights(alone) - flat_weights((function() dl.manual_seed(1) return make_model() end)()))
    print(("weights moved %.3g"):format(moved:abs():max():item()))
end
