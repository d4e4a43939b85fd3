-- The prompt's Lua side: compiling inputs (dl.prompt), the tokenizer that
-- keeps top-level locals (dl.lex), printers (dl.show) and completion by
-- context (dl.complete).
local H = require "tests.lua.helper"
local dl = H.dl
local prompt = require "dl.prompt"
local lex = require "dl.lex"
local show = require "dl.show"
local complete = require "dl.complete"

-- Runs the chunk compile gives and returns its results as a list.
local function run(code)
    local chunk, prints = prompt.compile(code)
    assert(chunk, prints)
    return table.pack(chunk()), prints
end

describe("dl.prompt.compile", function()
    it("runs an expression and passes every value", function()
        local values, prints = run("1, nil, 'a'")
        assert.same({1, nil, "a", n = 3}, values)
        assert.is_true(prints)
    end)

    it("runs statements then the final expression of a line", function()
        local values = run("pc = 1; for i = 1, 3 do pc = pc + i end; pc")
        assert.same({7, n = 1}, values)
        values = run("pd = 2 pd * 5")
        assert.same({10, n = 1}, values)
    end)

    it("keeps quiet after a trailing ';'", function()
        local values, prints = run("40 + 2;")
        assert.same({42, n = 1}, values)
        assert.is_false(prints)
    end)

    it("reports unfinished code as unfinished, wrong code as an error", function()
        for _, code in ipairs{"for i = 1, 2 do", "x = {1,", "f(", "1 +", "s = [[open"} do
            local chunk, _, unfinished = prompt.compile(code)
            assert.is_nil(chunk, code)
            assert.is_true(unfinished, code)
        end
        local chunk, message, unfinished = prompt.compile("x = = 1")
        assert.is_nil(chunk)
        assert.is_false(unfinished)
        assert.equals("stdin:1: unexpected symbol near '='", message)
    end)

    it("names stdin:1 for an error in an expression, even after a comment", function()
        local chunk = prompt.compile("nosuch.field -- a comment")
        local ok, err = pcall(chunk)
        assert.is_false(ok)
        assert.equals("stdin:1: attempt to index a nil value (global 'nosuch')", err)
    end)

    it("turns top-level locals into globals that outlive the line", function()
        run("local pl = 5")
        assert.equals(5, _G.pl)
        run("local pa, pb")
        assert.is_nil(_G.pa)
        run("local function pf() return 3 end")
        assert.equals(3, _G.pf())
        run("do local inner_only = 1 end")
        assert.is_nil(_G.inner_only)
    end)

    it("gives each input as a line of a replayable script", function()
        assert.equals("print(1 + 1)", select(3, prompt.compile("1 + 1")))
        assert.equals("y = 1", select(3, prompt.compile("y = 1")))
    end)
end)

describe("dl.lex.globalize", function()
    it("leaves strings, comments, nested blocks and line numbers alone", function()
        assert.equals(" x = 1", lex.globalize("local x = 1"))
        assert.equals(" a, b = nil", lex.globalize("local a, b"))
        assert.equals(" k  = 3", lex.globalize("local k <const> = 3"))
        assert.equals("s = 'local x' --local\n y = nil", lex.globalize("s = 'local x' --local\nlocal y"))
        assert.equals("function f() local z = 1 end", lex.globalize("function f() local z = 1 end"))
        assert.equals("if c then local w = 1 end", lex.globalize("if c then local w = 1 end"))
    end)
end)

describe("dl.prompt.clean_paste", function()
    it("keeps the code of a copied transcript and drops its output", function()
        assert.equals("x = 1\nfor i = 1, 2 do\n  x = x + i\nend\nx",
            prompt.clean_paste("dlrepl> x = 1\ndlrepl> for i = 1, 2 do\n...>   x = x + i\n...> end\n"
                               .. "dlrepl> x\n4"))
        assert.equals("a = 1\nb = 2", prompt.clean_paste("a = 1\nb = 2"))
    end)
end)

describe("dl.prompt.short_error", function()
    it("shows the user's frames when there are several, dl's folded", function()
        local traceback = table.concat({
            "stdin:1: boom", "stack traceback:", "\t[C]: in function 'error'",
            "\tstdin:1: in function 'f'", "\tbindings/lua/dl/module.lua:30: in function 'call'",
            "\t[C]: in ?", "\tstdin:1: in main chunk", "\t[C]: in ?"}, "\n")
        assert.equals("stdin:1: boom\n  stdin:1: in function 'f'\n  (2 internal frames)\n"
                      .. "  stdin:1: in main chunk\n  (:trace shows the whole traceback)",
                      prompt.short_error("stdin:1: boom", traceback))
        assert.equals("stdin:1: boom", prompt.short_error("stdin:1: boom",
            "stdin:1: boom\nstack traceback:\n\t[C]: in function 'error'\n\tstdin:1: in main chunk\n\t[C]: in ?"))
    end)
end)

