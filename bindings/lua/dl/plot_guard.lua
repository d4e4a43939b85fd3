-- plot_guard.lua -- what dl.plot's options may send to gnuplot.
--
-- gnuplot runs shell commands in several ways: backquoted text (in a
-- command, or in a double-quoted string), the system() function, a line
-- starting with `!`, the `shell`, `load`, `call`, `eval` and `import`
-- commands, macros (`@name`), and an output, print or table file whose name
-- starts with `|`. A newline or `;` starts a new command, and a line
-- holding `EOD` ends the datablock being read. So every option reaches
-- gnuplot in one of three forms:
--     a word from a fixed set      (`with` a plot style, `logscale` axes)
--     quoted as data               (titles, labels, legends: plot_kinds' quote)
--     a checked setting            (`set`: one `set` command none of whose
--                                   parts runs anything)
-- Only dl.plot.raw passes gnuplot code through as it is.
--
-- Each check returns nil when the text is acceptable, or the reason it is
-- not (a phrase that follows "got ...: ").

local guard = {}

-- The plot styles `with` accepts for a series drawn from two columns.
local STYLES = {}
for name in ([[lines l points p linespoints lp impulses i dots d steps fsteps histeps
               fillsteps boxes filledcurves]]):gmatch("%S+") do
    STYLES[name] = true
end

-- The words that may follow the style: line, point and fill properties.
local STYLE_WORDS = {}
for name in ([[lw linewidth lt linetype dt dashtype pt pointtype ps pointsize lc
               linecolor rgb rgbcolor pi pointinterval pn pointnumber fs fillstyle
               solid transparent pattern border noborder palette variable black
               bgnd nohidden3d above below]]):gmatch("%S+") do
    STYLE_WORDS[name] = true
end

local AXIS_NAMES = {"x2", "y2", "cb", "x", "y", "z", "r"}

-- Words that run or read commands when they appear in a setting.
local RUNNING_WORDS = {system = "system()", shell = "shell", load = "load", call = "call",
                       eval = "eval", evaluate = "eval", import = "import", exit = "exit",
                       quit = "quit", pause = "pause", reread = "reread"}

-- Settings that change where gnuplot writes (dl.plot manages those).
local OUTPUT_SETTINGS = {{"output", 1}, {"print", 2}, {"table", 3}, {"terminal", 1},
                         {"loadpath", 2}}

local function is_number(token)
    return tonumber(token) ~= nil and token:match("^[%d%.eE+-]+$") ~= nil
end

-- A style word, a number, a simple quoted colour or a list like (2,4).
local function style_token(token)
    return STYLE_WORDS[token] or is_number(token)
        or token:match("^'[%w#_ .,%-]*'$") or token:match('^"[%w#_ .,%-]*"$')
        or token:match("^%([%d.,%s]*%)$")
end

-- `with`: a plot style name, then optional line or point properties
-- ("linespoints pt 7 lc 'red'").
function guard.style(s)
    local first, rest = s:match("^%s*(%S*)(.*)$")
    if not STYLES[first] then
        return ("'%s' is not a plot style"):format(first)
    end
    for token in rest:gmatch("%S+") do
        if not style_token(token) then
            return ("'%s' is not a line or point property"):format(token)
        end
    end
end

-- `logscale`: axis names ("x", "y", "xy", "x2", "cb"...) and an optional base.
function guard.axes(s)
    local names, base = s:match("^%s*(%w+)%s*(%S*)%s*$")
    if not names then return "not axis names such as 'xy'" end
    local i = 1
    while i <= #names do
        local found
        for _, axis in ipairs(AXIS_NAMES) do
            if names:sub(i, i + #axis - 1) == axis then found = axis break end
        end
        if not found then return ("'%s' is not axis names such as 'xy'"):format(names) end
        i = i + #found
    end
    if base ~= "" and not (is_number(base) and tonumber(base) > 1) then
        return ("'%s' is not a logarithm base > 1"):format(base)
    end
end

-- True when `word` abbreviates `name` (gnuplot accepts any prefix of at
-- least `least` characters).
local function abbreviates(word, name, least)
    return #word >= least and #word <= #name and name:sub(1, #word) == word
end

-- `set`: one gnuplot setting such as "grid" or "key left top". Refused:
-- more than one command (newline, `;`, a `{ }` block), backquotes, `!`,
-- macros (`@`), a datablock (`<<`, `EOD`), a line continuation, unbalanced
-- quotes, the words that run commands (system, shell, load, call, eval,
-- ...), a file name starting with `|` or `<`, and the settings that choose
-- where gnuplot writes (output, print, table, terminal).
function guard.setting(s)
    if s:find("[\n\r\0]") then return "a newline (one setting a string)" end
    if s:find("`", 1, true) then return "a backquote (it runs a command)" end
    local first = s:match("^%s*(%a*)")
    for _, o in ipairs(OUTPUT_SETTINGS) do
        if first ~= "" and abbreviates(first, o[1], o[2]) then
            return ("'set %s' (dl.plot chooses where figures go; see dl.plot.save)")
                :format(first)
        end
    end
    local outside, i, n = {}, 1, #s
    while i <= n do
        local c = s:sub(i, i)
        if c == "'" or c == '"' then
            local j = i + 1
            while j <= n do
                local d = s:sub(j, j)
                if d == c and c == "'" and s:sub(j + 1, j + 1) == "'" then
                    j = j + 1           -- '' inside single quotes
                elseif d == "\\" and c == '"' then
                    j = j + 1           -- an escape inside double quotes
                elseif d == c then
                    break
                end
                j = j + 1
            end
            if j > n then return "unbalanced quotes" end
            if s:sub(i + 1, j - 1):match("^%s*[|<]") then
                return "a file name starting with '|' or '<' (a command)"
            end
            outside[#outside + 1] = " "
            i = j + 1
        else
            outside[#outside + 1] = c
            i = i + 1
        end
    end
    local code = table.concat(outside)
    local bad = code:match("[;!@\\{}]")
    if bad then
        return ("'%s' (%s)"):format(bad, bad == ";" and "one setting a string"
                                         or bad == "!" and "a shell command"
                                         or bad == "@" and "a macro"
                                         or bad == "\\" and "a line continuation"
                                         or "a block of commands")
    end
    if code:find("<<", 1, true) then return "'<<' (a datablock)" end
    for word in code:gmatch("[%a_][%w_]*") do
        local lower = word:lower()
        if RUNNING_WORDS[lower] then
            return ("'%s' (it runs commands)"):format(RUNNING_WORDS[lower])
        end
        if word == "EOD" then return "'EOD' (it ends a datablock)" end
    end
end

-- A file name to write to: no NUL byte or other control character (the
-- name gnuplot would open is not the one given), not a pipe ("|command").
function guard.file_name(s)
    if s:find("\0", 1, true) then return "a path with a NUL byte" end
    if s:find("%c") then return "a path with a control character" end
    if s:match("^%s*|") then return "a pipe ('|' starts a command), not a file name" end
end

return guard
