-- optim_util.lua -- small value helpers shared by dl.optim and
-- dl.schedulers: how a value reads in a message, finiteness, copies of
-- option values, the list of known names.
local util = {}

--- util.show(v): v as messages write it ("nan" for NaN).
function util.show(value)
    if type(value) == "number" and value ~= value then return "nan" end
    return tostring(value)
end

--- util.is_finite(v): v is a number, neither NaN nor infinite.
function util.is_finite(v)
    return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge
end

--- util.sorted_names(t): the keys of t, sorted, joined by ", ".
function util.sorted_names(specs)
    local names = {}
    for name in pairs(specs) do names[#names + 1] = name end
    table.sort(names)
    return table.concat(names, ", ")
end

--- util.copy_value(v): v, or a copy of the list v (betas, milestones).
function util.copy_value(value)
    if type(value) ~= "table" then return value end
    local copy = {}
    for i, v in ipairs(value) do copy[i] = v end
    return copy
end

return util
