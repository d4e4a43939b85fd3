-- search_space.lua -- the search spaces of dl.search and a seeded random
-- stream to sample them.
--
-- A space is a table of name = dimension: dl.search.choice{...},
-- uniform(a, b), loguniform(a, b), int(a, b), or a fixed number, string or
-- boolean that every trial gets as is. The random stream is splitmix64 in
-- Lua's 64-bit integers: the same seed gives the same draws on every
-- machine, and the search never touches math.random or dl's generator.
local raise = require("dl.errors").raise

local space = {}

local Dimension = {}
Dimension.__index = Dimension

function Dimension:__tostring()
    if self.kind == "choice" then
        local shown = {}
        for i, v in ipairs(self.values) do
            shown[i] = type(v) == "string" and ("%q"):format(v) or tostring(v)
        end
        return "choice{" .. table.concat(shown, ", ") .. "}"
    end
    return ("%s(%s, %s)"):format(self.kind, tostring(self.low), tostring(self.high))
end

local function argerror(fn, n, expected, got)
    raise(("bad argument #%d to '%s' (expected %s, got %s)"):format(n, fn, expected, got))
end

local function shown(v)
    if type(v) == "number" then return tostring(v) end
    return type(v)
end

local function finite(v)
    return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge
end

--- dl.search.choice{v1, v2, ...}: one of the listed values (numbers,
--- strings or booleans), each equally likely under random sampling.
function space.choice(values)
    if type(values) ~= "table" then
        argerror("choice", 1, "a list of values such as {16, 32, 64}", type(values))
    end
    if #values == 0 then argerror("choice", 1, "a list of at least one value", "an empty list") end
    local copy = {}
    for i, v in ipairs(values) do
        local t = type(v)
        if t ~= "number" and t ~= "string" and t ~= "boolean" then
            argerror("choice", 1, "numbers, strings or booleans", ("%s at position %d"):format(t, i))
        end
        copy[i] = v
    end
    return setmetatable({kind = "choice", values = copy}, Dimension)
end

-- A range dimension after checking its bounds.
local function range(kind, low, high, positive, whole)
    for n = 1, 2 do
        local v = n == 1 and low or high
        if not finite(v) then argerror(kind, n, "a finite number", shown(v)) end
        if whole and math.type(v) ~= "integer" and v ~= math.floor(v) then
            argerror(kind, n, "a whole number", shown(v))
        end
        if positive and v <= 0 then argerror(kind, n, "a number > 0", shown(v)) end
    end
    if high < low or (high == low and not whole) then
        argerror(kind, 2, ("an upper bound above the lower bound %s"):format(tostring(low)), shown(high))
    end
    if whole then low, high = math.tointeger(low), math.tointeger(high) end
    return setmetatable({kind = kind, low = low, high = high}, Dimension)
end

--- dl.search.uniform(a, b): a real number drawn evenly from [a, b].
function space.uniform(a, b) return range("uniform", a, b, false, false) end

--- dl.search.loguniform(a, b): a real number in [a, b] (0 < a < b) whose
--- logarithm is drawn evenly: as likely in [1e-4, 1e-3] as in [1e-3, 1e-2].
function space.loguniform(a, b) return range("loguniform", a, b, true, false) end

--- dl.search.int(a, b): a whole number in a..b, both included.
function space.int(a, b) return range("int", a, b, false, true) end

function space.is_dimension(v)
    return getmetatable(v) == Dimension
end

--- space.check(fn, s) -> sorted list of the parameter names of space s;
--- raises naming `fn` when s is not a table of names to dimensions.
function space.check(fn, s)
    local expected = "a space: a table of name = dl.search.choice{...}, uniform(a, b), "
                     .. "loguniform(a, b) or int(a, b)"
    if type(s) ~= "table" or space.is_dimension(s) then
        argerror(fn, 1, expected, space.is_dimension(s) and "one dimension" or type(s))
    end
    local names = {}
    for name, v in pairs(s) do
        if type(name) ~= "string" then
            argerror(fn, 1, "parameter names as keys (lr = ...)", ("key %s (a %s)"):format(tostring(name), type(name)))
        end
        local t = type(v)
        if not space.is_dimension(v) and t ~= "number" and t ~= "string" and t ~= "boolean" then
            argerror(fn, 1, ("parameter '%s' as dl.search.choice{...}, uniform, loguniform, int "
                             .. "or a fixed value"):format(name),
                     t == "table" and "a plain table (write dl.search.choice{...} for a list)" or t)
        end
        names[#names + 1] = name
    end
    if #names == 0 then argerror(fn, 1, expected, "an empty table") end
    table.sort(names)
    return names
end

--- space.rng(seed) -> a function returning uniform draws in [0, 1).
function space.rng(seed)
    local state = math.tointeger(seed) or 0
    return function()
        state = state + 0x9E3779B97F4A7C15
        local z = state
        z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
        z = (z ~ (z >> 27)) * 0x94D049BB133111EB
        z = z ~ (z >> 31)
        return (z >> 11) * (1.0 / 9007199254740992.0)
    end
end

--- space.normal(rng) -> a standard normal draw (Box-Muller).
function space.normal(rng)
    local u = rng()
    while u == 0 do u = rng() end
    return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * rng())
end

--- space.sample(dim, rng) -> one value of a dimension or fixed value.
function space.sample(dim, rng)
    if not space.is_dimension(dim) then return dim end
    local u = rng()
    if dim.kind == "choice" then return dim.values[math.floor(u * #dim.values) + 1] end
    if dim.kind == "uniform" then return dim.low + u * (dim.high - dim.low) end
    if dim.kind == "loguniform" then
        local a, b = math.log(dim.low), math.log(dim.high)
        return math.exp(a + u * (b - a))
    end
    return dim.low + math.floor(u * (dim.high - dim.low + 1))
end

--- space.draw(s, names, rng) -> {name = value} sampled from every dimension.
function space.draw(s, names, rng)
    local params = {}
    for _, name in ipairs(names) do params[name] = space.sample(s[name], rng) end
    return params
end

--- space.grid_values(dim, points, whole_points) -> the list of values a
--- grid visits: every choice, every integer of an int range of up to
--- `whole_points` values (else `whole_points` evenly spread ones),
--- `points` evenly spread reals (in log scale for loguniform).
function space.grid_values(dim, points, whole_points)
    if not space.is_dimension(dim) then return {dim} end
    if dim.kind == "choice" then return dim.values end
    local out = {}
    if dim.kind == "int" then points = whole_points end
    if dim.kind == "int" and dim.high - dim.low + 1 <= points then
        for v = dim.low, dim.high do out[#out + 1] = v end
        return out
    end
    local log = dim.kind == "loguniform"
    local a = log and math.log(dim.low) or dim.low
    local b = log and math.log(dim.high) or dim.high
    for i = 0, points - 1 do
        local v = points == 1 and (a + b) / 2 or a + (b - a) * i / (points - 1)
        if log then v = math.exp(v) end
        if dim.kind == "int" then v = math.floor(v + 0.5) end
        if out[#out] ~= v then out[#out + 1] = v end
    end
    return out
end

return space
