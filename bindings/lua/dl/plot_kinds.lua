-- plot_kinds.lua -- the figures of dl.plot, as gnuplot commands.
--
-- Each kind checks its arguments and returns a figure:
--     { data = datablocks (text), script = function(text_mode) -> commands,
--       key = what identifies a redraw of the same figure (or nil),
--       size = {width, height} in pixels, for windows, images and files,
--       text_rows, text_cols = the size as text (else 20 x 80),
--       note = a line to show below the figure (or nil) }
-- `script` is asked again for each place the figure goes: drawn as text
-- (gnuplot's dumb terminal) an image becomes characters and a heatmap
-- its numbers. Argument errors follow the bindings' wording:
--     bad argument #1 to 'lines' (expected a table of numbers or a tensor, got string)

local gp = require "dl.gnuplot"
local guard = require "dl.plot_guard"
local raise = require("dl.errors").raise
local dl = gp.dl

local K = {}

local SERIES = "a table of numbers or a tensor"
local LINE_POINTS = 8000        -- longer series are reduced to...
local LINE_COLUMNS = 2000       -- ... the points of this many pixel columns
local SCATTER_POINTS = 20000    -- more points are reduced to one a cell and class of...
local SCATTER_GRID = {200, 150} -- ... this grid (a point is ~5 px wide)
local IMAGE_SIDE = 512          -- larger images are averaged down to this, and as
local TEXT_IMAGE = {120, 60}    -- text to this many characters at most
local MAX_CLASSES = 100
local MAX_IMAGES = 256
local SHADES = " .:-=+*#%@"     -- an image drawn as text, dark to bright
-- As text, a legend inside the frame is drawn over by the data: it goes
-- right of the frame.
local TEXT_KEY = "set key outside right top\n"

-- ---- arguments -------------------------------------------------------------

-- True for a tensor that can be read (not closed).
local function is_tensor(v)
    return dl.is_tensor(v) and (pcall(v.numel, v))
end

-- The type of v as messages name it.
function K.typename(v)
    if dl.is_tensor(v) then return is_tensor(v) and "a tensor" or "a closed tensor" end
    return type(v)
end

-- Raises "bad argument #arg to 'fn' (<message>)".
function K.argerror(fn, arg, fmt, ...)
    raise(("bad argument #%d to '%s' (%s)"):format(arg, fn, fmt:format(...)))
end

-- The options table at argument `arg` (an empty one for nil); raises on a
-- non-table or on a key not in `known`.
function K.options(o, fn, arg, known)
    if o == nil then return {} end
    if type(o) ~= "table" then
        K.argerror(fn, arg, "expected an options table, got %s", K.typename(o))
    end
    for key in pairs(o) do
        local ok = false
        for _, name in ipairs(known) do ok = ok or key == name end
        if not ok then
            K.argerror(fn, arg, "unknown option '%s'", tostring(key))
        end
    end
    return o
end

-- A gnuplot string literal (single quotes: nothing is interpreted, not
-- even backquotes; control characters, which would end the line, become
-- spaces).
function K.quote(s)
    return "'" .. tostring(s):gsub("%c", " "):gsub("'", "''") .. "'"
end

-- Raises "bad argument #arg to 'fn' (expected option 'key' to be <what>,
-- got <reason>)" when check(value) gives a reason; returns the value.
local function checked(check, value, fn, arg, key, what)
    local reason = check(value)
    if reason then
        K.argerror(fn, arg, "expected option '%s' to be %s, got %s", key, what, reason)
    end
    return value
end

local num = gp.number

-- A Lua table of rows as a tensor, its errors told as `fn`'s.
local function to_tensor(v, fn, arg)
    local ok, t = pcall(dl.tensor, v)
    if not ok then
        K.argerror(fn, arg, "%s", tostring(t):match("%((.*)%)$") or tostring(t))
    end
    return t
end

local function is_series(v)
    return is_tensor(v) or type(v) == "table"
end

local function is_value(v)
    return type(v) == "number" or (is_tensor(v) and v:numel() == 1)
end

local function length(v)
    return is_tensor(v) and v:numel() or #v
end

local function check_series(v, fn, arg)
    if not is_series(v) then
        K.argerror(fn, arg, "expected %s, got %s", SERIES, K.typename(v))
    end
    return v
