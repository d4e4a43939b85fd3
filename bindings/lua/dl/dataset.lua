-- dataset.lua -- the Dataset of dl.data: rows of features x and a target y.
--
--   #ds, ds.x, ds.y, ds.classes (class names, y holds 1..C), ds.features
--   (column names of a CSV), ds.stats (after standardize/normalize)
--   ds:split(0.8, {seed=, shuffle=true, stratify=false})  -> train, test
--   ds:split{0.7, 0.15}                                   -> three parts
--   ds:kfold(5, {seed=, shuffle=true, stratify=false})    -> iterator: fold, train, val
--   ds:batches(32, {shuffle=false, drop_last=false, augment=fn}) -> iterator: x, y
--   ds:shard(rank, world, {seed=})                        -> this rank's batches (dl.dist)
--   ds:standardize([other]), ds:normalize([other])        -> ds (in place)
--   ds:head(n), ds:subset(positions), ds:get(i), ds:summary(), tostring(ds)
--
-- x is a float tensor, or a dl.Bytes (large image sets: one byte a value,
-- converted a batch at a time). For such a byte-backed dataset ds.x is
-- built on access and cached weakly: it lives while you hold it, and the
-- dataset itself keeps only the bytes. Its standardize/normalize is applied
-- as the rows are converted, so ds.x and batches see the same values for
-- both kinds. Shuffles draw from dl's generator (dl.manual_seed makes them
-- repeat); a `seed` option uses a generator of its own instead, leaving
-- dl's untouched.
local dl = require "dl"
local raise = require("dl.errors").raise
local option_names = require "dl.option_names"

local Dataset = {__name = "dl.Dataset"}
local methods = {}

-- ---- errors and options ----------------------------------------------------

local function argerror(n, fn, fmt, ...)
    raise(("bad argument #%d to '%s' (%s)"):format(n, fn, fmt:format(...)))
end

-- Checks that opts (argument n of fn) is nil or a table of known keys.
local function options(opts, n, fn, known)
    option_names.record(fn, known)   -- for Tab at the prompt
    if opts == nil then return {} end
    if type(opts) ~= "table" then
        argerror(n, fn, "expected an options table, got %s", type(opts))
    end
    for key in pairs(opts) do
        if not known[key] then argerror(n, fn, "unknown option '%s'", tostring(key)) end
    end
    return opts
end

-- ---- construction ------------------------------------------------------------

local function is_bytes(v)
    local mt = getmetatable(v)
    return mt ~= nil and mt.__name == "dl.Bytes"
end

-- Dataset.new{x = tensor | dl.Bytes, y = tensor | nil, classes =, features =,
-- target =, stats =, skipped =}: x and y must have as many rows (the
-- loaders and dl.data.dataset check their arguments).
function Dataset.new(fields)
    local x = fields.x
    local ds = {
        _x = dl.is_tensor(x) and x or nil,
        _bytes = is_bytes(x) and x or nil,
        _cache = setmetatable({}, {__mode = "v"}),
        y = fields.y, classes = fields.classes, features = fields.features,
        target = fields.target, stats = fields.stats, skipped = fields.skipped,
    }
    return setmetatable(ds, Dataset)
end

Dataset.is_bytes = is_bytes

-- A dataset like self (same names and statistics) over other rows.
local function derive(self, x, y)
    return Dataset.new{x = x, y = y, classes = self.classes, features = self.features,
                       target = self.target, stats = self.stats}
end

function Dataset.is_dataset(v)
    return getmetatable(v) == Dataset
end

-- ---- rows --------------------------------------------------------------------

function Dataset:__len()
    return #(self._x or self._bytes)
end

