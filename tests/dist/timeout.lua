-- timeout.lua -- run by tests/lua/dist_spec.lua under mpirun -np 2: rank 1
-- stays alive but computes for 20 s while rank 0 waits in a barrier with a
-- time limit of 1 s. Rank 0 must stop every rank, saying how long it
-- waited, rather than wait for rank 1.
local dl = require "dl"
dl.dist.init{timeout = 1}
if dl.dist.rank() == 1 then
    local start = dl.clock()
    while dl.clock() - start < 20 do end
end
dl.dist.barrier()
print("rank 0 got past the barrier")
