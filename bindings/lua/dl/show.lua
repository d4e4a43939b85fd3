-- show.lua -- values as the prompt prints them.
--
--   show.line(...)   -> the text of one result line (values joined by tabs)
--   show.value(v)    -> the text of one value
--   show.number(x)   -> a number without float noise
--
-- Tensors, modules, datasets and optimisers print through their own
-- __tostring (a module prints as its architecture, PyTorch's layout).
-- Plain tables print as Lua source, on one line when it fits in WIDTH
-- columns, else one entry per line, indented; depth, entries per table
-- and cycles are limited so that printing never floods the screen.
-- Recognised shapes get compact printers: a training history (named
-- series of numbers) as a table of epochs; a parameter list (tensors, or
-- {name, tensor} pairs as named_parameters() gives) as one line each.
local dl = require "dl"
-- The globals used here, kept: a user's `load = nil` or `table = 1` at the
-- prompt must not break the prompt itself.
local getmetatable, ipairs, load, math, next, pairs, pcall, select, string, table, tonumber,
      tostring, type = getmetatable, ipairs, load, math, next, pairs, pcall, select, string,
      table, tonumber, tostring, type

local show = {}

local WIDTH = 80         -- columns a one-line table may take
local MAX_DEPTH = 3      -- nested tables shown; deeper ones as {...}
local MAX_ENTRIES = 20   -- entries per table; the rest counted
local HISTORY_ROWS = 10  -- epochs of a history shown (first and last halves)

--- show.number(x) -> text: integers as they are; a float that is exactly
--- a float32 (a tensor's item()) with the fewest digits that give it back
--- (0.1, not 0.10000000149012); other floats as Lua prints them.
function show.number(x)
    if math.type(x) ~= "float" or x ~= x or x == math.huge or x == -math.huge then
        return tostring(x)
    end
    local text = ("%.14g"):format(x)
    local ok, packed = pcall(string.pack, "f", x)
    if ok and string.unpack("f", packed) == x then
        for digits = 1, 9 do
            local shorter = ("%." .. digits .. "g"):format(x)
            if string.unpack("f", string.pack("f", tonumber(shorter))) == x then
                -- %g goes to an exponent once it has fewer digits than the
                -- integer part (10 -> 1e+01): write such a number out
                local exponent = x ~= 0 and math.floor(math.log(math.abs(x), 10)) or 0
                if shorter:find("e") and exponent >= -4 and exponent < 16 then
                    shorter = ("%." .. math.max(0, digits - 1 - exponent) .. "f"):format(x)
                end
                text = shorter
                break
            end
        end
    end
    if not text:find("[.eEna]") then text = text .. ".0" end   -- as Lua shows 3.0
    return text
end

local function is_identifier(s)
    return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil and
        load("local " .. s) ~= nil   -- keywords are not
end

local function quote(s)
    return ("%q"):format(s):gsub("\\\n", "\\n")
end

local function shape_text(t)
    local dims = t:shape()
    if #dims == 0 then return "scalar" end
    return table.concat(dims, "x")
end

-- A tensor inside a table: its values when few, else its shape.
local function tensor_brief(t)
    local dims = t:shape()
    local grad = t:requires_grad() and ", requires_grad" or ""
    if #dims == 0 then return ("tensor(%s%s)"):format(show.number(t:item()), grad) end
    if #dims == 1 and dims[1] <= 6 then
        local values = {}
        for i = 1, dims[1] do values[i] = show.number(t[i]:item()) end
        return ("tensor{%s%s}"):format(table.concat(values, ", "), grad)
    end
    return ("tensor(%s%s)"):format(shape_text(t), grad)
end

-- The first line of a value's own text, "..." marking what was cut.
local function first_line(text)
    local line = text:match("^[^\n]*")
    if #line < #text then line = line .. " ..." end
    return line
end

local function sorted_keys(t)
    local list, names = {}, {}
    local n = #t
    for key in pairs(t) do
        if not (math.type(key) == "integer" and key >= 1 and key <= n) then
            names[#names + 1] = key
        end
    end
    table.sort(names, function(a, b)
        local ta, tb = type(a), type(b)
        if ta ~= tb then return ta < tb end
        if ta == "string" or ta == "number" then return a < b end
        return tostring(a) < tostring(b)
    end)
    for i = 1, n do list[i] = i end
    for _, key in ipairs(names) do list[#list + 1] = key end
    return list, n
end

local function is_plain_table(v)
    return type(v) == "table" and getmetatable(v) == nil
end

-- A history: string keys only, each a list of numbers, at least one series.
local function is_history(t)
    local series = 0
    for key, value in pairs(t) do
        if type(key) ~= "string" or not is_plain_table(value) then return false end
        for k, x in pairs(value) do
            if math.type(k) ~= "integer" or type(x) ~= "number" then return false end
        end
        if #value == 0 and next(value) ~= nil then return false end
        series = series + 1
    end
    return series > 0
end

local function history_text(t)
    local names, epochs = {}, 0
    for name, values in pairs(t) do
        names[#names + 1] = name
        epochs = math.max(epochs, #values)
    end
    table.sort(names, function(a, b)
        local va, vb = a:match("^val_") ~= nil, b:match("^val_") ~= nil
        if va ~= vb then return vb end
        if (a == "loss") ~= (b == "loss") then return a == "loss" end
        return a < b
    end)
    local widths, header = {}, {("%5s"):format("epoch")}
    for i, name in ipairs(names) do
        widths[i] = math.max(#name, 8)
        header[#header + 1] = ("%" .. widths[i] .. "s"):format(name)
    end
    local lines = {table.concat(header, "  ")}
    local function row(e)
        local cells = {("%5d"):format(e)}
        for i, name in ipairs(names) do
            local x = t[name][e]
            cells[#cells + 1] = ("%" .. widths[i] .. "s"):format(x and ("%.4g"):format(x) or "")
        end
        lines[#lines + 1] = (table.concat(cells, "  "):gsub("%s+$", ""))
    end
    local half = HISTORY_ROWS // 2
    for e = 1, epochs do
        if epochs <= HISTORY_ROWS or e <= half or e > epochs - half then
            row(e)
        elseif e == half + 1 then
            lines[#lines + 1] = ("  ... (%d epochs not shown)"):format(epochs - HISTORY_ROWS)
        end
    end
    if epochs == 0 then lines[#lines + 1] = "  (no epochs yet)" end
    return table.concat(lines, "\n")
end

-- A parameter list: tensors, or {name, tensor} pairs.
local function parameter_kind(t)
    local n = #t
    if n == 0 then return nil end
    for key in pairs(t) do
        if not (math.type(key) == "integer" and key >= 1 and key <= n) then return nil end
    end
    local pairs_seen, tensors_seen = 0, 0
    for i = 1, n do
        local v = t[i]
        if dl.is_tensor(v) then
            tensors_seen = tensors_seen + 1
        elseif is_plain_table(v) and #v == 2 and type(v[1]) == "string" and dl.is_tensor(v[2]) then
            pairs_seen = pairs_seen + 1
        else
            return nil
        end
    end
    if tensors_seen == n then return "tensors" end
    if pairs_seen == n then return "named" end
    return nil
end

local function parameters_text(t, kind)
    local lines, total = {}, 0
    local name_width = 0
    if kind == "named" then
        for _, pair in ipairs(t) do name_width = math.max(name_width, #pair[1]) end
    end
    local shown = math.min(#t, MAX_ENTRIES)
    for i = 1, shown do
        local name, tensor
        if kind == "named" then name, tensor = t[i][1], t[i][2] else name, tensor = "[" .. i .. "]", t[i] end
        local dims = tensor:shape()
        lines[#lines + 1] = ("  %-" .. math.max(name_width, #name) .. "s  (%s)%s"):format(
            name, table.concat(dims, ", "), tensor:requires_grad() and "" or "  no grad")
    end
    for _, v in ipairs(t) do total = total + (kind == "named" and v[2] or v):numel() end
    if #t > shown then lines[#lines + 1] = ("  ... (%d more)"):format(#t - shown) end
    local head = ("%d %s, %d values"):format(#t, #t == 1 and "parameter tensor" or "parameter tensors", total)
    if kind == "named" then head = head .. " ({name, tensor} pairs)" end
    return head .. "\n" .. table.concat(lines, "\n")
end

local render

-- Text of a value that sits inside a table (one line).
local function inner(v, depth, seen)
    local kind = type(v)
    if kind == "string" then return quote(v) end
    if kind == "number" then return show.number(v) end
    if kind == "table" and getmetatable(v) == nil then return render(v, depth, seen, "") end
    if dl.is_tensor(v) then return tensor_brief(v) end
    if kind == "function" then return "<function>" end   -- a callback's hooks, say
    local ok, text = pcall(tostring, v)
    return ok and first_line(text) or "<" .. kind .. ">"
end

-- Text of a plain table, at nesting `depth`, `indent` before its lines.
function render(t, depth, seen, indent)
    if seen[t] then return "{<cycle>}" end
    if depth > MAX_DEPTH then return next(t) == nil and "{}" or "{...}" end
    seen[t] = true
    local keys, n = sorted_keys(t)
    local items = {}
    for i, key in ipairs(keys) do
        if i > MAX_ENTRIES then
            items[#items + 1] = ("... (%d more)"):format(#keys - MAX_ENTRIES)
            break
        end
        local value = t[key]
        local shown = inner(value, depth + 1, seen)
        if math.type(key) == "integer" and key <= n then
            items[#items + 1] = shown
        elseif is_identifier(key) then
            items[#items + 1] = key .. "=" .. shown
        else
            items[#items + 1] = "[" .. inner(key, depth + 1, seen) .. "]=" .. shown
        end
    end
    seen[t] = nil
    local one_line = "{" .. table.concat(items, ", ") .. "}"
    if #one_line + #indent <= WIDTH and not one_line:find("\n") then return one_line end
    -- one entry per line, nested tables indented under their key; runs of
    -- short list items share lines up to WIDTH
    local entries = {}
    seen[t] = true
    for i, key in ipairs(keys) do
        if i > MAX_ENTRIES then
            entries[#entries + 1] = {("... (%d more)"):format(#keys - MAX_ENTRIES), false}
            break
        end
        local value = t[key]
        local deeper = indent .. "  "
        local shown = is_plain_table(value) and render(value, depth + 1, seen, deeper)
            or inner(value, depth + 1, seen)
        local is_item = math.type(key) == "integer" and key <= n
        local prefix = ""
        if not is_item then
            prefix = (is_identifier(key) and key or "[" .. inner(key, depth + 1, seen) .. "]") .. " = "
        end
        entries[#entries + 1] = {prefix .. shown, is_item and not shown:find("\n")}
    end
    seen[t] = nil
    local lines, deeper, current = {"{"}, indent .. "  ", nil
    for i, e in ipairs(entries) do
        local text = e[1] .. (i < #entries and "," or "")
        if e[2] and current and #current + 1 + #text <= WIDTH then
            current = current .. " " .. text
        else
            if current then lines[#lines + 1] = current end
            current = deeper .. text
        end
        if not e[2] then
            lines[#lines + 1] = current
            current = nil
        end
    end
    if current then lines[#lines + 1] = current end
    lines[#lines + 1] = indent .. "}"
    return table.concat(lines, "\n")
end

-- tostring(v), except that a __tostring returning a number shows the
-- number and one returning another non-string says so (tostring raises
-- "'__tostring' must return a string" there).
local function text_of(v)
    local mt = getmetatable(v)
    local metamethod = type(mt) == "table" and rawget(mt, "__tostring")
    if not metamethod then return tostring(v) end
    local text = metamethod(v)
    if type(text) == "string" or type(text) == "number" then return tostring(text) end
    return ("%s: %s (its __tostring returned a %s)"):format(type(v), ("%p"):format(v), type(text))
end

--- show.value(v) -> the text the prompt prints for one value.
function show.value(v)
    local kind = type(v)
    if kind == "number" then return show.number(v) end
    if kind == "table" and getmetatable(v) == nil then
        if is_history(v) then return history_text(v) end
        local params = parameter_kind(v)
        if params then return parameters_text(v, params) end
        return render(v, 1, {}, "")
    end
    return text_of(v)
end

-- A scalar tensor among several values: one short word, not two lines.
local function value_in_line(v)
    if dl.is_tensor(v) and #v:shape() == 0 then return tensor_brief(v) end
    return show.value(v)
end

--- show.line(...) -> the text of a result line: each value as show.value
--- gives it, tab-separated; several values keep scalar tensors to one word.
function show.line(...)
    local n = select("#", ...)
    if n == 1 then return show.value((...)) end
    local parts = {}
    for i = 1, n do parts[i] = value_in_line((select(i, ...))) end
    return table.concat(parts, "\t")
end

return show