describe("dl.prompt.script_traceback", function()
    it("keeps the script's frames and folds dl's", function()
        local text = table.concat({
            "x.lua:2: bad", "stack traceback:", "\t[C]: in function 'error'",
            "\tx.lua:2: in local 'f'", "\tbindings/lua/dl/module.lua:30: in function 'call'",
            "\tx.lua:4: in main chunk", "\t[C]: in ?"}, "\n")
        assert.equals("x.lua:2: bad\nstack traceback:\n\tx.lua:2: in local 'f'\n\t(1 internal frame)\n"
                      .. "\tx.lua:4: in main chunk", prompt.script_traceback(text))
        assert.equals("plain", prompt.script_traceback("plain"))
    end)
end)

describe("dl.show", function()
    it("prints numbers without float noise", function()
        assert.equals("0.1", show.number(dl.tensor(0.1):item()))
        assert.equals("0.1", show.number(0.1))
        assert.equals("3.0", show.number(3.0))
        assert.equals("10.0", show.number(dl.tensor(10):item()))     -- not %g's 1e+01
        assert.equals("250.0", show.number(-dl.tensor(-250):item()))
        assert.equals("1e+20", show.number(dl.tensor(1e20):item()))
        assert.equals("3", show.number(3))
        assert.equals("0.30000000000000004" == tostring(0.1 + 0.2) and "0.3" or tostring(0.1 + 0.2),
                      show.number(0.1 + 0.2))
    end)

    it("prints nil, nested tables with limits and cycles", function()
        assert.equals("nil", show.line(nil))
        assert.equals('{1, "a", k=true}', show.value({1, "a", k = true}))
        assert.equals("{1, {2, {3, {...}}}}", show.value({1, {2, {3, {4}}}}))
        local c = {}
        c.me = c
        assert.equals("{me={<cycle>}}", show.value(c))
        assert.equals('{["a b"]=1}', show.value({["a b"] = 1}))
        assert.equals("{on_epoch_end=<function>, patience=3}",
                      show.value({patience = 3, on_epoch_end = function() end}))
    end)

    it("keeps several scalar tensors on one line", function()
        assert.equals("tensor(1.0)\ttensor(2.5)\t3", show.line(dl.tensor(1), dl.tensor(2.5), 3))
    end)

    it("prints a history as epochs and a parameter list as shapes", function()
        assert.equals("epoch      loss  val_loss\n    1         1       1.5\n    2       0.5",
                      show.value({loss = {1, 0.5}, val_loss = {1.5}}))
        local m = dl.nn.Linear(2, 3)
        assert.equals("2 parameter tensors, 9 values\n  [1]  (3, 2)\n  [2]  (3)",
                      show.value(m:parameters()))
    end)
end)

describe("dl.complete.candidates", function()
    it("offers the options of a function inside its option table", function()
        dl.nn.Conv2d(1, 2, 3, {padding = 1})      -- its options are recorded as checked
        assert.same({"padding = ", "padding_mode = "}, complete.candidates("nn.Conv2d(1, 8, 3, {", "pa"))
        assert.same({"bias = ", "dilation = ", "groups = ", "padding = ", "padding_mode = ", "stride = "},
                    complete.candidates("nn.Conv2d(1, 8, 3, {stride = 2, ", ""))
        assert.is_nil(complete.candidates("x = ", "pa"))
    end)

    it("offers file paths inside a string and after :load", function()
        local dir = os.tmpname()
        os.remove(dir)
        os.execute("mkdir -p " .. dir .. "/sub && touch " .. dir .. "/data.csv")
        assert.same({"data.csv"}, complete.candidates('f = io.open("' .. dir .. "/", "da"))
        assert.same({"sub/"}, complete.candidates(":load " .. dir .. "/", "su"))
        os.execute("rm -r " .. dir)
    end)

    it("offers names inside help(\"", function()
        local found = complete.candidates('help("', "dl.zeros_l")
        assert.same({"dl.zeros_like"}, found)
    end)
end)
