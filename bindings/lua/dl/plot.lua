-- plot.lua -- dl.plot: figures drawn by one persistent gnuplot.
--
--     dl.plot(hist)                        loss and metric curves (redrawn in place)
--     dl.plot.lines / scatter / hist / image / confusion
--     dl.plot.save(path)                   the current figure as .png, .svg or .pdf
--     dl.plot.raw(cmd)                     any gnuplot command
--     dl.plot.terminal(name)               where figures go (default: chosen)
--     dl.plot.weights / grads / filters / decision / embedding (plot_inside.lua)
--
-- Where figures go, unless dl.plot.terminal says otherwise: a window (qt,
-- wxt or x11) when a display is present and gnuplot has one; an inline
-- image (sixel) in a terminal known to show them, or when DLREPL_SIXEL=1;
-- otherwise text, drawn by gnuplot's dumb terminal at the terminal's size.
-- A figure drawn again with the same key (dl.plot(hist) with a grown hist)
-- replaces the previous drawing: the window is reused; text and inline
-- images are drawn over the previous ones when that drawing is still the
-- last thing on the terminal: the same chunk of code drew it and printed
-- nothing since (code that must print calls dl.plot.erase first).
--
-- Without gnuplot every call prints one line saying how to install it
-- (once a session) and returns nothing.

local gp = require "dl.gnuplot"
local raise = require("dl.errors").raise
local K = require "dl.plot_kinds"
local guard = require "dl.plot_guard"

local plot = {}

local TIMEOUT = 30              -- seconds gnuplot may take to answer a call
local WINDOWS = {qt = true, wxt = true, x11 = true}
local INLINE = {sixelgd = true, sixeltek = true, kittycairo = true, kittygd = true}
local SIXEL_TERMS = {"^foot", "^mlterm", "^contour", "^yaft"}
local SIXEL_PROGRAMS = {WezTerm = true, mlterm = true}

local state = {
    choice = nil,           -- terminal set by dl.plot.terminal (nil: automatic)
    auto = nil,             -- the automatic choice, once made
    topts = {},             -- options given to dl.plot.terminal
    terminals = nil,        -- {name = true} of this gnuplot, asked once
    figure = nil,           -- the current figure (for save)
    setup = nil,            -- terminal commands of the last drawing
    sent = nil,             -- terminal commands gnuplot is known to have had last
    shown = nil,            -- {key, term, lines, chunk} of text or image on screen
    last_text = nil,        -- the last text plot, without colours
    warned = false,         -- the "not installed" line was printed
}

-- ---- gnuplot ----------------------------------------------------------------

-- True when gnuplot can run; otherwise prints, once, how to install it.
local function installed()
    if gp.find() then return true end
    if not state.warned then
        state.warned = true
        local path = os.getenv("DLREPL_GNUPLOT")
        io.stderr:write(path and path ~= "" and
            ("dl.plot: DLREPL_GNUPLOT=%s is not an executable gnuplot; plots are skipped\n")
                :format(path) or
            "dl.plot: gnuplot is not installed, so plots are skipped; install it with "
            .. "`sudo apt-get install gnuplot-qt` (or gnuplot-nox for text plots only)\n")
        io.stderr:flush()
    end
    return false
end

