-- helper.lua -- shared by the busted specs of tests/lua.
--
-- Run from the repository root:
--     busted --lua=lua5.4 -o TAP tests/lua
-- Each spec starts with `local H = require "tests.lua.helper"`. The module
-- under test is $DL_BUILD/dl.so (DL_BUILD defaults to "build"; use
-- build/san for the sanitizer build).

local build = os.getenv("DL_BUILD") or "build"
package.cpath = build .. "/?.so;" .. package.cpath

local dl = require "dl"

local H = { dl = dl }

-- Runs a reference script (tests/oracle/*.py, scikit-learn or PyTorch from
-- Debian's /usr/bin/python3) that writes a Lua file of cases into the build
-- folder, and returns those cases. Fails with the script's name when it
-- cannot run (a missing package: scripts/install-deps test installs them).
function H.oracle(script, out_name)
    local out = build .. "/" .. out_name
    local ok = os.execute(("/usr/bin/python3 -W ignore %s %s"):format(script, out))
    assert(ok, script .. " failed: are python3-torch and python3-sklearn installed? "
           .. "(scripts/install-deps test)")
    return dofile(out)
end

-- The message of the error f(...) raises, without the "file:line: " prefix.
-- Fails the calling test when f does not raise.
function H.err(f, ...)
    local ok, msg = pcall(f, ...)
    assert(not ok, "expected an error, got none")
    return (tostring(msg):gsub("^[^:]*:%d+: ", ""))
end

-- Asserts that f(...) raises exactly `expected` (after the position prefix).
function H.raises(expected, f, ...)
    local msg = H.err(f, ...)
    assert(msg == expected, ("expected the error\n  %s\ngot\n  %s"):format(expected, msg))
end

local function flatten(v, out)
    if type(v) == "table" then
        for i = 1, #v do flatten(v[i], out) end
    else
        out[#out + 1] = v
    end
    return out
end

local function shape_of(v, out)
    out = out or {}
    if type(v) == "table" then
        out[#out + 1] = #v
        if #v > 0 then shape_of(v[1], out) end
    end
    return out
end

-- Asserts that tensor t has the shape and values of the nested table (or
-- number) `expected`, each value within `tol` (default 1e-5, relative to
-- max(1, |expected|)). NaN matches NaN.
function H.close(t, expected, tol)
    tol = tol or 1e-5
    assert(dl.is_tensor(t), "expected a tensor, got " .. type(t))
    local want_shape = shape_of(expected)
    local got_shape = t:shape()
    assert(#want_shape == #got_shape and table.concat(want_shape, ",") ==
           table.concat(got_shape, ","),
           ("expected shape {%s}, got {%s}"):format(table.concat(want_shape, ", "),
                                                    table.concat(got_shape, ", ")))
    local got, want = flatten(t:totable(), {}), flatten(expected, {})
    for i = 1, #want do
        local a, b = got[i], want[i]
        local same = (a ~= a and b ~= b) or a == b or
                     math.abs(a - b) <= tol * math.max(1, math.abs(b))
        assert(same, ("value %d (row-major): expected %.9g, got %.9g\n%s"):format(
            i, b, a, tostring(t)))
    end
end

-- Resident memory of this process in bytes (Linux /proc/self/statm).
function H.rss()
    local f = assert(io.open("/proc/self/statm"))
    local resident = f:read("a"):match("^%d+%s+(%d+)")
    f:close()
    return tonumber(resident) * 4096
end

return H
