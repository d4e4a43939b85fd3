-- killed.lua -- run by tests/lua/dist_spec.lua under mpirun -np 2: rank 1
-- is killed (SIGKILL) while rank 0 waits in a barrier. mpirun must stop
-- rank 0 and name rank 1, rather than hang.
local dl = require "dl"
dl.dist.init()
if dl.dist.rank() == 1 then
    os.execute("kill -9 $PPID")   -- the shell's parent: this Lua process
end
dl.dist.barrier()
print("rank 0 got past the barrier")