-- Splits gnuplot's stderr into its first error (with the command and the
-- caret that point at it), warnings (dropped) and other output (print).
local function read_messages(err)
    local context, first_error, output = {}, nil, {}
    for line in err:gmatch("[^\n]*") do
        local message = line:match('^%s*line %d+: (.*)$')
                        or line:match('^%s*"[^"]*" line %d+: (.*)$')
        if line:match("^gnuplot> ") then
            context = {"    " .. line:sub(10)}
        elseif line:match("^%s+%^%s*$") and #context == 1 then
            context[2] = line:sub(6)
        elseif message and not message:lower():match("^warning") then
            message = message:match("^%s*(.-)%s*$")
            first_error = first_error
                          or table.concat({message, table.unpack(context)}, "\n")
            context = {}
        elseif line:match("^system error: ") and first_error then
            local head, rest = first_error:match("^([^\n]*)(.*)$")
            first_error = head .. " (" .. line:sub(15) .. ")" .. rest
        elseif not message and not line:match("^[Ww]arning: ") then
            output[#output + 1] = line
        end
    end
    return first_error, (table.concat(output, "\n"):gsub("%s+$", ""))
end

-- Runs `batch` for the function `fn`; returns what gnuplot wrote to stdout
-- and the text it printed. gnuplot's errors become Lua errors.
local function run(fn, batch, init)
    local out, err = gp.run(batch, init or "", TIMEOUT)
    if not out then raise(fn .. ": " .. err) end
    local message, printed = read_messages(err)
    if message then raise(fn .. ": gnuplot: " .. message) end
    return out, printed
end

-- The terminals this gnuplot has, as a set.
local function terminals()
    if not state.terminals then
        local _, printed = run("plot", "print GPVAL_TERMINALS")
        state.terminals = {}
        for name in printed:gmatch("%S+") do state.terminals[name] = true end
    end
    return state.terminals
end

-- ---- where figures go ---------------------------------------------------------

-- True when this terminal is known to show sixel images (DLREPL_SIXEL=1
-- says so, DLREPL_SIXEL=0 says not).
local function sixel_terminal()
    local forced = os.getenv("DLREPL_SIXEL")
    if forced == "1" or forced == "0" then return forced == "1" end
    local term = os.getenv("TERM") or ""
    for _, pattern in ipairs(SIXEL_TERMS) do
        if term:match(pattern) then return true end
    end
    return SIXEL_PROGRAMS[os.getenv("TERM_PROGRAM") or ""] == true
end

local function auto_terminal()
    local display, wayland = os.getenv("DISPLAY"), os.getenv("WAYLAND_DISPLAY")
    if display or wayland then
        local have = terminals()
        for _, name in ipairs{"qt", "wxt", "x11"} do
            if have[name] and (name ~= "x11" or display) then return name end
        end
    end
    if gp.tty() and sixel_terminal() and terminals().sixelgd then return "sixelgd" end
    return "dumb"
end

local function current_terminal()
    if state.choice then return state.choice end
    state.auto = state.auto or auto_terminal()
    return state.auto
end

local TEXT_COLS, TEXT_ROWS = 80, 20   -- a text plot's size when its figure gives none

-- The commands that point gnuplot at `term` for `fig`, and the figure's
-- height in text rows (text: its lines; images: nil when unknown).
local function setup(term, fig)
    local o = state.topts
    local tty, cols, rows, xpixels, ypixels = gp.tty()
    local size = fig and fig.size or {800, 600}
    if term == "dumb" then
        -- Sized to the figure's content (text_cols x text_rows, else 80 x
        -- 20), never larger than the terminal: a small plot leaves the
        -- screen above it in view and can be redrawn in place.
        local w = math.max(o.width or math.min(cols or 80, fig and fig.text_cols or TEXT_COLS), 20)
        local h = math.max(o.height or math.min(rows and rows - 1 or 24, fig and fig.text_rows or TEXT_ROWS), 10)
        local color = o.color
        if color == nil then color = tty and os.getenv("NO_COLOR") == nil end
        return ("set terminal dumb size %d,%d %s\nset output\n"):format(
            w, h, color and "ansi" or "mono"), h
    end
    local w, h = o.width or size[1], o.height or size[2]
    if INLINE[term] then
        if not o.width and xpixels then w = math.min(w, xpixels) end
        h = o.height or math.floor(w * size[2] / size[1])
        if not o.height and ypixels then h = math.min(h, math.floor(ypixels * 0.9)) end
        local lines = ypixels and rows and math.ceil(h / (ypixels / rows)) or nil
        return ("set terminal %s size %d,%d\nset termoption noenhanced\nset output\n")
            :format(term, w, h), lines
    end
    if WINDOWS[term] then
        return ("set terminal %s 0 size %d,%d persist noraise title 'dlrepl'\n"
                .. "set termoption noenhanced\n"):format(term, w, h)
    end
    return ("set terminal %s\nset termoption noenhanced\n"):format(term)
end

-- The outermost Lua function running: the chunk typed at the prompt, or
-- the script. A drawing made by another one is no longer the last thing
-- on the terminal (the prompt came in between).
local function outer_chunk()
    local level, f = 2, nil
    while true do
        local info = debug.getinfo(level, "fS")
        if not info then return f end
        if info.what ~= "C" then f = info.func end
        level = level + 1
    end
end

-- How many lines to move up to draw `fig` over the previous drawing, or nil.
local function redraw_lines(fig, term)
    local s = state.shown
    if s and fig and fig.key and s.key == fig.key and s.term == term and s.lines
        and s.chunk == outer_chunk() and gp.tty() then
        return s.lines
    end
