-- help.lua -- help(x), ?x and apropos at the prompt.
--
-- The entries come from the reference pages docs/ref/*.md (turned into
-- dl.help_data at build time by scripts/help-data.lua): one source for the
-- pages and the prompt. A value finds its entry through a map from every
-- function and table reachable from dl, nn and optim (and the methods of
-- tensors, modules, datasets and optimisers) to its qualified name, built
-- at the first use.
--
--   help.help(x)          help(x): an entry, help() the topics, help "word" a search
--   help.show_name(text)  ?text: the entry of a name as typed
--   help.apropos(word)    the names that contain `word`
--   help.entry(name)      -> the entry of a qualified name, or nil
--   help.public_names()   -> every public name, sorted (for the coverage test)
--   help.suggest(name)    -> up to 5 known names near `name` (edit distance)
--   help.name_of(value)   -> the qualified name of a library value
local dl = require "dl"

local help = {}

local MAX_DEPTH = 4        -- table levels walked below dl, nn, optim
local SUGGESTIONS = 5

local by_name     -- qualified name -> entry
local entry_list  -- entries in page order

local function load_entries()
    if by_name then return end
    local ok, data = pcall(require, "dl.help_data")
    entry_list = ok and data or {}
    by_name = {}
    for _, e in ipairs(entry_list) do by_name[e.name] = e end
end

-- The names an entry may stand under for `name`: itself, then, since
-- dl.f(t, ...) is t:f(...) and nn.functional.f is nn.f or t:f, those.
local function entry_names(name)
    local f = name:match("^dl%.([%w_]+)$")
    if f then return {name, "Tensor:" .. f} end
    f = name:match("^nn%.functional%.([%w_]+)$")
    if f then return {name, "nn." .. f, "Tensor:" .. f} end
    return {name}
end

--- help.entry(name) -> the entry {name, signature, text, example} or nil:
--- the entry named so, else that of the method or function it is another
--- form of (dl.exp -> Tensor:exp, nn.functional.bce -> nn.bce).
function help.entry(name)
    load_entries()
    for _, candidate in ipairs(entry_names(name)) do
        if by_name[candidate] then return by_name[candidate] end
    end
    return nil
end

-- The table an instance's methods live in: its metatable's __index
-- table, or the first table an __index function closes over.
local function method_table(instance)
    local mt = getmetatable(instance)
    if type(mt) ~= "table" then return nil end
    local index = rawget(mt, "__index")
    if type(index) == "table" then return index end
    if type(index) == "function" then
        for i = 1, 16 do
            local name, value = debug.getupvalue(index, i)
            if name == nil then break end
            if type(value) == "table" and name ~= "_ENV" and value ~= _G then return value end
        end
    end
    return nil
end

-- {class name, methods table} of the kinds whose methods are public.
local function method_classes()
    local classes = {}
    local ok, t = pcall(dl.zeros, 1)
    if ok then classes[#classes + 1] = {"Tensor", method_table(t)} end
    if dl.nn and dl.nn.Module then
        classes[#classes + 1] = {"Module", dl.nn.Module}
        if dl.nn.Sequential then
            local own = {}
            for k, v in pairs(dl.nn.Sequential) do
                if rawget(dl.nn.Module, k) == nil then own[k] = v end
            end
            classes[#classes + 1] = {"Sequential", own}
        end
    end
    if dl.data and dl.data.dataset then
        local made, ds = pcall(dl.data.dataset, dl.zeros(2, 1), dl.zeros(2))
        if made then classes[#classes + 1] = {"Dataset", method_table(ds)} end
    end
    if dl.optim and dl.optim.Optimizer then
        classes[#classes + 1] = {"Optimizer", dl.optim.Optimizer}
    end
    return classes
end

local function is_public_key(key)
    return type(key) == "string" and key:match("^[%a][%w_]*$") ~= nil
end

local names_of      -- value -> list of qualified names
local value_of      -- qualified name -> value
local public_list   -- every public name

local function add_name(value, name)
    local list = names_of[value]
    if not list then
        list = {}
        names_of[value] = list
    end
    list[#list + 1] = name
    value_of[name] = value
    public_list[#public_list + 1] = name
end

local method_tables  -- the methods tables of method_classes: not walked

-- Walks a table of the library, naming every function and table in it.
local function walk(t, prefix, depth, seen)
    if seen[t] or depth > MAX_DEPTH then return end
    seen[t] = true
    local keys = {}
    for key in pairs(t) do
        if is_public_key(key) then keys[#keys + 1] = key end
    end
    table.sort(keys)
    for _, key in ipairs(keys) do
        local value = rawget(t, key)
        local name = prefix .. "." .. key
        local kind = type(value)
        if kind == "function" then
            add_name(value, name)
        elseif kind == "table" and value ~= dl and value ~= _G then
            if not seen[value] then
                add_name(value, name)
                -- a class (a layer, Module, Optimizer): its methods are named
                -- through method_classes, not as fields
                if rawget(value, "__index") == nil and rawget(value, "_is_module_class") == nil and
                    not method_tables[value] then
                    walk(value, name, depth + 1, seen)
                end
            end
        end
    end
end

local function build_map()
    if names_of then return end
    names_of, value_of, public_list, method_tables = {}, {}, {}, {}
    local classes = method_classes()
    for _, class in ipairs(classes) do
        if type(class[2]) == "table" then method_tables[class[2]] = true end
    end
    local seen = {}
    local roots = {{"dl", dl}, {"nn", dl.nn}, {"optim", dl.optim}}
    for _, root in ipairs(roots) do seen[root[2] or {}] = true end
    for _, root in ipairs(roots) do
        if type(root[2]) == "table" then
            add_name(root[2], root[1])
            seen[root[2]] = nil
            walk(root[2], root[1], 1, seen)
        end
    end
    for _, class in ipairs(classes) do
        local name, methods = class[1], class[2]
        if type(methods) == "table" then
            local keys = {}
            for key, value in pairs(methods) do
                if is_public_key(key) and type(value) == "function" then keys[#keys + 1] = key end
            end
            table.sort(keys)
            for _, key in ipairs(keys) do add_name(methods[key], name .. ":" .. key) end
        end
    end
    table.sort(public_list)
end

--- help.public_names() -> sorted list of every public name: what is
--- reachable from dl, nn and optim, and the methods of tensors, modules,
--- datasets and optimisers.
function help.public_names()
    build_map()
    local copy = {}
    for i, name in ipairs(public_list) do copy[i] = name end
    return copy
end

--- help.name_of(value) -> the qualified name of a library value (the one
--- with a help entry when it has several: dl.sum is also Tensor:sum), or nil.
local function name_of(value)
    build_map()
    load_entries()
    local names = names_of[value]
    if not names then return nil end
    for _, name in ipairs(names) do
        if by_name[name] then return name end
    end
    return names[1]
end

help.name_of = name_of

--- help.documented(name) -> whether `name` has a help entry, its own or
--- that of another name of the same value (dl.sum is documented as
--- Tensor:sum, nn.functional.bce as nn.bce): what help(value) shows.
function help.documented(name)
    build_map()
    load_entries()
    if help.entry(name) then return true end
    local value = value_of[name]
    return value ~= nil and by_name[name_of(value)] ~= nil
end

local function edit_distance(a, b)
    a, b = a:lower(), b:lower()
    local previous = {}
    for j = 0, #b do previous[j] = j end
    for i = 1, #a do
        local current = {[0] = i}
        for j = 1, #b do
            local cost = a:byte(i) == b:byte(j) and 0 or 1
            current[j] = math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        end
        previous = current
    end
    return previous[#b]
end

--- help.suggest(name) -> up to 5 known names close to `name`: the whole
--- name or its last part within a third of its length in edits.
function help.suggest(name)
    build_map()
    load_entries()
    local candidates, seen = {}, {}
    local function consider(known)
        if seen[known] then return end
        seen[known] = true
        local tail = known:match("[%.:]([^%.:]+)$") or known
        local wanted = name:match("[%.:]([^%.:]+)$") or name
        local d = math.min(edit_distance(name, known), edit_distance(wanted, tail) + 0.5)
        if d <= math.max(2, #wanted // 3) then candidates[#candidates + 1] = {known, d} end
    end
    for _, e in ipairs(entry_list) do consider(e.name) end
    for _, known in ipairs(public_list) do consider(known) end
    table.sort(candidates, function(x, y)
        if x[2] ~= y[2] then return x[2] < y[2] end
        return x[1] < y[1]
    end)
    local result = {}
    for i = 1, math.min(SUGGESTIONS, #candidates) do result[i] = candidates[i][1] end
    return result
end

local function entry_text(e)
    local lines = {e.name}
    if e.signature ~= "" then lines[2] = (e.signature:gsub("`", "")) end
    if e.text ~= "" then lines[#lines + 1] = "" lines[#lines + 1] = e.text end
    if e.example ~= "" then
        lines[#lines + 1] = ""
        lines[#lines + 1] = "Example:"
        lines[#lines + 1] = "    " .. e.example:gsub("\n", "\n    ")
    end
    return table.concat(lines, "\n")
end

local function say_unknown(what)
    local text = ("no help for '%s'"):format(what)
    local near = help.suggest(what)
    if #near > 0 then text = text .. "; did you mean " .. table.concat(near, ", ") .. "?" end
    print(text)
end

-- Entries whose names start with `prefix` (a module's topic page).
local function list_prefix(prefix)
    load_entries()
    local lines = {}
    for _, e in ipairs(entry_list) do
        if e.name:sub(1, #prefix + 1) == prefix .. "." or e.name:sub(1, #prefix + 1) == prefix .. ":" then
            lines[#lines + 1] = ("  %-30s %s"):format(e.name, (e.text:match("^[^\n]*") or ""):sub(1, 60))
        end
    end
    return lines
end

local function show_entry_or_topic(name)
    load_entries()
    local e = help.entry(name)
    if e then
        print(entry_text(e))
        return true
    end
    local listed = list_prefix(name)
    if #listed > 0 then
        print(name .. " -- " .. #listed .. " entries (help(name) shows one):")
        print(table.concat(listed, "\n"))
        return true
    end
    return false
end

local function topics()
    load_entries()
    local areas, order = {}, {}
    for _, e in ipairs(entry_list) do
        local area = e.file:match("([^/]+)%.md$") or e.file
        if not areas[area] then
            areas[area] = {}
            order[#order + 1] = area
        end
        local list = areas[area]
        list[#list + 1] = e.name
    end
    local lines = {"Help topics (help(x) or ?x for one; help \"word\" searches; apropos(\"word\") lists names):"}
    for _, area in ipairs(order) do
        local names = areas[area]
        local shown = {}
        for i = 1, math.min(6, #names) do shown[i] = names[i] end
        lines[#lines + 1] = ("  %-10s %3d entries: %s%s"):format(area, #names, table.concat(shown, ", "),
            #names > 6 and ", ..." or "")
    end
    if #order == 0 then lines[#lines + 1] = "  (no reference pages were built in)" end
    lines[#lines + 1] = "Prompt commands: :help lists them."
    print(table.concat(lines, "\n"))
end

-- Entries whose name, signature or text mention `word`.
local function search(word)
    load_entries()
    local needle = word:lower()
    local found = {}
    for _, e in ipairs(entry_list) do
        if (e.name .. "\n" .. e.signature .. "\n" .. e.text):lower():find(needle, 1, true) then
            found[#found + 1] = ("  %-30s %s"):format(e.name, (e.text:match("^[^\n]*") or ""):sub(1, 60))
        end
    end
    if #found == 0 then
        say_unknown(word)
    else
        print(("%d entr%s mention '%s':"):format(#found, #found == 1 and "y" or "ies", word))
        print(table.concat(found, "\n"))
    end
end

-- The entry or topic of an instance: its layer (nn.Linear) or optimiser
-- (optim.SGD), else the kind whose methods it has (Tensor, Dataset, ...).
local function module_class_name(value)
    if dl.is_tensor(value) then
        return help.entry("dl.Tensor") and "dl.Tensor" or "Tensor"
    end
    local mt = getmetatable(value)
    if type(mt) ~= "table" then return nil end
    local class_name = rawget(mt, "__name")
    if rawget(mt, "_is_module_class") and type(class_name) == "string" then
        return help.entry("nn." .. class_name) and "nn." .. class_name or "Module"
    end
    if dl.optim and mt == dl.optim.Optimizer then
        local kind = type(value) == "table" and rawget(value, "name")
        return type(kind) == "string" and help.entry("optim." .. kind) and "optim." .. kind or "Optimizer"
    end
    if class_name == "dl.Dataset" then return "Dataset" end
    return nil
end

--- help.help(x): prints the entry of a function, method, module or layer;
--- help() lists the topics; help "word" shows the entry named so, else the
--- entries whose text mentions the word.
function help.help(...)
    if select("#", ...) == 0 then return topics() end
    local x = ...
    if type(x) == "string" then
        if not show_entry_or_topic(x) then search(x) end
        return
    end
    local name = name_of(x) or module_class_name(x)
    if name and show_entry_or_topic(name) then return end
    if name then
        print(("%s has no help entry yet"):format(name))
    else
        print(("no help for this %s (help() lists the topics)"):format(type(x)))
    end
end

-- The value a name as typed refers to ("dl.zeros", "x:sum"), or nil.
-- Only plain field reads: the name is not run as code.
local function resolve(text)
    local value = _G
    local method
    for separator, part in ("." .. text):gmatch("([%.:])([^%.:]+)") do
        if method or type(value) ~= "table" and not dl.is_tensor(value) then return nil end
        if separator == ":" then
            method = part
        else
            local ok, v = pcall(function() return value[part] end)
            if not ok then return nil end
            value = v
        end
    end
    if method then
        local ok, v = pcall(function() return value[method] end)
        return ok and v or nil
    end
    return value
end

--- help.show_name(text): ?text at the prompt; `?` alone lists the topics.
function help.show_name(text)
    text = text:gsub("%s+$", ""):gsub("%(%)$", "")
    if text == "" then return topics() end
    load_entries()
    if show_entry_or_topic(text) then return end
    if text:match("^[%a_][%w_]*[%w_%.:]*$") then
        local value = resolve(text)
        if value ~= nil and type(value) ~= "string" then
            local name = name_of(value) or module_class_name(value)
            if name and show_entry_or_topic(name) then return end
            -- x:sum on a tensor: the method's entry
            local method = text:match(":([%w_]+)$")
            if method and show_entry_or_topic("Tensor:" .. method) then return end
            if name then
                print(("%s has no help entry yet"):format(name))
                return
            end
        end
    end
    say_unknown(text)
end

--- help.apropos(word): prints the public names and entries containing
--- `word` (case-insensitive), one per line with their signatures.
function help.apropos(word)
    if type(word) ~= "string" then
        error(("bad argument #1 to 'apropos' (expected a word, got %s)"):format(type(word)), 2)
    end
    build_map()
    load_entries()
    local needle, seen, found = word:lower(), {}, {}
    local function consider(name)
        if not seen[name] and name:lower():find(needle, 1, true) then
            seen[name] = true
            found[#found + 1] = name
        end
    end
    for _, e in ipairs(entry_list) do consider(e.name) end
    for _, name in ipairs(public_list) do consider(name) end
    table.sort(found)
    if #found == 0 then
        say_unknown(word)
        return
    end
    local lines = {}
    for _, name in ipairs(found) do
        local e = help.entry(name)
        lines[#lines + 1] = e and e.signature ~= "" and ("%-28s %s"):format(name, e.signature:gsub("`", "")) or name
    end
    print(table.concat(lines, "\n"))
end

return help
