-- option_names.lua -- which options each function takes, for Tab at the
-- prompt (nn.Conv2d(1, 8, 3, {pa<Tab> -> padding).
--
-- The functions that check an options table record its known names here
-- as they check it (layers.lua, optim.lua, dataset.lua), keyed by the name
-- their errors use ("Conv2d", "SGD", "split"). Before a function's first
-- call, the names come from its help entry's signature instead.
local option_names = {}

local recorded = {}   -- function name -> sorted list of option names

--- option_names.record(fn, known): the options of `fn` are the keys of `known`.
function option_names.record(fn, known)
    if recorded[fn] or type(known) ~= "table" then return end
    local list = {}
    for name in pairs(known) do
        if type(name) == "string" then list[#list + 1] = name end
    end
    table.sort(list)
    recorded[fn] = list
end

-- Option names in a signature's option table: `f(x, {a = 1, b = "x"|"y"})`.
local function from_signature(signature)
    local list = {}
    local options = signature:match("{([^{}]*)}[^{}]*%)") or signature:match("{([^{}]*)}")
    if not options then return list end
    for name in options:gmatch("([%a_][%w_]*)%s*=") do list[#list + 1] = name end
    table.sort(list)
    return list
end

--- option_names.of(qualified) -> sorted option names of "nn.Conv2d" (or
--- "ds:split"), or an empty list when none are known.
function option_names.of(qualified)
    local short = qualified:match("[%.:]([%w_]+)$") or qualified
    if recorded[short] then return recorded[short] end
    local ok, help = pcall(require, "dl.help")
    local entry = ok and (help.entry(qualified) or help.entry("Dataset:" .. short) or
        help.entry("Tensor:" .. short) or help.entry("Module:" .. short))
    if entry then return from_signature(entry.signature) end
    return {}
end

return option_names
