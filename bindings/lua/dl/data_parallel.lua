-- data_parallel.lua -- nn.DataParallel: one model trained by every rank of
-- dl.dist, each on its own shard of the data (PyTorch's
-- DistributedDataParallel, over MPI).
--
--   local model = nn.DataParallel(net)   -- every rank starts from rank 0's weights
--   for x, y in train:shard(dl.dist.rank(), dl.dist.world_size()):batches(32, {shuffle = true}) do
--       opt:zero_grad()
--       nn.cross_entropy(model(x), y):backward()
--       model:sync_grads()                -- gradients averaged over the ranks
--       opt:step()
--   end
--
-- With equal batches on every rank the averaged gradient is that of one
-- process with the ranks' batches together, so the weights stay the same
-- on every rank and equal those of the single process (up to rounding).
-- Batch-norm running statistics stay per rank, as in PyTorch. In a world
-- of one (no mpirun) it is the wrapped model and sync_grads does nothing.
local dl = require "dl"
local raise = require("dl.errors").raise
local Module = require("dl.module").Module
local dist = require "dl.dist"

local DataParallel = Module:extend("DataParallel")

--- nn.DataParallel(module): wraps module (self.module) and copies rank 0's
--- parameters to every rank.
function DataParallel:init(module)
    if not Module.is_module(module) then
        raise(("bad argument #1 to 'DataParallel' (expected a module, got %s)"):format(type(module)))
    end
    self.module = module
    local params = module:parameters()
    dl.no_grad(function() dist.broadcast_list(params, 0) end)
end

function DataParallel:forward(...)
    return self.module(...)
end

--- m:sync_grads(): replaces each parameter's gradient by its mean over the
--- ranks (one packed all-reduce). Every rank must call it after the same
--- backward; parameters without a gradient are left out on every rank.
function DataParallel:sync_grads()
    local grads = {}
    for _, p in ipairs(self.module:parameters()) do
        local g = p.grad
        if g ~= nil then grads[#grads + 1] = g end
    end
    dist.all_reduce_list(grads, {op = "mean"})
end

return DataParallel
