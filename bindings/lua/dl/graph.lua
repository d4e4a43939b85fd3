-- graph.lua -- dl.graph(t, {names=, dot=}): the autodiff graph behind t,
-- as an indented tree and as Graphviz dot.
--
-- A node is a tensor: an operation's result (named by the operation,
-- t:grad_fn()), a leaf that requires grad (a parameter), or a constant (an
-- input that does not). Edges go from an operation's inputs to its result.
-- A result used twice is drawn once in dot; in the tree its second
-- appearance says "(shown above)".
local dl = require "dl"
local raise = require("dl.errors").raise
local node_of = require("dl.autograd_graph").node
local Module = require("dl.module").Module

local graph = {}

local function argerror(n, fmt, ...)
    raise(("bad argument #%d to 'graph' (" .. fmt .. ")"):format(n, ...))
end

local function typename(v)
    return dl.is_tensor(v) and "a tensor" or type(v)
end

local function shape_text(shape)
    return "(" .. table.concat(shape, ", ") .. ")"
end

-- {tensor id = name} from the option `names`: a table of name = tensor,
-- or a module (its named parameters).
local function name_table(names)
    local out = {}
    if names == nil then return out end
    if Module.is_module(names) then
        for _, pair in ipairs(names:named_parameters()) do
            out[node_of(pair[2])] = pair[1]
        end
        return out
    end
    if type(names) ~= "table" then
        argerror(2, "expected option 'names' to be a table of name = tensor or a module, "
                 .. "got %s", typename(names))
    end
    local keys = {}
    for key in pairs(names) do keys[#keys + 1] = key end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, key in ipairs(keys) do
        local t = names[key]
        if not dl.is_tensor(t) then
            argerror(2, "expected option 'names' to map names to tensors, got %s at '%s'",
                     typename(t), tostring(key))
        end
        out[node_of(t)] = out[node_of(t)] or tostring(key)
    end
    return out
end

-- The nodes reachable from t (t first, then depth first) and the edges.
local function collect(t, names)
    local nodes, edges, by_id = {}, {}, {}
    local function visit(x)
        local id, op, inputs, freed = node_of(x)
        if by_id[id] then return by_id[id] end
        local node = {index = #nodes + 1, op = op, shape = x:shape(), name = names[id],
                      requires_grad = x:requires_grad(), leaf = op == nil, freed = freed,
                      inputs = {}}
        nodes[node.index], by_id[id] = node, node
        for i, input in ipairs(inputs) do
            local child = visit(input)
            node.inputs[i] = child
            edges[#edges + 1] = {from = child.index, to = node.index}
        end
        return node
    end
    visit(t)
    return nodes, edges
end

-- One line of the tree for `node`.
local function label(node)
    local shape = #node.shape == 0 and "scalar" or shape_text(node.shape)
    if node.freed then
        return ("%s %s (graph freed by backward)"):format(node.name or "tensor", shape)
    end
    if not node.leaf then
        return (node.name and node.name .. " = " or "") .. node.op .. " " .. shape
    end
    return ("%s %s%s"):format(node.name or (node.requires_grad and "leaf" or "constant"),
                              shape, node.requires_grad and " requires grad" or "")
end

local MAX_TREE_DEPTH = 40      -- levels printed; a long chain would make huge lines

local function tree_text(root)
    local lines, shown = {}, {}
    local function walk(node, prefix, branch, rest, depth)
        if depth > MAX_TREE_DEPTH then
            lines[#lines + 1] = prefix .. branch .. "... (deeper levels not shown: the graph's "
                                .. "nodes and dot have them)"
            return
        end
        local repeated = shown[node] and not node.leaf
        lines[#lines + 1] = prefix .. branch .. label(node) .. (repeated and " (shown above)" or "")
        if repeated then return end
        shown[node] = true
        for i, child in ipairs(node.inputs) do
            local last = i == #node.inputs
            walk(child, prefix .. rest, last and "└─ " or "├─ ", last and "   " or "│  ",
                 depth + 1)
        end
    end
    walk(root, "", "", "", 1)
    return table.concat(lines, "\n")
end

-- A dot string literal: backslashes, quotes and line ends escaped.
local function dot_quote(s)
    return '"' .. tostring(s):gsub('[\\"]', "\\%0"):gsub("\r?\n", "\\n") .. '"'
end

local function dot_text(nodes, edges)
    local lines = {"digraph autograd {", '    node [fontname="monospace"];'}
    for _, node in ipairs(nodes) do
        local text = label(node):gsub(" requires grad$", "\nrequires grad")
        local style = node.leaf and (node.requires_grad
                                     and ', shape=ellipse, style=filled, fillcolor="lightblue"'
                                     or ", shape=ellipse")
                      or ", shape=box"
        lines[#lines + 1] = ("    n%d [label=%s%s];"):format(node.index, dot_quote(text), style)
    end
    for _, e in ipairs(edges) do
        lines[#lines + 1] = ("    n%d -> n%d;"):format(e.from, e.to)
    end
    lines[#lines + 1] = "}"
    return table.concat(lines, "\n") .. "\n"
end

-- Writes text to path through a temporary file, renamed at the end.
local function write_file(path, text)
    local tmp = path .. ".tmp"
    local f, err = io.open(tmp, "w")
    if not f then raise("graph: cannot write " .. path .. " (" .. err .. ")") end
    f:write(text)
    f:close()
    local ok, rename_err = os.rename(tmp, path)
    if not ok then
        os.remove(tmp)
        raise("graph: cannot write " .. path .. " (" .. rename_err .. ")")
    end
end

local Graph = {__name = "autograd graph"}
Graph.__index = Graph
Graph.__tostring = function(g) return g.text end

--- dl.graph(t, {names=, dot=path}) -> graph: the operations that made t,
--- back to its leaves. graph prints as an indented tree (t first); it
--- has nodes (a list, t first: {op=, shape=, name=, leaf=,
--- requires_grad=}), edges ({from=, to=} indices into nodes, input to
--- result), text (the tree) and dot (Graphviz source). names labels
--- tensors: a table of name = tensor, or a module (its parameters). dot
--- writes the Graphviz source to path. Errors: t not a tensor, bad options.
function graph.graph(t, o)
    if not dl.is_tensor(t) then argerror(1, "expected a tensor, got %s", typename(t)) end
    if o ~= nil and type(o) ~= "table" then
        argerror(2, "expected an options table, got %s", typename(o))
    end
    o = o or {}
    for key in pairs(o) do
        if key ~= "names" and key ~= "dot" then
            argerror(2, "unknown option '%s'", tostring(key))
        end
    end
    if o.dot ~= nil and type(o.dot) ~= "string" then
        argerror(2, "expected option 'dot' to be a file path, got %s", typename(o.dot))
    end
    local nodes, edges = collect(t, name_table(o.names))
    local g = setmetatable({nodes = nodes, edges = edges, text = tree_text(nodes[1]),
                            dot = dot_text(nodes, edges)}, Graph)
    for _, node in ipairs(nodes) do node.inputs, node.index, node.freed = nil, nil, nil end
    if o.dot then write_file(o.dot, g.dot) end
    return g
end

return graph
