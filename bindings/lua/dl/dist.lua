-- dist.lua -- dl.dist: several processes training one model, over MPI.
--
--   mpirun -np 2 dlrepl train.lua      (or lua5.4 train.lua)
--
--   dl.dist.init{timeout = 1800}   joins the world mpirun started; a plain
--                                  run is a world of one and loads no MPI
--   dl.dist.rank()                 this process, 0-based (a process id, as
--                                  torch.distributed.get_rank(), not an index)
--   dl.dist.world_size()           how many processes
--   dl.dist.barrier()
--   dl.dist.all_reduce(t, {op = "sum" | "mean" | "max"})   in place, -> t
--   dl.dist.broadcast(t, root)     rank root's t into every rank's t, -> t
--   dl.dist.all_gather(t)          -> (world_size, ...t's shape), row r+1 from rank r
--   dl.dist.print(...)             print on rank 0 only
--
-- Every function calls init() itself when it has not run yet. The MPI
-- side is bindings/ldist.c, which loads dist/mpi_backend.c's dl_mpi.so
-- only when the environment says mpirun started this process. A Lua error
-- that ends the script on one rank stops every rank (MPI_Abort), naming
-- the rank, instead of leaving the others waiting in a collective; so does
-- a collective that waits longer than the timeout.
local dl = require "dl"
local raise = require("dl.errors").raise
local option_names = require "dl.option_names"
local mpi = require "dl.mpi"

local dist = {}

local world = nil   -- {rank =, size =, mpi = true | false} once init() ran

local function argerror(n, fn, fmt, ...)
    raise(("bad argument #%d to '%s' (%s)"):format(n, fn, fmt:format(...)))
end

-- The launcher's size variable: Open MPI's mpirun, or MPICH's / Intel's.
local function launched_size()
    return os.getenv("OMPI_COMM_WORLD_SIZE") or os.getenv("PMI_SIZE")
end

--- dl.dist.init{timeout = 1800}: joins the world of processes mpirun
--- started (loads MPI); without mpirun a world of one. timeout: seconds a
--- collective waits for the other ranks before stopping them all. Calling
--- it again only sets a timeout given.
function dist.init(opts)
    option_names.record("init", {timeout = true})
    if opts ~= nil and type(opts) ~= "table" then
        argerror(1, "init", "expected an options table, got %s", type(opts))
    end
    for key in pairs(opts or {}) do
        if key ~= "timeout" then argerror(1, "init", "unknown option '%s'", tostring(key)) end
    end
    local timeout = opts and opts.timeout
    if timeout ~= nil and (type(timeout) ~= "number" or not (timeout > 0)) then
        argerror(1, "init", "expected option 'timeout' to be a number of seconds > 0, got %s",
                 tostring(timeout))
    end
    if world == nil then
        if launched_size() == nil then
            world = {rank = 0, size = 1, mpi = false}
        else
            local rank, size = mpi.load()
            world = {rank = rank, size = size, mpi = true}
        end
    end
    if timeout and world.mpi then mpi.set_timeout(timeout) end
end

local function joined()
    if world == nil then dist.init() end
    return world
end

--- dl.dist.rank() -> this process's rank, 0 .. world_size() - 1.
function dist.rank()
    return joined().rank
end

--- dl.dist.world_size() -> the number of processes.
function dist.world_size()
    return joined().size
end

--- dl.dist.barrier(): returns once every rank has called it.
function dist.barrier()
    if joined().mpi then mpi.barrier() end
end

-- Checks that t (argument n of fn) is a contiguous tensor.
local function check_tensor(t, n, fn)
    if not dl.is_tensor(t) then
        argerror(n, fn, "expected a tensor, got %s", type(t))
    end
    if not t:is_contiguous() then
        argerror(n, fn, "expected a contiguous tensor, got a view; pass t:contiguous()")
    end
end

-- Checks a list of contiguous tensors (argument n of fn).
local function check_list(list, n, fn)
    if type(list) ~= "table" then
        argerror(n, fn, "expected a list of tensors, got %s", type(list))
    end
    for i, t in ipairs(list) do
        if not dl.is_tensor(t) or not t:is_contiguous() then
            argerror(n, fn, "expected contiguous tensors, got %s at %d",
                     dl.is_tensor(t) and "a view" or type(t), i)
        end
    end
end

local REDUCE_OPS = {sum = true, mean = true, max = true}

local function reduce_op(opts, n, fn)
    option_names.record(fn, {op = true})
    if opts == nil then return "sum" end
    if type(opts) ~= "table" then argerror(n, fn, "expected an options table, got %s", type(opts)) end
    for key in pairs(opts) do
        if key ~= "op" then argerror(n, fn, "unknown option '%s'", tostring(key)) end
    end
    local op = opts.op or "sum"
    if not REDUCE_OPS[op] then
        argerror(n, fn, "expected option 'op' to be \"sum\", \"mean\" or \"max\", got %s", tostring(op))
    end
    return op
end

--- dl.dist.all_reduce(t, {op = "sum"}) -> t, holding the op of every
--- rank's t (same shape on every rank), in place.
function dist.all_reduce(t, opts)
    check_tensor(t, 1, "all_reduce")
    local op = reduce_op(opts, 2, "all_reduce")
    if joined().mpi then mpi.all_reduce({t}, op) end
    return t
end

--- dl.dist.all_reduce_list(tensors, {op = "sum"}): all_reduce of each
--- tensor of the list, packed into few MPI calls (gradients).
function dist.all_reduce_list(list, opts)
    check_list(list, 1, "all_reduce_list")
    local op = reduce_op(opts, 2, "all_reduce_list")
    if joined().mpi and #list > 0 then mpi.all_reduce(list, op) end
    return list
end

-- Checks a root rank (argument n of fn).
local function check_root(root, n, fn)
    if root == nil then return 0 end
    local r = math.tointeger(root)
    if r == nil or r < 0 or r >= dist.world_size() then
        argerror(n, fn, "expected a rank in 0..%d, got %s", dist.world_size() - 1, tostring(root))
    end
    return r
end

--- dl.dist.broadcast(t, root = 0) -> t, holding rank root's values.
function dist.broadcast(t, root)
    check_tensor(t, 1, "broadcast")
    root = check_root(root, 2, "broadcast")
    if joined().mpi then mpi.broadcast({t}, root) end
    return t
end

--- dl.dist.broadcast_list(tensors, root = 0): broadcast of each tensor.
function dist.broadcast_list(list, root)
    check_list(list, 1, "broadcast_list")
    root = check_root(root, 2, "broadcast_list")
    if joined().mpi and #list > 0 then mpi.broadcast(list, root) end
    return list
end

--- dl.dist.all_gather(t) -> tensor of shape (world_size, ...t's shape)
--- whose row r + 1 is rank r's t.
function dist.all_gather(t)
    check_tensor(t, 1, "all_gather")
    if joined().mpi then return mpi.all_gather(t) end
    local shape = t:shape()
    table.insert(shape, 1, 1)
    return t:detach():clone():reshape(shape)
end

--- dl.dist.print(...): print on rank 0 only.
function dist.print(...)
    if dist.rank() == 0 then print(...) end
end

return dist
