-- make_shapes.lua -- writes a small image set for examples/cnn_images.lua:
-- DIR/circle/*.bmp and DIR/square/*.bmp, gray 32 x 32 pictures of one
-- filled shape (random size, place and brightness) on a noisy background.
--
--   dlrepl examples/make_shapes.lua DIR [PER_CLASS=300]
--   dofile("examples/make_shapes.lua")(dir, per_class)    -- from a script
--
-- Shapes are drawn with Lua's own generator (seeded), so dl's random
-- numbers are left as they were; the same call writes the same files.
local SIZE = 32

-- A 24-bit BMP (rows bottom-up, each a multiple of 4 bytes) of the gray
-- values pixels[row][col] in [0, 1].
local function bmp(pixels)
    local rows = {}
    for r = SIZE, 1, -1 do
        local row = {}
        for c = 1, SIZE do
            local v = math.floor(pixels[r][c] * 255 + 0.5)
            row[c] = string.char(v, v, v)
        end
        rows[#rows + 1] = table.concat(row)
    end
    local data = table.concat(rows)
    return "BM" .. string.pack("<I4I2I2I4", 54 + #data, 0, 0, 54) ..
           string.pack("<I4i4i4I2I2I4I4i4i4I4I4", 40, SIZE, SIZE, 1, 24, 0, #data, 2835, 2835, 0, 0)
           .. data
end

-- One picture of `shape` ("circle" or "square").
local function draw(shape)
    local radius = math.random(5, 11)
    local cx, cy = math.random(radius + 1, SIZE - radius), math.random(radius + 1, SIZE - radius)
    local ink = 0.6 + 0.4 * math.random()
    local pixels = {}
    for r = 1, SIZE do
        pixels[r] = {}
        for c = 1, SIZE do
            local dx, dy = c - cx, r - cy
            local inside = shape == "circle" and dx * dx + dy * dy <= radius * radius
                           or shape == "square" and math.abs(dx) <= radius * 0.8
                              and math.abs(dy) <= radius * 0.8
            pixels[r][c] = inside and ink or 0.15 * math.random()
        end
    end
    return pixels
end

local function quote(path)
    return "'" .. path:gsub("'", "'\\''") .. "'"
end

-- make(dir, per_class = 300, seed = 1) -> dir, after writing the images.
local function make(dir, per_class, seed)
    per_class = per_class or 300
    math.randomseed(seed or 1)
    for _, shape in ipairs{"circle", "square"} do
        local folder = dir .. "/" .. shape
        assert(os.execute("mkdir -p " .. quote(folder)), "make_shapes: cannot create " .. folder)
        for i = 1, per_class do
            local f = assert(io.open(("%s/%s_%03d.bmp"):format(folder, shape, i), "wb"))
            f:write(bmp(draw(shape)))
            f:close()
        end
    end
    return dir
end

if arg and arg[0] and arg[0]:match("make_shapes%.lua$") and arg[1] then
    make(arg[1], tonumber(arg[2]))
    print(("wrote %s/circle and %s/square"):format(arg[1], arg[1]))
end
return make