end

-- The datablock `name` of `columns` (see gnuplot.datablock); `where[c]`
-- = {arg, label} names column c's argument in errors.
local function datablock(name, columns, fn, where)
    local text, col, row, got = gp.datablock(name, columns)
    if not text then
        local w = where[col]
        K.argerror(fn, w[1], "expected %s, got %s at %s[%d]", SERIES, got, w[2] or "", row)
    end
    return text
end

-- A series as a Lua list of numbers (class labels, predictions).
local function numbers(v, fn, arg)
    check_series(v, fn, arg)
    if is_tensor(v) then return v:reshape(-1):totable() end
    local out = {}
    for i = 1, #v do
        if not is_value(v[i]) then
            K.argerror(fn, arg, "expected %s, got %s at [%d]", SERIES, K.typename(v[i]), i)
        end
        out[i] = type(v[i]) == "number" and v[i] or v[i]:item()
    end
    return out
end

-- Commands for the options every kind shares.
local function axes(o, fn, arg)
    local c = {}
    if o.title then c[#c + 1] = "set title " .. K.quote(o.title) end
    if o.xlabel then c[#c + 1] = "set xlabel " .. K.quote(o.xlabel) end
    if o.ylabel then c[#c + 1] = "set ylabel " .. K.quote(o.ylabel) end
    if o.logscale == true then
        c[#c + 1] = "set logscale y"
    elseif type(o.logscale) == "string" then
        c[#c + 1] = "set logscale " .. checked(guard.axes, o.logscale, fn, arg, "logscale",
                                               "axes such as 'xy'")
    elseif o.logscale ~= nil and o.logscale ~= false then
        K.argerror(fn, arg, "expected option 'logscale' to be true or axes such as 'xy', "
                   .. "got %s", K.typename(o.logscale))
    end
    for _, axis in ipairs{"xrange", "yrange"} do
        local r = o[axis]
        if r ~= nil then
            if type(r) ~= "table" or (r[1] ~= nil and type(r[1]) ~= "number")
                or (r[2] ~= nil and type(r[2]) ~= "number") then
                K.argerror(fn, arg, "expected option '%s' to be {min, max} (nil for "
                           .. "automatic), got %s", axis, K.typename(r))
            end
            c[#c + 1] = ("set %s [%s:%s]"):format(axis, r[1] and num(r[1]) or "*",
                                                  r[2] and num(r[2]) or "*")
        end
    end
    local extra = o.set
    if type(extra) == "string" then extra = {extra} end
    if extra ~= nil and type(extra) ~= "table" then
        K.argerror(fn, arg, "expected option 'set' to be gnuplot settings (a string or a "
                   .. "list of strings), got %s", K.typename(extra))
    end
    for _, s in ipairs(extra or {}) do
        c[#c + 1] = "set " .. checked(guard.setting, tostring(s), fn, arg, "set",
                                      "gnuplot settings")
    end
    return table.concat(c, "\n") .. "\n"
end

local AXES = {"title", "xlabel", "ylabel", "logscale", "xrange", "yrange", "set"}

local function with_axes(extra)
    local all = {}
    for _, k in ipairs(AXES) do all[#all + 1] = k end
    for _, k in ipairs(extra) do all[#all + 1] = k end
    return all
end

-- One `plot` command: each term is {column, title or false, style}.
local function plot_command(block, terms)
    local parts = {}
    for i, t in ipairs(terms) do
        parts[i] = ("%s using 1:%d with %s %s"):format(i == 1 and block or "''", t[1], t[3],
                                                       t[2] and "title " .. K.quote(t[2])
                                                       or "notitle")
    end
    return "plot " .. table.concat(parts, ", ") .. "\n"
end

-- ---- history: dl.plot(hist) --------------------------------------------------

-- A series of a history; an empty table is one before its first epoch.
local function is_history_series(v)
    if is_tensor(v) then return v:numel() > 0 end
    return type(v) == "table" and (v[1] ~= nil and is_value(v[1]) or next(v) == nil)
end

-- "note: ..." naming the non-finite values of the series (NaN, inf), which
-- the plot leaves out as gaps; nil when every value is finite.
local function non_finite_note(hist, names)
    local parts = {}
    for _, name in ipairs(names) do
        local v, epochs = hist[name], {}
        for e = 1, length(v) do
            local x = is_tensor(v) and v[e]:item() or v[e]
            if is_tensor(x) then x = x:item() end
            if type(x) == "number" and (x ~= x or x == math.huge or x == -math.huge) then
                epochs[#epochs + 1] = e
            end
        end
        if #epochs > 0 then
            parts[#parts + 1] = ("%s at epoch%s %s"):format(name, #epochs == 1 and "" or "s",
                                                            table.concat(epochs, ", "))
        end
    end
    if #parts == 0 then return nil end
    return "note: non-finite values skipped (gaps in the curves): " .. table.concat(parts, "; ")
end

-- Losses first; then by metric, each train series before its val_ twin.
local function history_order(a, b)
    local la, lb = a:find("loss") ~= nil, b:find("loss") ~= nil
    if la ~= lb then return la end
    local ba, bb = a:gsub("^val_", ""), b:gsub("^val_", "")
    if ba ~= bb then return ba < bb end
    return #a < #b
end

-- dl.plot(hist, {title=, xlabel=}): every named series of hist (loss,
-- val_loss, accuracy, ...: tables of numbers or 1-D tensors, one value
-- per epoch); losses in the top panel, the other metrics below.
function K.history(hist, o)
    o = K.options(o, "plot", 2, {"title", "xlabel"})
    if type(hist) ~= "table" then
        K.argerror("plot", 1, "expected a history (a table of named series such as "
                   .. "loss = {...}), got %s", K.typename(hist))
    end
    local names = {}
    for name, v in pairs(hist) do
        -- fit's history also records each epoch's lr and seconds: not curves
        if type(name) == "string" and is_history_series(v) and name ~= "lr"
           and name ~= "seconds" then
            names[#names + 1] = name
        end
    end
    if #names == 0 then
        K.argerror("plot", 1, "expected a history (a table of named series such as "
                   .. "loss = {...}), got a table with no series")
    end
    table.sort(names, history_order)
    local columns, where, epochs = {true}, {{1}}, 0
    local losses, metrics = {}, {}
    for i, name in ipairs(names) do
        columns[i + 1], where[i + 1] = hist[name], {1, name}
        epochs = math.max(epochs, length(hist[name]))
        local panel = name:find("loss") and losses or metrics
        panel[#panel + 1] = {i + 1, name}
    end
    -- As text, points would hide the lines' characters (* for one, # for
    -- the next...) that tell the series apart.
    local style = epochs <= 30 and "linespoints pt 7 ps 0.6" or "lines"
    local bases = {}
    for _, t in ipairs(metrics) do bases[(t[2]:gsub("^val_", ""))] = true end
    local nbases = 0
    for _ in pairs(bases) do nbases = nbases + 1 end
    local panels = {}
    if #losses > 0 then panels[#panels + 1] = {"loss", losses, "top right"} end
    if #metrics > 0 then
        local title = nbases == 1 and metrics[1][2]:gsub("^val_", "") or "metrics"
        panels[#panels + 1] = {title, metrics, "bottom right"}
    end
    -- no epochs yet: empty axes, the series named in the key
    local data = epochs > 0 and datablock("$dl_history", columns, "plot", where) or ""
    local range = epochs > 1 and ("[1:%d]"):format(epochs) or "[0.5:1.5]"
    local function script(text)
        local c = {}
        if #panels > 1 then
            c[1] = "set multiplot layout 2,1" .. (o.title and " title " .. K.quote(o.title)
                                                   or "")
        end
        for _, p in ipairs(panels) do
            -- As text the legend, right of the frame, names the panel.
            local title = #panels == 1 and o.title or not text and p[1]
            c[#c + 1] = title and "set title " .. K.quote(title) or "unset title"
            c[#c + 1] = "set xlabel " .. K.quote(o.xlabel or "epoch")
            c[#c + 1] = "set xrange " .. range
            c[#c + 1] = epochs <= 10 and "set xtics 1" or "set xtics autofreq"
            c[#c + 1] = text and TEXT_KEY or "set key " .. p[3]
            local terms = {}
            for i, t in ipairs(p[2]) do
                terms[i] = {t[1], t[2], text and "lines" or style}
            end
            if epochs == 0 then
                local empty = {}
                for i, t in ipairs(p[2]) do empty[i] = "NaN title " .. K.quote(t[2]) end
                c[#c + 1] = "set yrange [0:1]"
                c[#c + 1] = "plot " .. table.concat(empty, ", ")
            else
                c[#c + 1] = plot_command("$dl_history", terms)
            end
        end
        if #panels > 1 then c[#c + 1] = "unset multiplot" end
        return table.concat(c, "\n") .. "\n"
    end
    table.sort(names)
    return {data = data, script = script, key = "history:" .. table.concat(names, ","),
            size = {800, #panels > 1 and 800 or 500}, text_rows = #panels > 1 and 30 or 18,
            note = non_finite_note(hist, names)}
end

-- ---- lines -----------------------------------------------------------------

-- The series of lines(ys): a list of {values, title or false}, and x (or nil).
local function line_series(ys, o)
    local fn = "lines"
    check_series(ys, fn, 1)
    local x
    if type(ys) == "table" and (ys.x ~= nil or ys.y ~= nil) then
        x = ys.x and check_series(ys.x, fn, 1)
        ys = ys.y
        if ys == nil then K.argerror(fn, 1, "expected a field y next to x, got none") end
        check_series(ys, fn, 1)
    end
    local list, named = {}, false
    if is_tensor(ys) then
        if ys:dim() == 2 then
            for k = 1, ys:size(2) do list[k] = {ys:select(2, k), "y" .. k} end
        else
            list[1] = {ys, false}
        end
    elseif ys[1] ~= nil and is_value(ys[1]) then
        list[1] = {ys, false}
    elseif ys[1] ~= nil then
        for k, v in ipairs(ys) do list[k] = {check_series(v, fn, 1), "y" .. k} end
    else
        for name, v in pairs(ys) do
            if type(name) == "string" then
                list[#list + 1] = {check_series(v, fn, 1), name}
            end
        end
        table.sort(list, function(a, b) return a[2] < b[2] end)
        named = true
    end
    local longest = 0
    for _, s in ipairs(list) do longest = math.max(longest, length(s[1])) end
    if longest == 0 then
        K.argerror(fn, 1, "expected at least one value, got none")
    end
    if o.legend == false or (#list == 1 and not named and o.legend == nil) then
        for _, s in ipairs(list) do s[2] = false end
    elseif type(o.legend) == "table" then
        for k, s in ipairs(list) do
            if o.legend[k] ~= nil then s[2] = tostring(o.legend[k]) end
        end
    elseif o.legend ~= nil and o.legend ~= true then
        K.argerror(fn, 2, "expected option 'legend' to be a list of names or false, got %s",
                   K.typename(o.legend))
    end
    return list, x
end

-- A series as a float tensor (a table of numbers converted), its errors
-- told as `fn`'s argument `arg`.
local function as_tensor(v, fn, arg)
    return is_tensor(v) and v or to_tensor(v, fn, arg)
end

-- lines() of series longer than LINE_POINTS: each series reduced to the
-- points LINE_COLUMNS pixel columns show (gp.line: the extremes of each
-- column, so spikes stay), in a datablock of its own.
local function long_lines(list, x, o)
    local xs = x and as_tensor(x, "lines", 1)
    local data, terms = {}, {}
    for k, s in ipairs(list) do
        local name = "$dl_lines" .. k
        data[k] = gp.line(name, as_tensor(s[1], "lines", 1), xs, LINE_COLUMNS)
        terms[k] = ("%s using 1:2 with %s %s"):format(name, o.with or "lines",
                                                      s[2] and "title " .. K.quote(s[2])
                                                      or "notitle")
    end
    local commands = axes(o, "lines", 2) .. "plot " .. table.concat(terms, ", ") .. "\n"
    local function script(text) return (text and TEXT_KEY or "") .. commands end
    return {data = table.concat(data), script = script, size = {800, 500}}
end

-- dl.plot.lines(ys | {x=, y=}, {title=, xlabel=, ylabel=, legend=, logscale=,
-- xrange=, yrange=, with=, set=}): one series (numbers or a 1-D tensor),
-- several (a list, a table of named series, or the columns of a 2-D tensor).
function K.lines(ys, o)
    o = K.options(o, "lines", 2, with_axes{"legend", "with"})
    if o.with ~= nil and type(o.with) ~= "string" then
        K.argerror("lines", 2, "expected option 'with' to be a gnuplot style such as "
                   .. "'linespoints', got %s", K.typename(o.with))
    end
    if o.with ~= nil then
        checked(guard.style, o.with, "lines", 2, "with", "a gnuplot style such as "
                .. "'linespoints'")
    end
    local list, x = line_series(ys, o)
    local longest = 0
    for _, s in ipairs(list) do longest = math.max(longest, length(s[1])) end
    if longest > LINE_POINTS then return long_lines(list, x, o) end
    local columns, where, terms = {x or true}, {{1, "x"}}, {}
    for k, s in ipairs(list) do
        columns[k + 1], where[k + 1] = s[1], {1, s[2] or nil}
        terms[k] = {k + 1, s[2], o.with or "lines"}
    end
    local data = datablock("$dl_lines", columns, "lines", where)
    local commands = axes(o, "lines", 2) .. plot_command("$dl_lines", terms)
    local function script(text) return (text and TEXT_KEY or "") .. commands end
    return {data = data, script = script, size = {800, 500}}
end

-- ---- scatter -----------------------------------------------------------------

-- dl.plot.scatter(x, y, {color=labels, classes=names, ...}) or
-- scatter(xy, opts) with xy an N×2 tensor: points, one colour per class
-- (labels 1..C), the legend naming the classes.
function K.scatter(x, y, o)
    local fn = "scatter"
    if is_tensor(x) and x:dim() == 2 and x:size(2) == 2
        and (y == nil or (type(y) == "table" and #y == 0)) then
        x, y, o = x:select(2, 1), x:select(2, 2), y
    end
    o = K.options(o, fn, 3, with_axes{"color", "classes"})
    check_series(x, fn, 1)
    check_series(y, fn, 2)
    if length(x) == 0 then K.argerror(fn, 1, "expected at least one point, got none") end
    if length(x) ~= length(y) then
        K.argerror(fn, 2, "expected %d values (as many as x), got %d", length(x), length(y))
    end
    local columns, where = {x, y}, {{1}, {2}}
    local classes, names = 0, {}
    if o.color ~= nil then
        local labels = numbers(o.color, fn, 3)
        if #labels ~= length(x) then
            K.argerror(fn, 3, "expected option 'color' to hold %d labels (one a point), "
                       .. "got %d", length(x), #labels)
        end
        local top = 0
        for i, c in ipairs(labels) do
            if c < 1 or c ~= c then
                K.argerror(fn, 3, "expected class labels 1..C in option 'color', got %s "
                           .. "at [%d]", num(c), i)
            end
            top = math.max(top, math.floor(c + 0.5))
        end
        if top > MAX_CLASSES then
            K.argerror(fn, 3, "expected at most %d classes in option 'color', got %d",
                       MAX_CLASSES, top)
        end
        names = o.classes or {}
        if type(names) ~= "table" then
            K.argerror(fn, 3, "expected option 'classes' to be a list of names, got %s",
                       K.typename(names))
        end
        columns[3], where[3], classes = labels, {3, "color"}, top
    end
    local data
    if length(x) > SCATTER_POINTS then
        -- One point a cell and class of a grid finer than the points drawn.
        local labels = classes > 0 and dl.tensor(columns[3]) or nil
        data = gp.scatter("$dl_scatter", as_tensor(x, fn, 1), as_tensor(y, fn, 2), labels,
                          math.max(classes, 1), SCATTER_GRID[1], SCATTER_GRID[2])
    else
        data = datablock("$dl_scatter", columns, fn, where)
    end
    local commands = axes(o, fn, 3)
    -- As text, each class gets its own letter (point type k is the k-th
    -- letter); as graphics, its own colour.
    local function script(text)
        local terms = {}
        for k = 1, math.max(classes, 1) do
            terms[k] = ("%s using 1:%s with points %s %s"):format(
                k == 1 and "$dl_scatter" or "''",
                classes > 0 and ("(int($3 + 0.5) == %d ? $2 : NaN)"):format(k) or "2",
                text and "pt " .. k or "pt 7 ps 0.7",
                classes > 0 and "title " .. K.quote(names[k] ~= nil and names[k] or k)
                or "notitle")
        end
        return (text and TEXT_KEY or "") .. commands .. "plot " .. table.concat(terms, ", ")
               .. "\n"
    end
    return {data = data, script = script, size = {700, 600}}
end

-- ---- hist ----------------------------------------------------------------------

-- dl.plot.hist(t, {bins=20, ...}): a histogram of the values of t (a
-- tensor of any shape, or a table of numbers).
function K.hist(t, o)
    o = K.options(o, "hist", 2, with_axes{"bins"})
    check_series(t, "hist", 1)
    local bins = o.bins or 20
    if type(bins) ~= "number" or bins % 1 ~= 0 or bins < 1 then
        K.argerror("hist", 2, "expected option 'bins' to be a count >= 1, got %s",
                   type(bins) == "number" and num(bins) or K.typename(bins))
    end
    if length(t) == 0 then
        K.argerror("hist", 1, "expected at least one value, got none")
    end
    -- Binned here (gp.histogram): gnuplot gets the counts, not the values.
    local values = is_tensor(t) and t or to_tensor(t, "hist", 1)
    local data, width = gp.histogram("$dl_hist", values, math.floor(bins))
    local commands = axes(o, "hist", 2) .. table.concat({
        "set boxwidth " .. num(width),
        "set style fill solid 0.5",
        "set yrange [0:*]",
        "plot $dl_hist using 1:2 with boxes notitle",
    }, "\n") .. "\n"
    return {data = data, script = function() return commands end, size = {800, 500}}
end

-- ---- image -------------------------------------------------------------------

-- The images of image(t): a list of 2-D (gray) or 3×H×W (colour) tensors.
local function image_list(t)
    local fn = "image"
    if type(t) == "table" then
        if type(t[1]) == "table" then
            t = to_tensor(t, fn, 1)     -- nested numbers: one gray image
        else
            local list = {}
            for i, v in ipairs(t) do
                if not is_tensor(v) then
                    K.argerror(fn, 1, "expected a tensor or a list of tensors, got %s "
                               .. "at [%d]", K.typename(v), i)
                end
                local one = image_list(v)
                if #one ~= 1 then
                    K.argerror(fn, 1, "expected one image (H×W, 1×H×W or 3×H×W) at "
                               .. "[%d], got %d", i, #one)
                end
                list[i] = one[1]
            end
            if #list == 0 then
                K.argerror(fn, 1, "expected at least one image, got none")
            end
            return list
        end
    end
    if not is_tensor(t) then
        K.argerror(fn, 1, "expected a tensor or a list of tensors, got %s", K.typename(t))
    end
    local d, list = t:dim(), {}
    if d == 2 then
        list[1] = t
    elseif d == 3 and t:size(1) == 1 then
        list[1] = t:select(1, 1)
    elseif d == 3 and t:size(1) == 3 then
        list[1] = t
    elseif d == 3 then
        for i = 1, t:size(1) do list[i] = t:select(1, i) end
    elseif d == 4 and (t:size(2) == 1 or t:size(2) == 3) then
        for i = 1, t:size(1) do
            list[i] = t:size(2) == 1 and t:select(1, i):select(1, 1) or t:select(1, i)
        end
    else
        K.argerror(fn, 1, "expected an image H×W, C×H×W or N×C×H×W (C = 1 or 3), got "
                   .. "shape (%s)", table.concat(t:shape(), ", "))
    end
    if #list == 0 then K.argerror(fn, 1, "expected at least one image, got none") end
    for _, img in ipairs(list) do
        if img:numel() == 0 then
            K.argerror(fn, 1, "expected a non-empty image, got shape (%s)",
                       table.concat(img:shape(), ", "))
        end
    end
    return list
end

-- The image (H×W or 3×H×W) averaged down to fit within width x height
-- (its aspect kept), or itself when it fits.
local function fitted(img, width, height)
    local h, w = img:size(-2), img:size(-1)
    local scale = math.max(h / height, w / width)
    if scale <= 1 then return img end
    return gp.downsample(img, math.max(1, math.floor(h / scale)),
                         math.max(1, math.floor(w / scale)))
end

-- Captions and whether each shows a mistake (pred ~= target).
local function captions(n, o)
    local out, wrong = {}, {}
    if o.captions ~= nil then
        if type(o.captions) ~= "table" then
            K.argerror("image", 2, "expected option 'captions' to be a list of strings, "
                       .. "got %s", K.typename(o.captions))
        end
        for i = 1, n do out[i] = o.captions[i] ~= nil and tostring(o.captions[i]) or nil end
        return out, wrong
    end
    local names = o.classes or {}
    local pred = o.pred and numbers(o.pred, "image", 2)
    local target = o.target and numbers(o.target, "image", 2)
    local function name(c) return tostring(names[c] or num(c)) end
    for i = 1, n do
        local p, t = pred and pred[i], target and target[i]
        if p and t then
            out[i] = p == t and name(p) or name(p) .. "/" .. name(t)
            wrong[i] = p ~= t
        elseif p or t then
            out[i] = name(p or t)
        end
    end
    return out, wrong
end

-- dl.plot.image(t, {title=, captions=, pred=, target=, classes=, cols=}):
-- one image (H×W gray, 3×H×W colour in [0, 1]) or a grid of N (N×H×W,
-- N×C×H×W, or a list of tensors), captioned with `captions` or with the
-- predicted / true class (`pred`, `target`, named by `classes`), in red
-- where they differ.
function K.image(t, o)
    o = K.options(o, "image", 2, {"title", "captions", "pred", "target", "classes", "cols"})
    local list = image_list(t)
    local n = #list
    if n > MAX_IMAGES then
        K.argerror("image", 1, "expected at most %d images, got %d", MAX_IMAGES, n)
    end
    local cols = o.cols or math.ceil(math.sqrt(n))
    if type(cols) ~= "number" or cols < 1 or cols % 1 ~= 0 then
        K.argerror("image", 2, "expected option 'cols' to be a count >= 1, got %s",
                   K.typename(cols))
    end
    local rows = math.ceil(n / cols)
    local caption, wrong = captions(n, o)
    local data, info = {}, {}
    for i, img in ipairs(list) do
        local rgb = img:dim() == 3
        local name = "$dl_image" .. i
        local shown, text = fitted(img, IMAGE_SIDE, IMAGE_SIDE),
                            fitted(img, math.ceil(TEXT_IMAGE[1] / cols),
                                   math.ceil(TEXT_IMAGE[2] / rows))
        data[#data + 1] = rgb and gp.rgb(name, shown) or gp.matrix(name, shown)
        data[#data + 1] = rgb and gp.rgb(name .. "_text", text)
                          or gp.matrix(name .. "_text", text)
        local lo, hi = 0, 1
        if not rgb then lo, hi = shown:min():item(), shown:max():item() end
        info[i] = {name = name, rgb = rgb, h = shown:size(-2), w = shown:size(-1),
                   text_h = text:size(-2), text_w = text:size(-1), lo = lo,
                   span = hi > lo and hi - lo or 1}
    end
    local function script(text)
        local c = {"unset border", "unset tics", "unset key", "set palette gray",
                   "shades = " .. K.quote(SHADES),
                   "shade_k(v) = 1 + int(9.999 * (v < 0 ? 0 : v > 1 ? 1 : v))",
                   "shade(v) = substr(shades, shade_k(v), shade_k(v))"}
        if n > 1 or text then c[#c + 1] = "unset colorbox" end
        if text then
            -- two rows on top: the caption, and a blank one the pixels of
            -- the image's first row cannot reach
            c[#c + 1] = "set margins 0, 0, 0, 2"
        else
            c[#c + 1] = "set size ratio -1"
        end
        if n > 1 then
            -- In character units, room above each image for its caption
            -- and above all for the title, whatever the figure's size.
            c[#c + 1] = ("set multiplot layout %d,%d%s%s"):format(rows, cols,
                o.title and " title " .. K.quote(o.title) or "",
                text and "" or (" margins char 1, char 1, char 0.5, char %s "
                                .. "spacing char 1, char 2.5"):format(o.title and 4 or 2.5))
        end
        for i, im in ipairs(info) do
            local title = n == 1 and (o.title or caption[1]) or caption[i]
            local color = wrong[i] and not text and "'red'" or "default"
            c[#c + 1] = title and ("set title %s textcolor %s"):format(K.quote(title),
                                                                      color)
                        or "unset title"
            c[#c + 1] = ("set xrange [-0.5:%d.5]"):format((text and im.text_w or im.w) - 1)
            c[#c + 1] = ("set yrange [%d.5:-0.5]"):format((text and im.text_h or im.h) - 1)
            if text and im.rgb then
                c[#c + 1] = ("plot %s_text using 1:2:(shade(($3 + $4 + $5) / 765)) with "
                             .. "labels"):format(im.name)
            elseif text then
                c[#c + 1] = ("plot %s_text matrix using 1:2:(shade(($3 - %s) / %s)) with "
                             .. "labels"):format(im.name, num(im.lo), num(im.span))
            elseif im.rgb then
                c[#c + 1] = ("plot %s using 1:2:3:4:5 with rgbimage"):format(im.name)
            else
                c[#c + 1] = ("plot %s matrix with image"):format(im.name)
            end
        end
        if n > 1 then c[#c + 1] = "unset multiplot" end
        return table.concat(c, "\n") .. "\n"
    end
    local cell = n == 1 and 560 or 140
    local high, wide = 0, 0
    for _, im in ipairs(info) do high, wide = math.max(high, im.h), math.max(wide, im.w) end
    return {data = table.concat(data), script = script,
            size = {math.max(400, cols * cell), math.max(300, rows * (cell + 20))},
            text_rows = rows * (high + 3) + (o.title and 1 or 0), text_cols = cols * (2 * wide + 2)}
end

-- ---- confusion ---------------------------------------------------------------

-- dl.plot.confusion(cm, {labels=names, title=}): the C×C confusion matrix
-- (rows: true class, columns: predicted) as a heatmap with the counts.
function K.confusion(cm, o)
    o = K.options(o, "confusion", 2, {"labels", "classes", "title"})
    if type(cm) == "table" then cm = to_tensor(cm, "confusion", 1) end
    if not is_tensor(cm) then
        K.argerror("confusion", 1, "expected a C×C tensor or table, got %s",
                   K.typename(cm))
    end
    if cm:dim() ~= 2 or cm:size(1) ~= cm:size(2) or cm:size(1) == 0 then
        K.argerror("confusion", 1, "expected a square matrix C×C (C >= 1), got shape (%s)",
                   table.concat(cm:shape(), ", "))
    end
    local names = o.labels or o.classes or {}
    if type(names) ~= "table" then
        K.argerror("confusion", 2, "expected option 'labels' to be a list of class names, "
                   .. "got %s", K.typename(names))
    end
    local n, top = cm:size(1), cm:max():item()
    local tics = {}
    for k = 1, n do tics[k] = ("%s %d"):format(K.quote(names[k] or k), k - 1) end
    tics = "(" .. table.concat(tics, ", ") .. ")"
    local data = gp.matrix("$dl_confusion", cm)
    local function script(text)
        local c = {
            "set title " .. K.quote(o.title or "confusion matrix"),
            "set xlabel 'predicted'", "set ylabel 'true'",
            ("set xrange [-0.5:%d.5]"):format(n - 1),
            ("set yrange [%d.5:-0.5]"):format(n - 1),
            "set xtics " .. tics .. (n > 6 and " rotate by -45" or ""),
            "set ytics " .. tics, "set tics scale 0", "unset key",
            "set palette defined (0 '#ffffff', 1 '#2166ac')",
            ("set cbrange [0:%s]"):format(num(top > 0 and top or 1)),
        }
        if text then
            c[#c + 1] = "unset colorbox"
            c[#c + 1] = "plot $dl_confusion matrix using 1:2:(sprintf('%g', $3)) "
                        .. "with labels"
        else
            c[#c + 1] = ("plot $dl_confusion matrix with image, $dl_confusion matrix using "
                         .. "1:2:(sprintf('%%g', $3)):($3 > %s ? 0xffffff : 0) with labels "
                         .. "textcolor rgb variable"):format(num(top / 2))
        end
        return table.concat(c, "\n") .. "\n"
    end
    local side = math.max(500, math.min(1000, 60 * n + 200))
    return {data = data, script = script, size = {side + 100, side},
            text_rows = math.max(12, 2 * n + 8), text_cols = math.max(40, 8 * n + 24)}
end

return K