-- The statistics of `stats` as a tensor shaped to broadcast against rows
-- of x (features along dim 2).
local function broadcastable(v, x)
    local shape = {1, v:numel()}
    for _ = 3, x:dim() do shape[#shape + 1] = 1 end
    if x:dim() == 1 then shape = {1} end
    return v:reshape(shape)
end

-- The per-feature affine map (mul, add tensors) that stats applies:
-- standardize is x / std - mean / std, normalize x / range - min / range.
local function affine(stats)
    if stats.kind == "standardize" then
        return 1 / stats.std, -stats.mean / stats.std
    end
    local range = stats.max - stats.min
    return 1 / range, -stats.min / range
end

-- Applies a standardize/normalize record to float rows x.
local function transform(stats, x)
    local mul, add = affine(stats)
    return x * broadcastable(mul, x) + broadcastable(add, x)
end

-- The mul, add arguments of a byte-backed dataset's conversions: nothing,
-- or its statistics' map (computed once per statistics record).
local function conversion(self)
    if self.stats == nil then return nil, nil end
    if self._affine == nil or self._affine.stats ~= self.stats then
        local mul, add = affine(self.stats)
        self._affine = {stats = self.stats, mul = mul, add = add}
    end
    return self._affine.mul, self._affine.add
end

-- Rows `idx` (a 1-D tensor of positions) of x as a float tensor.
function methods:_rows(idx)
    if self._x then return self._x:index_select(1, idx) end
    return self._bytes:index(idx, conversion(self))
end

-- Rows first..first+count-1 of x (a view for tensor-backed data).
function methods:_range(first, count)
    if self._x then return self._x:narrow(1, first, count) end
    return self._bytes:tensor(first, count, conversion(self))
end

function Dataset:__index(key)
    if key == "x" then
        if self._x then return self._x end
        local x = self._cache[1]
        if x == nil then
            x = self:_range(1, #self)
            self._cache[1] = x
        end
        return x
    end
    return methods[key]
end

function Dataset:__newindex(key, value)
    if key == "x" then
        raise("ds.x cannot be replaced: make a new dataset with dl.data.dataset(x, y)")
    end
    rawset(self, key, value)
end

-- A position list (table of numbers or 1-D tensor) as a 1-D tensor.
local function positions(idx, n, fn)
    if dl.is_tensor(idx) then return idx end
    if type(idx) ~= "table" then
        argerror(n, fn, "expected a table or tensor of positions, got %s", type(idx))
    end
    return dl.tensor(idx)
end

-- ds:subset(positions) -> a dataset of those rows, in that order.
-- Errors of the row selection are told as subset's own.
function methods:subset(idx)
    idx = positions(idx, 2, "subset")
    if (dl.is_tensor(idx) and idx:numel() or #idx) == 0 then
        argerror(2, "subset", "expected at least one position")
    end
    local ok, x = pcall(function()
        return self._x and self._x:index_select(1, idx) or self._bytes:take(idx)
    end)
    if not ok then
        argerror(2, "subset", "%s", tostring(x):match("%((.*)%)$") or tostring(x))
    end
    return derive(self, x, self.y and self.y:index_select(1, idx))
end

-- ds:head([n = 5]) -> a dataset of the first n rows (printing it shows them).
function methods:head(n)
    n = n or 5
    if math.tointeger(n) == nil or n < 1 then
        argerror(2, "head", "expected a row count >= 1, got %s", tostring(n))
    end
    return self:subset(dl.arange(1, math.min(n, #self) + 1))
end

-- ds:get(i) -> row i of x (a tensor), y[i] (a number, or nil)
function methods:get(i)
    if math.tointeger(i) == nil or i < 1 or i > #self then
        argerror(2, "get", "expected a row in 1..%d, got %s", #self, tostring(i))
    end
    return self:_range(i, 1)[1], self.y and self.y[i]
end

-- ---- random order ----------------------------------------------------------------

-- A random permutation of 1..n as a Lua list: from dl's generator, or from
-- a SplitMix64 stream of its own when seed is given.
local function permutation(n, seed, fn)
    if seed == nil then return dl.randperm(n):totable() end
    local state = math.tointeger(seed)
    if state == nil then argerror(3, fn, "expected option 'seed' to be an integer, got %s", tostring(seed)) end
    local function next_u53()
        state = state + 0x9E3779B97F4A7C15
        local z = state
        z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
        z = (z ~ (z >> 27)) * 0x94D049BB133111EB
        return (z ~ (z >> 31)) >> 11
    end
    local p = {}
    for i = 1, n do p[i] = i end
    for i = n, 2, -1 do
        local j = next_u53() % i + 1
        p[i], p[j] = p[j], p[i]
    end
    return p
end

-- The row order of a split or k-fold: shuffled unless shuffle = false.
local function row_order(self, opts, fn)
    if opts.shuffle == false then
        local p = {}
        for i = 1, #self do p[i] = i end
        return p
    end
    return permutation(#self, opts.seed, fn)
end

-- Class of each row as a Lua list, for stratification.
local function labels_of(self, fn)
    if self.y == nil or self.classes == nil then
        argerror(3, fn, "option 'stratify' needs class labels (ds.classes)")
    end
    return self.y:totable()
end

-- Assigns each row of `order` to a part so that part k gets fracs[k] of
-- the rows, to within one row; returns one position list per part, each
-- in the order of `order`. Without labels the parts are consecutive runs
-- of `order` (so shuffle = false keeps the file's order: the last rows
-- are the test set). With labels each class is shared out separately, its
-- rows dealt in turn to the part furthest behind its share, so that every
-- part draws from the whole order and the classes stay mixed in it.
local function assign(order, fracs, labels)
    local dealt, seen, parts, cum = {}, {}, {}, {}
    for k, f in ipairs(fracs) do
        parts[k] = {}
        cum[k] = (cum[k - 1] or 0) + f
    end
    for i, row in ipairs(order) do
        local best = 1
        if labels == nil then
            while best < #fracs and i > math.floor(#order * cum[best] + 0.5) do
                best = best + 1
            end
        else
            local g = labels[row]
            dealt[g] = dealt[g] or {}
            seen[g] = (seen[g] or 0) + 1
            local behind = -math.huge
            for k, f in ipairs(fracs) do
                local deficit = seen[g] * f - (dealt[g][k] or 0)
                if deficit > behind + 1e-9 then best, behind = k, deficit end
            end
            dealt[g][best] = (dealt[g][best] or 0) + 1
        end
        parts[best][#parts[best] + 1] = row
    end
    return parts
end

-- ds:split(frac | {f1, f2, ...}, {seed=, shuffle=true, stratify=false})
-- -> one dataset per fraction (a single fraction f gives f and 1 - f; a
-- list summing to less than 1 gets a last part with the rest).
function methods:split(fracs, opts)
    opts = options(opts, 3, "split", {seed = true, shuffle = true, stratify = true})
    if type(fracs) == "number" then fracs = {fracs} end
    if type(fracs) ~= "table" or #fracs == 0 then
        argerror(2, "split", "expected a fraction or a list of fractions, got %s", type(fracs))
    end
    local total = 0
    for _, f in ipairs(fracs) do
        if type(f) ~= "number" or not (f > 0 and f < 1) then
            argerror(2, "split", "expected fractions in (0, 1), got %s", tostring(f))
        end
        total = total + f
    end
    if total > 1 + 1e-9 then argerror(2, "split", "expected fractions summing to at most 1, got %g", total) end
    fracs = table.move(fracs, 1, #fracs, 1, {})
    if total < 1 - 1e-9 then fracs[#fracs + 1] = 1 - total end
    local labels = opts.stratify and labels_of(self, "split")
    local parts = assign(row_order(self, opts, "split"), fracs, labels)
    local out = {}
    for k, part in ipairs(parts) do
        if #part == 0 then
            argerror(2, "split", "part %d of the split would be empty (%d row%s)", k, #self,
                     #self == 1 and "" or "s")
        end
        out[k] = self:subset(part)
    end
    return table.unpack(out)
end

-- ds:kfold(k, {seed=, shuffle=true, stratify=false}) -> an iterator giving
-- fold, train, validation for fold = 1..k; every row is in exactly one
-- validation set.
function methods:kfold(k, opts)
    opts = options(opts, 3, "kfold", {seed = true, shuffle = true, stratify = true})
    if math.tointeger(k) == nil or k < 2 or k > #self then
        argerror(2, "kfold", "expected a fold count in 2..%d, got %s", #self, tostring(k))
    end
    local fracs = {}
    for i = 1, k do fracs[i] = 1 / k end
    local labels = opts.stratify and labels_of(self, "kfold")
    local folds = assign(row_order(self, opts, "kfold"), fracs, labels)
    local fold = 0
    return function()
        fold = fold + 1
        if fold > k then return nil end
        local train = {}
        for j = 1, k do
            if j ~= fold then table.move(folds[j], 1, #folds[j], #train + 1, train) end
        end
        return fold, self:subset(train), self:subset(folds[fold])
    end
end

-- ds:shard(rank, world, {seed=}) -> a dataset like ds whose batches are
-- only rank's part (rank 0-based, as dl.dist.rank()): every epoch the rows
-- are put in one order, the same on every rank (a shuffle from `seed`, by
-- default drawn by rank 0 and sent to all), and dealt out in turn, rank r
-- getting positions r+1, r+1+world, ... Each rank gets ceil(#ds / world)
-- rows, the last ones wrapping round to the first rows of the order, so
-- every rank takes the same number of steps. ds.x, ds.y and #ds stay those
-- of the whole set.
function methods:shard(rank, world, opts)
    opts = options(opts, 4, "shard", {seed = true})
    if math.tointeger(world) == nil or world < 1 then
        argerror(3, "shard", "expected a world size >= 1, got %s", tostring(world))
    end
    if math.tointeger(rank) == nil or rank < 0 or rank >= world then
        argerror(2, "shard", "expected a rank in 0..%d, got %s", world - 1, tostring(rank))
    end
    local seed = opts.seed
    if seed == nil then
        local drawn = dl.tensor{math.floor(dl.rand(1):item() * 2 ^ 24)}
        seed = math.tointeger(require("dl.dist").broadcast(drawn, 0):item())
    elseif math.tointeger(seed) == nil then
        argerror(4, "shard", "expected option 'seed' to be an integer, got %s", tostring(seed))
    end
    local part = derive(self, self._x or self._bytes, self.y)
    rawset(part, "_shard", {rank = math.tointeger(rank), world = math.tointeger(world),
                            seed = math.tointeger(seed), epoch = 0})
    return part
end

-- The positions a shard's batches take this epoch (a 1-D tensor): the
-- epoch's order (shuffled from seed + epoch), dealt out round the ranks.
local function shard_positions(self, shard, shuffle)
    local n = #self
    local order
    if shuffle then
        shard.epoch = shard.epoch + 1
        order = permutation(n, shard.seed + shard.epoch, "shard")
    end
    local mine = {}
    for k = 0, (n + shard.world - 1) // shard.world - 1 do
        local at = (k * shard.world + shard.rank) % n + 1
        mine[k + 1] = order and order[at] or at
    end
    return dl.tensor(mine)
end

-- ds:batches(n, {shuffle=false, drop_last=false, augment=fn}) -> an
-- iterator of x, y batches of n rows (the last one smaller unless
-- drop_last). augment(x) -> x is applied to each x (see dl.data.augment).
function methods:batches(size, opts)
    opts = options(opts, 3, "batches", {shuffle = true, drop_last = true, augment = true})
    if math.tointeger(size) == nil or size < 1 then
        argerror(2, "batches", "expected a batch size >= 1, got %s", tostring(size))
    end
    local augment = opts.augment
    if augment ~= nil and type(augment) ~= "function" and
       not (getmetatable(augment) or {}).__call then
        argerror(3, "batches", "expected option 'augment' to be callable, got %s", type(augment))
    end
    local n, order = #self, nil
    local shard = rawget(self, "_shard")
    if shard then
        order = shard_positions(self, shard, opts.shuffle)
        n = order:numel()
    elseif opts.shuffle then
        order = dl.randperm(n)
    end
    local first = 1
    return function()
        local count = math.min(size, n - first + 1)
        if count < 1 or (opts.drop_last and count < size) then return nil end
        local x, y
        if order then
            local idx = order:narrow(1, first, count)
            x, y = self:_rows(idx), self.y and self.y:index_select(1, idx)
        else
            x, y = self:_range(first, count), self.y and self.y:narrow(1, first, count)
        end
        first = first + count
        if augment then x = augment(x) end
        return x, y
    end
end

-- ---- statistics ----------------------------------------------------------------

-- op ("sum", "min", "max") over every dim of t but the feature dim (2; a
-- 1-D t is one feature), as a Lua list with one value per feature.
local function per_feature(t, op)
    if t:dim() == 1 then return {t[op](t):item()} end
    local r = t[op](t, 1)
    if r:dim() > 1 then
        r = r:reshape(r:size(1), -1)
        r = r[op](r, 2)
    end
    return r:totable()
end

-- Per-feature sum, sum of squares, min, max and the count of values per
-- feature of the values a dataset shows. Byte-backed sets count their
-- bytes in C (no float copy is made) and map the sums through their own
-- statistics when they have some.
local function feature_sums(ds)
    if ds._x then
        local x = ds._x
        return per_feature(x, "sum"), per_feature(x * x, "sum"), per_feature(x, "min"),
               per_feature(x, "max"), x:numel() // math.max(1, x:dim() == 1 and 1 or x:size(2))
    end
    local sum, sq, lo, hi, count = ds._bytes:stats()
    if ds.stats then
        local mul, add = affine(ds.stats)
        mul, add = mul:totable(), add:totable()
        for j = 1, #sum do
            local m, a = mul[j], add[j]
            sq[j] = m * m * sq[j] + 2 * m * a * sum[j] + a * a * count
            sum[j] = m * sum[j] + a * count
            lo[j], hi[j] = m * lo[j] + a, m * hi[j] + a
        end
    end
    return sum, sq, lo, hi, count
end

-- Per-feature statistics of a dataset's current values.
local function compute_stats(ds, kind)
    local sum, sq, lo, hi, count = feature_sums(ds)
    if kind == "standardize" then
        local mean, std = {}, {}
        for j = 1, #sum do
            mean[j] = sum[j] / count
            local var = math.max(sq[j] / count - mean[j] ^ 2, 0)
            std[j] = var > 1e-12 and math.sqrt(var) or 1
        end
        return {kind = kind, mean = dl.tensor(mean), std = dl.tensor(std)}
    end
    for j = 1, #lo do
        if hi[j] - lo[j] <= 1e-12 then hi[j] = lo[j] + 1 end
    end
    return {kind = kind, min = dl.tensor(lo), max = dl.tensor(hi)}
end

-- Shared by standardize and normalize: stats from `ref` (nil: this set; a
-- dataset: its recorded stats, or its values; a stats table), applied in place.
local function rescale(self, ref, kind)
    if self.stats then
        argerror(1, kind, "the dataset is already %sd (its statistics are in ds.stats)",
                 self.stats.kind)
    end
    local stats
    if ref == nil then
        stats = compute_stats(self, kind)
    elseif Dataset.is_dataset(ref) then
        stats = ref.stats and ref.stats.kind == kind and ref.stats or compute_stats(ref, kind)
    elseif type(ref) == "table" and ref.kind == kind then
        stats = ref
    else
        argerror(2, kind, "expected a dataset or the ds.stats of a %sd one, got %s", kind,
                 type(ref))
    end
    if self._x then self._x = transform(stats, self._x) end
    self._cache[1] = nil
    self.stats = stats
    return self
end

-- ds:standardize([other]) -> ds: each feature (column, or image channel)
-- gets mean 0 and std 1, with the statistics of `other` when given
-- (test:standardize(train) reuses train's). The statistics are kept in
-- ds.stats = {kind = "standardize", mean =, std =}.
function methods:standardize(other)
    return rescale(self, other, "standardize")
end

-- ds:normalize([other]) -> ds: each feature scaled to [0, 1] by its min and
-- max (other's when given); ds.stats = {kind = "normalize", min =, max =}.
function methods:normalize(other)
    return rescale(self, other, "normalize")
end

-- ---- printing ------------------------------------------------------------------

local function shape_string(shape)
    return "(" .. table.concat(shape, ", ") .. ")"
end

local function class_counts(self)
    local counts = {}
    for _, c in ipairs(self.y:totable()) do counts[c] = (counts[c] or 0) + 1 end
    local parts = {}
    for i, name in ipairs(self.classes) do
        parts[#parts + 1] = ("%s %d"):format(name, counts[i] or 0)
        if i == 12 and #self.classes > 13 then
            parts[#parts + 1] = ("... (%d more)"):format(#self.classes - 12)
            break
        end
    end
    return table.concat(parts, ", ")
end

local function value_ranges(self)
    local x = self._x
    if x == nil then
        local stats = self.stats and " (" .. self.stats.kind .. "d)" or ""
        return "  stored as bytes, converted per batch" .. stats
    end
    if x:numel() == 0 then return "  no values" end
    local features = x:dim() == 2 and x:size(2) <= 20 and self.features
    if not features then
        return ("  values %.4g .. %.4g"):format(x:min():item(), x:max():item())
    end
    local lo, hi, lines = x:min(1):totable(), x:max(1):totable(), {}
    for j, name in ipairs(features) do
        lines[#lines + 1] = ("  %-16s %10.4g .. %.4g"):format(name, lo[j], hi[j])
    end
    return table.concat(lines, "\n")
end

-- The first rows as a table, for small 2-D sets (what head() shows).
local function row_table(self)
    local x = self._x
    if x == nil or x:dim() ~= 2 or #self > 10 or x:size(2) > 12 then return nil end
    local names = self.features or {}
    local header, lines = {}, {}
    for j = 1, x:size(2) do header[j] = ("%12s"):format((names[j] or tostring(j)):sub(1, 12)) end
    if self.y then header[#header + 1] = "  " .. (self.target or "y") end
    lines[1] = table.concat(header, " ")
    local rows, y = x:totable(), self.y and self.y:totable()
    for i, row in ipairs(rows) do
        local cells = {}
        for j, v in ipairs(row) do cells[j] = ("%12.5g"):format(v) end
        if y then
            local label = self.classes and self.classes[y[i]] or ("%.5g"):format(y[i])
            cells[#cells + 1] = "  " .. tostring(label)
        end
        lines[#lines + 1] = table.concat(cells, " ")
    end
    return table.concat(lines, "\n")
end

-- ds:summary() -> text: rows, shape, classes with counts, value ranges.
function methods:summary()
    local x = self._x or self._bytes
    local lines = {("Dataset: %d row%s, x %s"):format(#self, #self == 1 and "" or "s",
                                                     shape_string(x:shape()))}
    if self.y == nil then
        lines[#lines + 1] = "  no target"
    elseif self.classes then
        lines[#lines + 1] = ("  y: %d class%s: %s"):format(#self.classes, #self.classes == 1 and "" or "es",
                                                        class_counts(self))
    elseif #self > 0 then
        lines[#lines + 1] = ("  y%s: %.4g .. %.4g, mean %.4g"):format(
            self.target and " (" .. self.target .. ")" or "", self.y:min():item(),
            self.y:max():item(), self.y:mean():item())
    end
    lines[#lines + 1] = value_ranges(self)
    if self.skipped and #self.skipped > 0 then
        lines[#lines + 1] = ("  %d file%s skipped (ds.skipped lists them)"):format(#self.skipped,
                                                                               #self.skipped == 1 and "" or "s")
    end
    local rows = row_table(self)
    if rows then lines[#lines + 1] = rows end
    return table.concat(lines, "\n")
end

Dataset.__tostring = methods.summary

return Dataset
