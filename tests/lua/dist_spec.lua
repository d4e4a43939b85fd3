-- dist_spec.lua -- dl.dist, ds:shard and nn.DataParallel: in this process
-- (a world of one, no MPI loaded) and under `mpirun -np 2` (the scripts of
-- tests/dist, whose output is read here).
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn

local build = os.getenv("DL_BUILD") or "build"

-- Runs tests/dist/<name>.lua on 2 ranks; returns its output (stdout and
-- stderr) and exit status. Fails, saying which package to install, when
-- mpirun or the MPI module is missing.
local function mpirun(name)
    assert(os.execute("command -v mpirun >/dev/null 2>&1"),
           "mpirun not found: install the Debian package openmpi-bin (make deps-test)")
    local module = io.open(build .. "/dl_mpi.so")
    assert(module, build .. "/dl_mpi.so not built: install the Debian package libopenmpi-dev "
           .. "(make deps-test) and rebuild")
    module:close()
    local command = ("LUA_CPATH_5_4='%s/?.so;;' OMP_NUM_THREADS=1 timeout --kill-after=5 120 "
        .. "mpirun -np 2 --oversubscribe --allow-run-as-root -x LUA_CPATH_5_4 -x OMP_NUM_THREADS "
        .. "-x LD_PRELOAD -x ASAN_OPTIONS lua5.4 tests/dist/%s.lua 2>&1"):format(build, name)
    local pipe = io.popen(command)
    local out = pipe:read("a")
    local _, _, status = pipe:close()
    return out, status
end

