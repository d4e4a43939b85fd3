-- complete.lua -- Tab completion that depends on where the cursor is.
--
--   complete.candidates(before, word) -> list of completions, or nil when
--     the prompt's usual completion (globals, fields, methods) applies.
--
-- `before` is the line up to the word being completed. Handled here:
--   * inside a string literal: file paths (names after help(" or
--     apropos(" instead); after :load, :save, :cd, file paths too
--   * inside an option table of a known function, at a key:
--     nn.Conv2d(1, 8, 3, {pa  ->  padding (dl.option_names)
-- Nothing is run: names are only looked up.
local lex = require "dl.lex"
local option_names = require "dl.option_names"

local complete = {}

local PATH_COMMANDS = {load = true, save = true, cd = true}

-- Directory entries starting with `prefix` inside `dir`; directories get '/'.
local function list_directory(dir, prefix)
    local listing = io.popen(("ls -1a %s 2>/dev/null"):format(
        "'" .. (dir == "" and "." or dir):gsub("'", "'\\''") .. "'"))
    if not listing then return {} end
    local found = {}
    for name in listing:lines() do
        if name ~= "." and name ~= ".." and name:sub(1, #prefix) == prefix and
            (prefix:sub(1, 1) == "." or name:sub(1, 1) ~= ".") then
            local full = (dir == "" and "" or dir) .. name
            local probe = io.open(full .. "/.", "r")   -- opens only when a directory
            if probe then
                probe:close()
                name = name .. "/"
            end
            found[#found + 1] = name
        end
    end
    listing:close()
    table.sort(found)
    return found
end

-- Completions of the path `typed`, of which readline replaces the last
-- #word characters.
local function paths(typed, word)
    local home = os.getenv("HOME")
    local dir, base = typed:match("^(.*/)([^/]*)$")
    if not dir then dir, base = "", typed end
    local real_dir = dir
    if home and dir:sub(1, 2) == "~/" then real_dir = home .. dir:sub(2) end
    local result = {}
    local keep = #base - #word      -- characters of base before the word
    for _, name in ipairs(list_directory(real_dir, base)) do
        result[#result + 1] = name:sub(keep + 1)
    end
    return result
end

-- The qualified name just before an open '(' at token `i`, e.g. nn.Conv2d.
local function callee(tokens, i)
    local parts = {}
    local j = i - 1
    while j >= 1 do
        local t = tokens[j]
        if t.kind == "name" then
            table.insert(parts, 1, t.text)
            local sep = tokens[j - 1]
            if sep and (sep.text == "." or sep.text == ":") then
                table.insert(parts, 1, sep.text)
                j = j - 2
            else
                break
            end
        else
            break
        end
    end
    if #parts == 0 then return nil end
    return table.concat(parts)
end

-- The open brackets at the end of the tokens: list of token indices.
local function open_brackets(tokens)
    local stack = {}
    for i, t in ipairs(tokens) do
        if t.kind == "op" then
            if t.text == "(" or t.text == "{" or t.text == "[" then
                stack[#stack + 1] = i
            elseif t.text == ")" or t.text == "}" or t.text == "]" then
                stack[#stack] = nil
            end
        end
    end
    return stack
end

-- Names for help(" ...: the entries and public names starting with word.
local function help_names(word)
    local help = require "dl.help"
    local found, seen = {}, {}
    local function consider(name)
        if not seen[name] and name:sub(1, #word) == word then
            seen[name] = true
            found[#found + 1] = name
        end
    end
    for _, name in ipairs(help.public_names()) do consider(name) end
    table.sort(found)
    return found
end

--- complete.candidates(before, word) -> completions, or nil (see the top).
function complete.candidates(before, word)
    local command, argument = (before .. word):match("^%s*:(%a+)%s+(.*)$")
    if command then
        if PATH_COMMANDS[command] then return paths(argument, word) end
        if command == "help" then return help_names(word) end
        return nil
    end
    local tokens, finished = lex.tokens(before)
    if not finished then
        -- inside a string: its text so far, and the call it is an argument of
        local last = tokens[#tokens]
        local after = last and last.to + 1 or 1
        local quote_at = before:find("[\"']", after) or before:find("%[=*%[", after)
        local typed = quote_at and before:sub(quote_at):gsub("^[\"']", ""):gsub("^%[=*%[", "") .. word or word
        local n = #tokens
        if n >= 2 and tokens[n].text == "(" and (tokens[n - 1].text == "help" or tokens[n - 1].text == "apropos") then
            return help_names(word)
        end
        return paths(typed, word)
    end
    local stack = open_brackets(tokens)
    local brace = stack[#stack]
    if brace and tokens[brace].text == "{" then
        local previous = tokens[#tokens]
        local at_key = previous.text == "{" or previous.text == ","
        local paren = stack[#stack - 1]
        local before_brace = tokens[brace - 1]
        if at_key and paren and tokens[paren].text == "(" and before_brace and
            (before_brace.text == "," or before_brace.text == "(") then
            local name = callee(tokens, paren)
            if name then
                local found = {}
                for _, option in ipairs(option_names.of(name)) do
                    if option:sub(1, #word) == word then found[#found + 1] = option .. " = " end
                end
                if #found > 0 then return found end
            end
        end
    end
    return nil
end

return complete