end

-- Shows what gnuplot wrote for a drawing on stdout: text, or image data.
local function display(term, out, fig, lines)
    local echo = state.topts.echo ~= false
    if term == "dumb" then
        local text = out:gsub("\f", "")
        if fig and fig.note and text ~= "" then text = text .. fig.note .. "\n" end
        state.last_text = text:gsub("\27%[[%d;]*m", "")
        if not echo or text == "" then return end
        local up = redraw_lines(fig, term)
        local _, n = text:gsub("\n", "")
        if up then
            -- Over the previous drawing, each line cleared to its end: never
            -- the whole screen, which tmux would push into its scrollback.
            text = ("\27[%dF"):format(up) .. text:gsub("\n", "\27[K\n")
                .. ("\27[K\n"):rep(math.max(up - n, 0))
                .. (up > n and ("\27[%dF"):format(up - n) or "")
        end
        io.stdout:write(text)
        state.shown = {key = fig and fig.key, term = term, lines = n, chunk = outer_chunk()}
    elseif INLINE[term] and out ~= "" and echo then
        -- The image's rows are reserved first, so it cannot scroll; the cursor
        -- is then put on the line below it, whatever the terminal does after
        -- an image, so that a redraw knows where the image starts.
        local up = redraw_lines(fig, term)
        if lines then
            io.stdout:write(up and ("\27[%dA"):format(up) or ("\n"):rep(lines)
                            .. ("\27[%dA"):format(lines), "\r\0277", out,
                            ("\0278\27[%dB"):format(lines))
        else
            io.stdout:write(out, "\n")
        end
        state.shown = {key = fig and fig.key, term = term, lines = lines,
                       chunk = outer_chunk()}
        if fig and fig.note then io.stdout:write(fig.note, "\n") end
    else
        return
    end
    io.stdout:flush()
end

-- ---- large data through files --------------------------------------------------

-- gnuplot reads commands from its pipe one byte per read() (3 MB of
-- numbers took 5 s), but data files with buffered reads (0.3 s). So a
-- datablock larger than FILE_BYTES is written to a private temporary file
-- (os.tmpname: mode 0600) and the figure's commands name the file, quoted
-- as data. The files live as long as their figure is the current one (save
-- draws it again), and are removed when it is replaced and when the state
-- is closed.
local FILE_BYTES = 1 << 16
local data_files = setmetatable({}, {__gc = function(files)
    for _, path in ipairs(files) do os.remove(path) end
end})

local function remove_data_files()
    for i = #data_files, 1, -1 do
        os.remove(data_files[i])
        data_files[i] = nil
    end
end

