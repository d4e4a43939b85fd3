-- fault.lua -- run by tests/lua/dist_spec.lua under mpirun -np 2: rank 1
-- raises a Lua error while rank 0 waits in a barrier. Every rank must stop
-- (MPI_Abort), with a message naming rank 1, rather than hang.
local dl = require "dl"
dl.dist.init()
if dl.dist.rank() == 1 then
    error("rank one fails on purpose")
end
dl.dist.barrier()
print("rank 0 got past the barrier")