describe("dl.dist in a plain run (a world of one)", function()
    local dist = dl.dist

    it("is rank 0 of 1 without loading MPI", function()
        dist.init()
        assert.equal(0, dist.rank())
        assert.equal(1, dist.world_size())
        dist.barrier()
    end)

    it("leaves tensors as they are in the collectives", function()
        local t = dl.tensor{1, 2, 3}
        for _, op in ipairs{"sum", "mean", "max"} do
            assert.equal(t, dist.all_reduce(t, {op = op}))
            H.close(t, {1, 2, 3})
        end
        H.close(dist.broadcast(t, 0), {1, 2, 3})
        local g = dist.all_gather(dl.tensor{{1, 2}})
        H.close(g, {{{1, 2}}})
        g[1][1][1] = 9   -- a copy: t is not changed through it
        H.close(t, {1, 2, 3})
    end)

    it("checks its arguments", function()
        H.raises("bad argument #1 to 'all_reduce' (expected a tensor, got number)",
                 dist.all_reduce, 3)
        H.raises("bad argument #2 to 'all_reduce' (expected option 'op' to be \"sum\", "
                 .. "\"mean\" or \"max\", got min)", dist.all_reduce, dl.ones(2), {op = "min"})
        H.raises("bad argument #2 to 'all_reduce' (unknown option 'opp')",
                 dist.all_reduce, dl.ones(2), {opp = "sum"})
        H.raises("bad argument #1 to 'broadcast' (expected a contiguous tensor, got a view; "
                 .. "pass t:contiguous())", dist.broadcast, dl.ones(2, 3):t())
        H.raises("bad argument #2 to 'broadcast' (expected a rank in 0..0, got 1)",
                 dist.broadcast, dl.ones(2), 1)
        H.raises("bad argument #1 to 'init' (expected option 'timeout' to be a number of "
                 .. "seconds > 0, got 0)", dist.init, {timeout = 0})
        H.raises("bad argument #1 to 'init' (unknown option 'time')", dist.init, {time = 1})
        H.raises("bad argument #1 to 'all_reduce_list' (expected contiguous tensors, "
                 .. "got number at 2)", dist.all_reduce_list, {dl.ones(1), 5})
    end)

    it("prints on rank 0", function()
        local printed = {}
        local saved = _G.print
        _G.print = function(...) printed[#printed + 1] = table.concat({...}, " ") end
        dist.print("hello", 1)
        _G.print = saved
        assert.same({"hello 1"}, printed)
    end)
end)

describe("Dataset:shard", function()
    local function labels_of(shard, batch, shuffle)
        local got = {}
        for _, y in shard:batches(batch, {shuffle = shuffle}) do
            for _, v in ipairs(y:totable()) do got[#got + 1] = v end
        end
        return got
    end
    local ds = dl.data.dataset(dl.arange(1, 13):reshape(12, 1), dl.arange(1, 13))

    it("gives every sample to exactly one rank per epoch", function()
        for _, shuffle in ipairs{false, true} do
            local seen = {}
            for rank = 0, 2 do
                local part = labels_of(ds:shard(rank, 3, {seed = 5}), 2, shuffle)
                assert.equal(4, #part)
                for _, v in ipairs(part) do seen[v] = (seen[v] or 0) + 1 end
            end
            for i = 1, 12 do assert.equal(1, seen[i]) end
        end
    end)

    it("pads the last rows round so every rank takes the same steps", function()
        local seen, small = {}, dl.data.dataset(dl.zeros(10, 1), dl.arange(1, 11))
        for rank = 0, 2 do
            local part = labels_of(small:shard(rank, 3, {seed = 5}), 3, true)
            assert.equal(4, #part)
            for _, v in ipairs(part) do seen[v] = (seen[v] or 0) + 1 end
        end
        local total = 0
        for i = 1, 10 do
            assert.is_true(seen[i] >= 1)
            total = total + seen[i]
        end
        assert.equal(12, total)
    end)

    it("shuffles the same way on every rank, differently every epoch", function()
        -- rank r's batches of b together are the batches of 2b of shard (0, 1)
        local whole = ds:shard(0, 1, {seed = 9})
        local r0, r1 = ds:shard(0, 2, {seed = 9}), ds:shard(1, 2, {seed = 9})
        local epochs = {}
        for epoch = 1, 2 do
            local all, a, b = labels_of(whole, 4, true), labels_of(r0, 2, true), labels_of(r1, 2, true)
            for k = 0, 2 do
                local got = {a[2 * k + 1], b[2 * k + 1], a[2 * k + 2], b[2 * k + 2]}
                local want = {all[4 * k + 1], all[4 * k + 2], all[4 * k + 3], all[4 * k + 4]}
                assert.same(want, got)
            end
            epochs[epoch] = table.concat(all, ",")
        end
        assert.are_not.equal(epochs[1], epochs[2])
    end)

    it("leaves dl's generator alone when given a seed", function()
        dl.manual_seed(4)
        local before = dl.rand(3):totable()
        dl.manual_seed(4)
        labels_of(ds:shard(0, 2, {seed = 1}), 3, true)
        H.close(dl.rand(3), before)
    end)

    it("checks its arguments", function()
        H.raises("bad argument #2 to 'shard' (expected a rank in 0..1, got 2)",
                 function() ds:shard(2, 2) end)
        H.raises("bad argument #3 to 'shard' (expected a world size >= 1, got 0)",
                 function() ds:shard(0, 0) end)
        H.raises("bad argument #4 to 'shard' (unknown option 'shuffle')",
                 function() ds:shard(0, 2, {shuffle = true}) end)
    end)
end)

describe("nn.DataParallel in a world of one", function()
    it("is the wrapped model, whose gradients stay as they are", function()
        dl.manual_seed(2)
        local net = nn.Linear(3, 2)
        local model = nn.DataParallel(net)
        local x = dl.randn(4, 3)
        H.close(model(x), net(x):totable())
        assert.equal(2, #model:parameters())
        nn.mse_loss(model(x), dl.zeros(4, 2)):backward()
        local before = net.weight.grad:totable()
        model:sync_grads()
        H.close(net.weight.grad, before)
    end)

    it("checks its argument", function()
        H.raises("bad argument #1 to 'DataParallel' (expected a module, got number)",
                 function() return nn.DataParallel(3) end)
    end)
end)

describe("dl.dist under mpirun -np 2", function()
    it("computes the collectives' hand-worked values", function()
        local out, status = mpirun("collectives")
        local passed = select(2, out:gsub("\nPASS ", "\n"))
        assert(status == 0 and not out:find("FAIL") and passed >= 11, out)
    end)

    it("trains 2 ranks with batch b to one process's weights with batch 2b", function()
        local out, status = mpirun("equivalence")
        assert(status == 0, out)
        local agree = tonumber(out:match("ranks agree (%S+)"))
        local single = tonumber(out:match("single process (%S+)"))
        local moved = tonumber(out:match("weights moved (%S+)"))
        assert(agree and single and moved, out)
        assert.equal(0, agree)           -- the same averaged gradient on both ranks
        assert.is_true(single < 1e-5, out)
        assert.is_true(moved > 0.1, out) -- the 20 steps did train
    end)

    it("stops every rank, naming it, when one raises an error", function()
        local out, status = mpirun("fault")
        assert.are_not.equal(0, status)
        assert.are_not.equal(124, status, "mpirun hung: " .. out)
        assert(out:find("rank one fails on purpose", 1, true), out)
        assert(out:find("dl.dist: rank 1 of 2 stopped", 1, true), out)
        assert(not out:find("rank 0 got past the barrier", 1, true), out)
    end)

    it("stops every rank when one does not reach a collective in time", function()
        local start = os.time()
        local out, status = mpirun("timeout")
        assert.are_not.equal(0, status)
        assert.are_not.equal(124, status, "mpirun hung: " .. out)
        assert(out:find("dl.dist: rank 0 of 2 waited 1 s in MPI_Barrier", 1, true), out)
        assert(not out:find("rank 0 got past the barrier", 1, true), out)
        assert.is_true(os.time() - start < 15, "the ranks were stopped only after rank 1 ended")
    end)

    it("stops every rank, naming it, when one is killed", function()
        local out, status = mpirun("killed")
        assert.are_not.equal(0, status)
        assert.are_not.equal(124, status, "mpirun hung: " .. out)
        assert(out:find("process rank 1 .* exited on signal 9"), out)
        assert(not out:find("rank 0 got past the barrier", 1, true), out)
    end)
end)
