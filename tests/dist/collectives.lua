-- collectives.lua -- run by tests/lua/dist_spec.lua under mpirun -np 2:
-- dl.dist's collectives against values worked out by hand. Rank 0 prints
-- one line per check, "PASS name" or "FAIL name: what was wrong".
local dl = require "dl"
local dist = dl.dist

dist.init()
local rank, world = dist.rank(), dist.world_size()
local results = {}

-- Records whether tensor t holds exactly the list `want` on every rank.
local function check(name, t, want)
    local got = t:flatten():totable()
    local ok = #got == #want
    for i = 1, #want do ok = ok and got[i] == want[i] end
    local flag = dist.all_reduce(dl.tensor{ok and 0 or 1}, {op = "max"}):item()
    if rank == 0 then
        results[#results + 1] = flag == 0 and ("PASS " .. name)
            or ("FAIL %s: rank %d got {%s}, expected {%s}"):format(name, rank,
                table.concat(got, ", "), table.concat(want, ", "))
    end
end

assert(world == 2, "run with mpirun -np 2")
check("world", dl.tensor{rank, world}, {rank, 2})

-- rank r holds {r + 1, 10 (r + 1)}: sum {3, 30}, mean {1.5, 15}, max {2, 20}
local function mine() return dl.tensor{rank + 1, 10 * (rank + 1)} end
check("all_reduce sum", dist.all_reduce(mine()), {3, 30})
check("all_reduce mean", dist.all_reduce(mine(), {op = "mean"}), {1.5, 15})
check("all_reduce max", dist.all_reduce(mine(), {op = "max"}), {2, 20})

-- a 2-D tensor reduced in place: the same object comes back
local m = dl.full({2, 3}, rank + 1)
local back = dist.all_reduce(m)
check("all_reduce in place", m, {3, 3, 3, 3, 3, 3})
check("all_reduce returns t", dl.tensor{rawequal(back, m) and 1 or 0}, {1})

check("broadcast root 0", dist.broadcast(mine(), 0), {1, 10})
check("broadcast root 1", dist.broadcast(mine(), 1), {2, 20})
check("all_gather", dist.all_gather(mine()), {1, 10, 2, 20})
check("all_gather shape", dl.tensor(dist.all_gather(dl.zeros(3, 2)):shape()), {2, 3, 2})

-- a list of small tensors packed into one bucket, then one bigger than a
-- bucket (4 M floats) on its own: sum of rank + 1 and of 2 (rank + 1)
local small = {dl.full({3}, rank + 1), dl.full({2, 2}, 2 * (rank + 1)), dl.full({1}, rank)}
local big = dl.full({4200000}, rank + 1)
dist.all_reduce_list({small[1], big, small[2], small[3]}, {op = "mean"})
check("all_reduce_list small", dl.cat({small[1], small[2]:flatten(), small[3]}, 1),
      {1.5, 1.5, 1.5, 3, 3, 3, 3, 0.5})
check("all_reduce_list big", dl.tensor{big:min():item(), big:max():item(), big:numel()},
      {1.5, 1.5, 4200000})

dist.barrier()
for _, line in ipairs(results) do print(line) end