-- Moves the large datablocks of `fig` to files (once); fig.names maps
-- each moved block's name to its quoted path.
local function externalize(fig)
    if fig.names then return end
    fig.names = {}
    fig.data = fig.data:gsub("(%$[%w_]+) << EOD\n(.-\n)EOD\n", function(name, body)
        if #body <= FILE_BYTES then return nil end
        local path = os.tmpname()
        local f = io.open(path, "wb")
        if not (f and f:write(body) and f:close()) then
            os.remove(path)
            return nil          -- stays inline: slower, but drawn
        end
        data_files[#data_files + 1] = path
        fig.names[name] = K.quote(path)
        return ""
    end)
end

-- The commands of `fig` for text or graphics, moved datablocks named by file.
local function script_of(fig, text)
    local commands = fig.script(text)
    for name, path in pairs(fig.names or {}) do
        commands = commands:gsub(name:gsub("%$", "%%$") .. "%f[^%w_]",
                                 function() return path end)
    end
    return commands
end

-- Draws `fig` (a figure of plot_kinds) where figures go now. The terminal
-- is set again only when its commands changed (a window would be set up
-- anew each time) or when a new gnuplot starts (run's `init`).
local function draw(fn, fig)
    if not installed() then return end
    local term = current_terminal()
    local commands, lines = setup(term, fig)
    local set_terminal = state.sent ~= commands and commands or ""
    state.sent = nil
    if state.figure ~= fig then remove_data_files() end
    externalize(fig)
    local out = run(fn, "unset multiplot\nreset\n" .. set_terminal .. fig.data ..
                        script_of(fig, term == "dumb"), commands)
    state.figure, state.setup, state.sent = fig, commands, commands
    display(term, out, fig, lines)
end

-- ---- the public functions -------------------------------------------------------

-- dl.plot.lines(ys | {x=, y=}, opts): line plot of one or many series.
function plot.lines(ys, o) draw("lines", K.lines(ys, o)) end

-- dl.plot.scatter(x, y, {color=labels, classes=names}): points coloured by class.
function plot.scatter(x, y, o) draw("scatter", K.scatter(x, y, o)) end

-- dl.plot.hist(t, {bins=20}): histogram of the values of t.
function plot.hist(t, o) draw("hist", K.hist(t, o)) end

-- dl.plot.image(t, {captions=, pred=, target=, classes=}): one image or a grid.
function plot.image(t, o) draw("image", K.image(t, o)) end

-- dl.plot.confusion(cm, {labels=names}): confusion matrix heatmap with counts.
function plot.confusion(cm, o) draw("confusion", K.confusion(cm, o)) end

local SAVE_TERMINALS = {png = {"pngcairo", "png"}, svg = {"svg"}, pdf = {"pdfcairo"}}

-- dl.plot.save(path, {width=, height=}) -> path: writes the current
-- figure to path as PNG, SVG or PDF (by the extension); sizes in pixels
-- (PDF: 100 pixels an inch). Errors: another extension, no figure drawn
-- yet, a file gnuplot cannot write. Returns nothing without gnuplot.
function plot.save(path, o)
    if type(path) ~= "string" then
        K.argerror("save", 1, "expected a file path, got %s", K.typename(path))
    end
    o = K.options(o, "save", 2, {"width", "height"})
    for _, key in ipairs{"width", "height"} do
        local v = o[key]
        if v ~= nil and (type(v) ~= "number" or v < 1 or v > 100000 or v % 1 ~= 0) then
            K.argerror("save", 2, "expected option '%s' to be a size in pixels (1 to "
                       .. "100000), got %s",
                       key, type(v) == "number" and gp.number(v) or K.typename(v))
        end
    end
    local bad = guard.file_name(path)
    if bad then K.argerror("save", 1, "expected a file path, got %s", bad) end
    local ext = (path:match("%.(%w+)$") or ""):lower()
    if not SAVE_TERMINALS[ext] then
        K.argerror("save", 1, "expected a path ending in .png, .svg or .pdf, got '%s'",
                   path)
    end
    if not installed() then return end
    if not state.figure then raise("save: no figure to save (draw one first)") end
    local term
    for _, name in ipairs(SAVE_TERMINALS[ext]) do
        term = term or (terminals()[name] and name)
    end
    if not term then raise(("save: this gnuplot cannot write .%s files"):format(ext)) end
    local fig = state.figure
    local w, h = o.width or fig.size[1], o.height or fig.size[2]
    state.sent = nil
    local size = ("%d,%d"):format(w, h)
    if ext == "pdf" then
        size = ("%sin,%sin"):format(gp.number(w / 100), gp.number(h / 100))
    end
    run("save", ("unset multiplot\nreset\nset terminal %s size %s\n"
                 .. "set termoption noenhanced\nset output %s\n"):format(term, size,
                                                                        K.quote(path))
                .. fig.data .. script_of(fig, false) .. "unset multiplot\nset output\n"
                .. state.setup, state.setup)
    state.sent = state.setup
    return path
end

-- dl.plot.raw(cmd) -> printed text | nothing: runs gnuplot commands as
-- they are; what they draw shows as figures do, what they print is
-- returned, and gnuplot's errors are raised as Lua errors. This is the
-- one way to give gnuplot code: raw commands can run shell commands
-- (backquotes, system, !), so never pass text from untrusted input.
function plot.raw(cmd)
    if type(cmd) ~= "string" then
        K.argerror("raw", 1, "expected a string of gnuplot commands, got %s",
                   K.typename(cmd))
    end
    if not installed() then return end
    local term = current_terminal()
    local init = state.setup or setup(term)
    state.sent = nil            -- the commands may change the terminal
    local out, printed = run("raw", cmd, init)
    display(term, out, nil, nil)
    if printed ~= "" then return printed end
end

local TERMINAL_OPTIONS = {"width", "height", "echo", "color"}

-- dl.plot.terminal() -> name: where figures go now.
-- dl.plot.terminal(name, {width=, height=, echo=, color=}) -> name: sends
-- them to the gnuplot terminal `name` ("dumb" text, "sixelgd" images,
-- "qt"/"wxt"/"x11" windows...) or back to the automatic choice ("auto").
-- width and height are characters for text, pixels otherwise; echo=false
-- keeps text plots off stdout (dl.plot.last_text still has them); color
-- (text) defaults to true on a terminal unless NO_COLOR is set.
function plot.terminal(name, o)
    if name ~= nil and type(name) ~= "string" then
        K.argerror("terminal", 1, "expected a terminal name, got %s", K.typename(name))
    end
    o = K.options(o, "terminal", 2, TERMINAL_OPTIONS)
    for _, key in ipairs{"width", "height"} do
        local v = o[key]
        if v ~= nil and (math.type(v) == nil or v < 1 or v > 100000 or v % 1 ~= 0) then
            K.argerror("terminal", 2, "expected option '%s' to be a size from 1 to 100000, "
                       .. "got %s", key, type(v) == "number" and gp.number(v)
                       or K.typename(v))
        end
    end
    for _, key in ipairs{"echo", "color"} do
        if o[key] ~= nil and type(o[key]) ~= "boolean" then
            K.argerror("terminal", 2, "expected option '%s' to be true or false, got %s",
                       key, K.typename(o[key]))
        end
    end
    if not installed() then return end
    if name == nil and next(o) == nil then return current_terminal() end
    if name ~= nil and name ~= "auto" then
        local have = terminals()
        local usable = name == "dumb" or WINDOWS[name] or INLINE[name]
        if not (usable and have[name]) then
            local names = {}
            for n in pairs(have) do
                if n == "dumb" or WINDOWS[n] or INLINE[n] then names[#names + 1] = n end
            end
            table.sort(names)
            K.argerror("terminal", 1, "expected 'auto' or a terminal this gnuplot has "
                       .. "(%s), got '%s'", table.concat(names, ", "), name)
        end
    end
    state.choice = name ~= "auto" and name or nil
    state.auto, state.topts, state.shown, state.setup, state.sent = nil, o, nil, nil, nil
    return current_terminal()
end

-- dl.plot.erase(): removes the last text plot or inline image from the
-- terminal; code that prints between redraws of live curves (a progress
-- line each epoch) calls it first, so the next redraw lands below.
function plot.erase()
    local s = state.shown
    state.shown = nil
    if s and s.lines and gp.tty() and state.topts.echo ~= false then
        io.stdout:write(("\27[%dF\27[J"):format(s.lines))
        io.stdout:flush()
    end
end

-- dl.plot.last_text() -> the last text plot (dumb terminal), or nil.
function plot.last_text() return state.last_text end

-- dl.plot.pid() -> the process id of the session's gnuplot, or nil.
function plot.pid() return gp.pid() end

-- dl.plot.close(): ends the session's gnuplot (the next plot starts one).
function plot.close()
    gp.stop()
    state.shown = nil
end

-- dl.plot(hist, {title=, xlabel=}): loss and metric curves of a training
-- history; called again with a grown history, redraws the same figure.
-- Search results (dl.search) give their score per trial as the history,
-- or with {param = name} the score against that parameter.
local function plot_search(results, o)
    if o ~= nil and type(o) ~= "table" then K.argerror("plot", 2, "expected an option table, got %s", type(o)) end
    local kind, a, b, options, axis = results:plot_series(o)
    if kind == "history" then return draw("plot", K.history(a, b)) end
    if axis.log then options.logscale = "x" end
    local settings = {}
    if axis.labels then
        local tics = {}
        for i, label in ipairs(axis.labels) do tics[i] = K.quote(label) .. " " .. i end
        settings[#settings + 1] = "xtics (" .. table.concat(tics, ", ") .. ")"
        settings[#settings + 1] = ("xrange [0.5:%d.5]"):format(#axis.labels)
    end
    if #settings > 0 then options.set = settings end
    draw("scatter", K.scatter(a, b, options))
end

local function plot_history(_, hist, o)
    if type(hist) == "table" and type(hist.plot_series) == "function" then
        return plot_search(hist, o)
    end
    draw("plot", K.history(hist, o))
end

-- weights, grads, filters, decision, embedding: what a network does inside.
require("dl.plot_inside").install(plot, draw)

return setmetatable(plot, {__call = plot_history})
